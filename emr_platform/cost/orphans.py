"""EMR clusters, EMR steps and EMR Serverless job runs of this platform whose Dagster run has ended.

Launchers tag what they start with ``dagster-run-id``, ``team`` and ``stage``
(:mod:`emr_platform.tags`); a step, which takes no tags, carries the run id in its name
(:func:`emr_platform.substrates.emr_classic.step_name`), so steps on shared clusters are found
too. A resource is an orphan when the Dagster instance knows its run and that run has finished;
a run id the instance does not know is left alone (it may belong to another Dagster deployment
sharing the account, e.g. a colleague's dev instance). Each substrate's descriptor says how
its orphans are found and stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from emr_platform import substrates
from emr_platform.substrates import Orphan

__all__ = ["Orphan", "find_orphans", "run_has_ended", "stop"]


def run_has_ended(instance: dg.DagsterInstance) -> Callable[[str], bool]:
    """True for a run id the instance knows and whose run is finished."""

    def ended(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id)
        return run is not None and run.is_finished

    return ended


def find_orphans(ended: Callable[[str], bool], stage: str, region: str) -> list[Orphan]:
    """Active work of ``stage`` on every substrate, started by the platform, whose run has ``ended``."""
    return [
        orphan
        for substrate in substrates.REGISTRY.values()
        if substrate.find_orphans is not None
        for orphan in substrate.find_orphans(ended, stage, region)
    ]


def stop(orphan: Orphan, region: str) -> dict[str, Any]:
    """Stop ``orphan`` as its substrate does (terminate the cluster, cancel the step or job run);
    returns the AWS response. Raises ``ValueError`` for a kind no substrate knows."""
    for substrate in substrates.REGISTRY.values():
        if orphan.kind in substrate.orphan_kinds and substrate.stop_orphan is not None:
            return substrate.stop_orphan(orphan, region)
    raise ValueError(f"no substrate stops orphans of kind {orphan.kind!r}")
