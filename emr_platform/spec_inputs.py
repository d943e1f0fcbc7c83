"""The inputs of a team's Spark asset specs, checked when its code location loads.

An input ``"team/domain/table"`` must be an asset key that a code location declares, and
of the reading team itself or of one of its ``upstream_teams``: on EMR a team's job roles
may read only those lake prefixes, so any other input would load here and fail in IAM.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Sequence

from emr_platform.config import PlatformConfig
from emr_platform.spec import Locate, SparkAsset

# team -> the keys "team/domain/table" its code location declares (None: unknown, its location does not load)
DeclaredKeys = Callable[[str], Collection[str] | None]


def input_problems(
    config: PlatformConfig,
    team: str,
    specs: Sequence[SparkAsset],
    label: str,
    declared_keys: DeclaredKeys | None = None,
    locate: Locate | None = None,
) -> list[str]:
    """One line per bad input of ``specs`` (team ``team``): ``<label>: <asset key>.inputs.<name>: expected ..., got ...``.

    ``label`` names the team's package (``assets/analytics``); for a spec declared in YAML,
    ``locate(spec, "inputs", name)`` names its file, line and field instead. Inputs of the team's own assets
    are checked against ``specs``; inputs of an upstream team against ``declared_keys(upstream)``
    when it is given (the library does not import other teams' packages itself).
    """
    own = {f"{team}/{spec.domain}/{spec.table}" for spec in specs}
    upstream = config.teams[team].upstream_teams
    known: dict[str, Collection[str] | None] = {team: own}
    problems = []
    for spec in specs:
        for name, ref in spec.inputs.items():
            if not isinstance(ref, str):
                continue  # a Source: a file of a dataset in config.yml's sources
            where = (locate and locate(spec, "inputs", name)) or f"{label}: {team}/{spec.domain}/{spec.table}.inputs.{name}"
            owner = ref.split("/")[0]
            if len(ref.split("/")) != 3 or not all(ref.split("/")):
                problems.append(f"{where}: expected an asset key 'team/domain/table', got {ref!r}")
            elif owner != team and owner not in upstream:
                problems.append(
                    f"{where}: expected an asset of {team} or of its upstream_teams in config.yml "
                    f"({', '.join(upstream) or 'none'}; IAM denies reading other teams on EMR), got {ref!r}"
                )
            elif owner in known or declared_keys is not None:
                if owner not in known:
                    declared = declared_keys(owner)
                    known[owner] = None if declared is None else frozenset(declared)
                keys = known[owner]
                if keys is not None and ref not in keys:
                    close = difflib.get_close_matches(ref, sorted(keys), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    problems.append(f"{where}: expected an asset key that code location {owner} declares{hint}, got {ref!r}")
    return problems
