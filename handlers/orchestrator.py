"""Orchestrator Lambda: `{action, pipelineID, scheduleID, date, execution, payload}` -> `{action, result, payload}`;
prepareRun answers the execution's state document with that answer under `prepare` (DESIGN §10.0).

Thin: parse the request, run the action (handlers/interlock/actions, which binds the log context), shape the answer.
"""

from __future__ import annotations

from .interlock import actions, invocation

ANSWER_MARGIN_SECONDS = 5.0  # kept from the evaluator calls of checkMonitoring for the steps after them


def handler(event, context):
    request, problem = actions.parse_request(event, invocation.budget(context, ANSWER_MARGIN_SECONDS))
    outcome = actions.run(request, problem)  # binds the log context of each step
    payload = invocation.bounded(outcome.payload, texts=("error", "reason", "message"))
    answer = {"action": request.action, "result": str(outcome.result), "payload": payload}
    if outcome.document is None:
        return answer
    return invocation.bounded({**outcome.document, "prepare": answer})
