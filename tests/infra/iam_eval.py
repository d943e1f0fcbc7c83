"""Offline evaluation of synthesized IAM documents, for the requests moto cannot judge.

moto (server mode, authentication on) ignores the ``Condition`` of identity policies and checks
the resource only for S3. Requests whose answer depends on a condition or on a non-S3 resource
are judged here instead, and every document is linted with parliament (a maintained IAM policy
linter), which also proves each condition key is one AWS evaluates for that action.

The evaluator follows AWS's identity-policy logic: an explicit ``Deny`` wins, else an ``Allow``
grants, else the request is denied. Matching of actions and resources uses parliament's glob
matching; condition operators it does not know raise, so nothing passes by being skipped.
"""

from __future__ import annotations

import fnmatch
import json
import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # parliament imports pkg_resources, which warns on import
    from parliament import analyze_policy_string, is_glob_match

ALLOWED, DENIED = "allowed", "denied"
Context = dict[str, "str | list[str]"]


def _list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _key(context: Context, key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():
            return [str(v) for v in _list(value)]
    return None


def _equals(pattern: str, value: str) -> bool:
    return pattern == value


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


OPERATORS = {"StringEquals": _equals, "StringLike": _like, "ArnEquals": _like, "ArnLike": _like}


def _condition_holds(condition: dict, context: Context) -> bool:
    for operator, keys in condition.items():
        qualifier, _, name = operator.rpartition(":")
        if_exists = name.endswith("IfExists")
        name = name.removesuffix("IfExists")
        for key, wanted in keys.items():
            actual = _key(context, key)
            wanted = [str(w) for w in _list(wanted)]
            if name == "Null":
                if (actual is None) != (wanted[0].lower() == "true"):
                    return False
                continue
            if name not in OPERATORS:
                raise ValueError(f"condition operator {operator!r} is not evaluated here")
            match = OPERATORS[name]
            if actual is None:
                if if_exists or qualifier == "ForAllValues":
                    continue
                return False
            hits = [any(match(w, a) for w in wanted) for a in actual]
            if not (all(hits) if qualifier == "ForAllValues" else any(hits)):
                return False
    return True


def _matches(statement: dict, action: str, resource: str, context: Context) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise ValueError("NotAction and NotResource are not evaluated here")
    if not any(is_glob_match(a.lower(), action.lower()) for a in _list(statement.get("Action", []))):
        return False
    if not any(r == "*" or is_glob_match(r, resource) for r in _list(statement.get("Resource", []))):
        return False
    return _condition_holds(statement.get("Condition") or {}, context)


def decide(policies: list[dict | str], action: str, resource: str, context: Context | None = None) -> str:
    """``allowed`` or ``denied``: ``action`` on ``resource`` under the role's ``policies``, with the
    request's condition keys ``context`` (e.g. ``{"aws:ResourceTag/team": "analytics"}``)."""
    statements = [s for p in policies for s in _list((json.loads(p) if isinstance(p, str) else p)["Statement"])]
    matching = [s for s in statements if _matches(s, action, resource, context or {})]
    if any(s["Effect"] == "Deny" for s in matching):
        return DENIED
    return ALLOWED if any(s["Effect"] == "Allow" for s in matching) else DENIED


def lint(policy: dict | str) -> list[str]:
    """parliament's findings on an identity policy, as ``ISSUE: detail`` strings."""
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return [f"{f.issue}: {f.detail}" for f in analyze_policy_string(text).findings]
