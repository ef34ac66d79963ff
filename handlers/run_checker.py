"""Run-checker Lambda: one status check of a started job.

Input `{pipelineID, runID, triggerType, metadata, attempt, maxAttempts}`; output `{state: running|succeeded|failed,
message, failureCategory, attempt}` with `attempt` = input attempt + 1 (DESIGN §10.0).
With `request: "await"` (and `taskToken`, `execution`), the state machine waits on the task token for a job whose
service emits events: the wait is stored and the job checked once; the execution is resumed with that same answer
when the job has ended, by this call or later by the job's event (DESIGN §10.3). The answer is then `{armed}`.
"""

from __future__ import annotations

from .interlock import invocation
from .interlock.log import bind
from .interlock.triggers.job_completion import Wait, arm
from .interlock.triggers.polling import check


def handler(event, context):
    event = invocation.fields(event)
    pipeline_id = invocation.text(event, "pipelineID")
    run_id = invocation.text(event, "runID")
    bind(pipelineID=pipeline_id, runID=run_id, execution=invocation.text(event, "execution"))
    trigger_type = invocation.text(event, "triggerType")
    metadata = invocation.mapping(event, "metadata")
    attempt = invocation.count(event, "attempt") or 0
    max_attempts = invocation.count(event, "maxAttempts")
    if invocation.text(event, "request") == "await":
        wait = Wait(
            pipeline_id,
            run_id,
            trigger_type,
            metadata,
            attempt,
            max_attempts,
            invocation.text(event, "taskToken"),
            invocation.text(event, "execution"),
        )
        return {"armed": arm(wait)}
    poll = check(pipeline_id, trigger_type, metadata, attempt, max_attempts)
    return invocation.bounded(poll.answer(), texts=("message",))
