"""Trait evaluation: an HTTP evaluator endpoint or a builtin, always answered as a `Verdict` (never an exception
for a business outcome). Storing the verdict is the evaluator handler's job, not this package's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import FailureCategory, TraitStatus
from ..templating import TemplateContext

BUILTIN_PREFIX = "builtin:"
DEFAULT_TIMEOUT_SECONDS = 30.0
STATUSES = tuple(s.value for s in TraitStatus)
CATEGORIES = tuple(c.value for c in FailureCategory)
PERMANENT = FailureCategory.PERMANENT.value
TRANSIENT = FailureCategory.TRANSIENT.value
TIMEOUT = FailureCategory.TIMEOUT.value


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str | None = None
    value: Any = None
    failure_category: str | None = None


def fail(reason: str, category: str | None = None, value: Any = None) -> Verdict:
    return Verdict("FAIL", reason, value, category)


@dataclass(frozen=True)
class TraitRequest:
    """One trait to evaluate, as resolvePipeline hands it over."""

    pipeline_id: str
    trait_type: str
    evaluator: str
    config: dict
    timeout: float
    schedule_id: str
    date: str

    @property
    def template(self) -> TemplateContext:
        return TemplateContext(pipeline_id=self.pipeline_id, schedule_id=self.schedule_id, date=self.date)


def evaluate(request: TraitRequest) -> Verdict:
    """Run the trait's evaluator and return its verdict."""
    evaluator = request.evaluator.strip()
    if not evaluator:
        return fail("no evaluator configured", PERMANENT)
    if evaluator.startswith(BUILTIN_PREFIX):
        from . import builtins

        return builtins.run(evaluator[len(BUILTIN_PREFIX):], request)
    from . import remote

    return remote.run(evaluator, request)
