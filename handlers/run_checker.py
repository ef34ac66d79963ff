"""Run-checker Lambda: one status check of a started job.

Input `{pipelineID, runID, triggerType, metadata, attempt, maxAttempts}`; output `{state: running|succeeded|failed,
message, failureCategory, attempt}` with `attempt` = input attempt + 1 (DESIGN §10.0).
"""

from __future__ import annotations

from .interlock import invocation
from .interlock.log import bind
from .interlock.triggers.polling import check


def handler(event, context):
    event = invocation.fields(event)
    pipeline_id = invocation.text(event, "pipelineID")
    bind(pipelineID=pipeline_id, runID=invocation.text(event, "runID"))
    poll = check(
        pipeline_id,
        invocation.text(event, "triggerType"),
        invocation.mapping(event, "metadata"),
        invocation.count(event, "attempt") or 0,
        invocation.count(event, "maxAttempts"),
    )
    return invocation.bounded(
        {
            "state": poll.state,
            "message": poll.message,
            "failureCategory": poll.failure_category,
            "attempt": poll.attempt,
        },
        texts=("message",),
    )
