"""Evaluator Lambda: evaluate one trait, store the result with its TTL plus an audit event, return it.

Input (one trait item of resolvePipeline) `{pipelineID, traitType, evaluator, config, timeout, ttl, required}`;
output `{traitType, status: PASS|FAIL|STALE, value, reason, failureCategory, required}`, every key present.
A failure to store the result raises (a broken environment is reported as such, not disguised as a FAIL).
"""
from __future__ import annotations

from .interlock import schedule, store
from .interlock.evaluators import DEFAULT_TIMEOUT_SECONDS, TraitRequest, Verdict, evaluate, fail
from .interlock.log import bind


STORE_MARGIN_SECONDS = 3.0


class TraitStorageError(RuntimeError):
    """The verdict could not be stored."""


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    trait_type = event.get("traitType") if isinstance(event.get("traitType"), str) else ""
    required = event.get("required") is not False
    request, problem = _parse(event, trait_type, _budget(context))
    bind(pipelineID=request.pipeline_id, scheduleID=request.schedule_id, date=request.date)
    if problem:
        return _shape(trait_type, fail(f"invalid evaluator input: {problem}", "PERMANENT"), required)
    verdict = evaluate(request)
    _store(request, verdict, _seconds(event.get("ttl"), 0))
    return _shape(trait_type, verdict, required)


def _seconds(value, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return default
    return value


def _budget(context) -> float | None:
    """Seconds this invocation may still spend on the evaluator, keeping a margin to store the result."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return max(1.0, remaining() / 1000 - STORE_MARGIN_SECONDS) if remaining else None


def _parse(event: dict, trait_type: str, budget: float | None = None) -> tuple[TraitRequest, str | None]:
    config = event.get("config") if isinstance(event.get("config"), dict) else {}
    pipeline_id = event.get("pipelineID") if isinstance(event.get("pipelineID"), str) else ""
    evaluator = event.get("evaluator")
    request = TraitRequest(
        pipeline_id=pipeline_id,
        trait_type=trait_type,
        evaluator=evaluator if isinstance(evaluator, str) else "",
        config=config,
        timeout=min(_seconds(event.get("timeout"), DEFAULT_TIMEOUT_SECONDS), budget or float("inf")),
        schedule_id=str(config.get("scheduleID") or "daily"),
        date=str(config.get("date") or schedule.today_utc()),
    )
    missing = [name for name, value in (("pipelineID", pipeline_id), ("traitType", trait_type)) if not value]
    if missing:
        return request, f"{', '.join(missing)} required"
    if evaluator is not None and not isinstance(evaluator, str):
        return request, "evaluator must be a string"
    return request, None


def _store(request: TraitRequest, verdict: Verdict, ttl_seconds: float) -> None:
    result = {"status": verdict.status, "value": verdict.value, "reason": verdict.reason,
              "failureCategory": verdict.failure_category, "evaluator": request.evaluator}
    try:
        store.put_trait_result(request.pipeline_id, request.trait_type, result, int(ttl_seconds))
        store.append_event(request.pipeline_id, "TRAIT_EVALUATED", trait_type=request.trait_type,
                           status=verdict.status, message=verdict.reason,
                           details={"failureCategory": verdict.failure_category} if verdict.failure_category else None)
    except Exception as exc:
        raise TraitStorageError(
            f"storing the {verdict.status} result of trait {request.trait_type} of {request.pipeline_id} failed: {exc}"
        ) from exc


def _shape(trait_type: str, verdict: Verdict, required: bool) -> dict:
    return {
        "traitType": trait_type,
        "status": verdict.status,
        "value": verdict.value,
        "reason": verdict.reason,
        "failureCategory": verdict.failure_category,
        "required": required,
    }
