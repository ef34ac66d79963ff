"""Trait evaluation: an HTTP evaluator endpoint or a builtin, always answered as a `Verdict` (never an exception
for a business outcome), then stored with its TTL and an audit event (`evaluate_and_record`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .. import store
from ..models import FailureCategory, TraitStatus
from ..templating import TemplateContext

BUILTIN_PREFIX = "builtin:"
STATUSES = tuple(TraitStatus)
CATEGORIES = tuple(FailureCategory)


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str | None = None
    value: Any = None
    failure_category: str | None = None
    expires_at: str | None = None  # when the stored result expires (RFC 3339); None when it was not stored


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
    ttl_seconds: int = 0  # how long the result counts; 0 = the stack's readiness TTL

    @property
    def template(self) -> TemplateContext:
        return TemplateContext(pipeline_id=self.pipeline_id, schedule_id=self.schedule_id, date=self.date)


class TraitStorageError(RuntimeError):
    """The verdict could not be stored."""


def evaluate_and_record(request: TraitRequest) -> Verdict:
    """Evaluate the trait and store its verdict (answered with the stored result's expiry); TraitStorageError when
    storing fails."""
    verdict = evaluate(request)
    result = {
        "status": verdict.status,
        "value": verdict.value,
        "reason": verdict.reason,
        "failureCategory": verdict.failure_category,
        "evaluator": request.evaluator,
    }
    try:
        expires_at = store.put_trait_result(request.pipeline_id, request.trait_type, result, request.ttl_seconds)
        store.append_event(
            request.pipeline_id,
            "TRAIT_EVALUATED",
            trait_type=request.trait_type,
            status=verdict.status,
            message=verdict.reason,
            details={"failureCategory": verdict.failure_category} if verdict.failure_category else None,
        )
    except Exception as exc:
        raise TraitStorageError(
            f"storing the {verdict.status} result of trait {request.trait_type} of {request.pipeline_id} failed: {exc}"
        ) from exc
    return replace(verdict, expires_at=expires_at)


def evaluate(request: TraitRequest) -> Verdict:
    """Run the trait's evaluator and return its verdict."""
    evaluator = request.evaluator.strip()
    if not evaluator:
        return fail("no evaluator configured", FailureCategory.PERMANENT)
    if evaluator.startswith(BUILTIN_PREFIX):
        from . import builtins

        return builtins.run(evaluator[len(BUILTIN_PREFIX) :], request)
    from . import remote

    return remote.run(evaluator, request)
