"""Evaluator Lambda: evaluate one trait, store the result with its TTL plus an audit event, return it.

Input (one trait item of resolvePipeline) `{pipelineID, traitType, evaluator, config, timeout, ttl, required}`;
output `{traitType, status: PASS|FAIL|STALE, value, reason, failureCategory, required, expiresAt}`, every key present
(`expiresAt`: when the stored result expires, null when nothing was stored; a PASS is reused until then).
A failure to store the result raises (a broken environment is reported as such, not disguised as a FAIL).
"""

from __future__ import annotations

from .interlock import invocation, schedule
from .interlock.evaluators import TraitRequest, Verdict, evaluate_and_record, fail
from .interlock.log import bind
from .interlock.models import DEFAULT_TRAIT_TIMEOUT_SECONDS, FailureCategory

STORE_MARGIN_SECONDS = 3.0


def handler(event, context):
    event = invocation.fields(event)
    request, problem = _parse(event, invocation.budget(context, STORE_MARGIN_SECONDS))
    bind(pipelineID=request.pipeline_id, scheduleID=request.schedule_id, date=request.date)
    verdict = (
        fail(f"invalid evaluator input: {problem}", FailureCategory.PERMANENT)
        if problem
        else evaluate_and_record(request)
    )
    return _shape(request.trait_type, verdict, event.get("required") is not False)


def _parse(event: dict, budget: float | None) -> tuple[TraitRequest, str | None]:
    config = invocation.mapping(event, "config")
    evaluator = event.get("evaluator")
    request = TraitRequest(
        pipeline_id=invocation.text(event, "pipelineID"),
        trait_type=invocation.text(event, "traitType"),
        evaluator=evaluator if isinstance(evaluator, str) else "",
        config=config,
        timeout=min(invocation.positive(event, "timeout") or DEFAULT_TRAIT_TIMEOUT_SECONDS, budget or float("inf")),
        schedule_id=str(config.get("scheduleID") or "daily"),
        date=str(config.get("date") or schedule.today_utc()),
        ttl_seconds=int(invocation.positive(event, "ttl") or 0),
    )
    missing = [
        name for name, value in (("pipelineID", request.pipeline_id), ("traitType", request.trait_type)) if not value
    ]
    if missing:
        return request, f"{', '.join(missing)} required"
    if evaluator is not None and not isinstance(evaluator, str):
        return request, "evaluator must be a string"
    return request, None


def _shape(trait_type: str, verdict: Verdict, required: bool) -> dict:
    return invocation.bounded(
        {
            "traitType": trait_type,
            "status": verdict.status,
            "value": verdict.value,
            "reason": verdict.reason,
            "failureCategory": verdict.failure_category,
            "required": required,
            "expiresAt": verdict.expires_at,
        },
        texts=("reason",),
        values=("value",),
    )
