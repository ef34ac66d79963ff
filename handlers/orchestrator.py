"""Orchestrator Lambda: `{action, pipelineID, scheduleID, date, execution, payload}` -> `{action, result, payload}`.

Thin: parse the request, bind the log context, run the action (handlers/interlock/actions), shape the answer.
"""

from __future__ import annotations

from .interlock import actions, invocation
from .interlock.log import bind


def handler(event, context):
    request, problem = actions.parse_request(event)
    bind(
        action=request.action,
        pipelineID=request.pipeline_id,
        scheduleID=request.schedule_id,
        date=request.date,
        runID=request.run_id,
        execution=_execution_name(event, request.payload),
    )
    outcome = actions.run(request, problem)
    payload = invocation.bounded(outcome.payload, texts=("error", "reason", "message"))
    return {"action": request.action, "result": outcome.result, "payload": payload}


def _execution_name(event: object, payload: dict) -> str | None:
    """The state machine sends `execution`; the lock owner in the payload is the same name."""
    return invocation.text(invocation.fields(event), "execution") or invocation.text(payload, "owner") or None
