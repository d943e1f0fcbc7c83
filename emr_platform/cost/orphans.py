"""EMR clusters, EMR steps and EMR Serverless job runs of this platform whose Dagster run has ended.

Launchers tag what they start with ``dagster-run-id``, ``team`` and ``stage``
(:mod:`emr_platform.tags`); a step, which takes no tags, carries the run id in its name
(:func:`emr_platform.substrates.emr_classic.step_name`), so steps on shared clusters are found
too. A resource is an orphan when the Dagster instance knows its run and that run has finished;
a run id the instance does not know is left alone (it may belong to another Dagster deployment
sharing the account, e.g. a colleague's dev instance). Each substrate's launcher finds and
stops its own (``resources.launchers.find_orphans``, ``stop_orphan``): the AWS calls are there.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from emr_platform.substrates import Orphan

__all__ = ["Orphan", "run_has_ended"]


def run_has_ended(instance: dg.DagsterInstance) -> Callable[[str], bool]:
    """True for a run id the instance knows and whose run is finished."""

    def ended(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id)
        return run is not None and run.is_finished

    return ended
