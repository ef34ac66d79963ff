"""Orchestrator Lambda: `{action, pipelineID, scheduleID, date, payload}` -> `{action, result, payload}`.

Thin: parse the request, bind the log context, run the action (handlers/interlock/actions), shape the answer.
"""
from __future__ import annotations

from .interlock import actions
from .interlock.log import bind


def handler(event, context):
    request, problem = actions.parse_request(event)
    owner = request.payload.get("owner")
    bind(action=request.action, pipelineID=request.pipeline_id, scheduleID=request.schedule_id,
         date=request.date, runID=request.run_id, execution=owner if isinstance(owner, str) else None)
    outcome = actions.run(request, problem)
    return {"action": request.action, "result": outcome.result, "payload": outcome.payload}
