"""Readiness: whether the evaluated traits let a pipeline run (the archetype's readiness rule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import TraitStatus


@dataclass(frozen=True)
class Readiness:
    ready: bool
    blocking: list[str]
    statuses: dict[str, str]


def latest_statuses(results: Any) -> dict[str, str]:
    """traitType -> status from evaluator results (a list of objects); malformed entries are ignored."""
    statuses: dict[str, str] = {}
    if isinstance(results, list):
        for item in results:
            if isinstance(item, dict) and isinstance(item.get("traitType"), str):
                status = item.get("status")
                statuses[item["traitType"]] = status if isinstance(status, str) else ""
    return statuses


def evaluate(rule: str, required_types: list[str], results: Any) -> Readiness:
    """Apply `rule` to the results. `all-required-pass`: ready exactly when every required trait has a result
    with status PASS (exact, upper case); a required trait with no result blocks, optional traits never do."""
    if rule != "all-required-pass":
        raise ValueError(f"unsupported readiness rule {rule!r}")
    statuses = latest_statuses(results)
    blocking = [t for t in required_types if statuses.get(t) != TraitStatus.PASS]
    return Readiness(ready=not blocking, blocking=blocking, statuses=statuses)
