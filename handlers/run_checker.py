"""Run-checker Lambda: one status check of a started job.

Input `{pipelineID, runID, triggerType, metadata, attempt, maxAttempts}`; output `{state: running|succeeded|failed,
message, failureCategory, attempt}` with `attempt` = input attempt + 1 (DESIGN §10.0).
"""
from __future__ import annotations

from .interlock.log import bind
from .interlock.triggers.polling import DEFAULT_MAX_ATTEMPTS, check


def _count(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    pipeline_id, run_id = str(event.get("pipelineID") or ""), str(event.get("runID") or "")
    bind(pipelineID=pipeline_id, runID=run_id)
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    poll = check(
        pipeline_id,
        str(event.get("triggerType") or ""),
        metadata,
        _count(event.get("attempt"), 0),
        _count(event.get("maxAttempts"), DEFAULT_MAX_ATTEMPTS) or DEFAULT_MAX_ATTEMPTS,
    )
    return {"state": poll.state, "message": poll.message, "failureCategory": poll.failure_category,
            "attempt": poll.attempt}
