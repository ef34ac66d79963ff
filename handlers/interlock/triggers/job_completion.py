"""Completion by event: an execution waits on a task token for a job whose service announces its end on EventBridge.

`arm` (the run-checker's `await` request, made by the state machine's `AwaitJobCompletion` with the task token)
stores the token on the job run's item and asks the service once, since the job may have ended already. `deliver`
(the job-events function) maps a service's event to the outcome a poll answers, with the type's own state table. Both
write the one item of the job run atomically (store: job runs): whoever writes second resumes the execution with
SendTaskSuccess, so a token is resumed at most once, and a duplicate or late event finds the outcome recorded and does
nothing. A lost event is covered by the wait's timeout: the state machine re-arms, which asks the service again, up
to `maxAttempts` checks (DESIGN §10.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .. import clients, store
from ..invocation import capped
from ..log import logger
from ..models import FailureCategory
from . import TRIGGER_TYPES, JobState, event_types, module_for, spec_of
from .awscall import classify
from .polling import Poll, check

STALE_TOKEN_ERRORS = ("InvalidToken", "TaskTimedOut", "TaskDoesNotExist")


@dataclass(frozen=True)
class Wait:
    """An execution waiting for its job: the run-checker's input plus the task token that resumes it."""

    pipeline_id: str
    run_id: str
    trigger_type: str
    metadata: dict
    attempt: int  # status checks made before this one
    max_attempts: int | None
    task_token: str
    execution: str


def job_identity(trigger_type: str, metadata: dict) -> tuple[str, ...] | None:
    """The values naming a started job run in its service's events (from its metadata); None when the type emits
    no events or the metadata lacks one."""
    events = spec_of(trigger_type).events if trigger_type in TRIGGER_TYPES else None
    if events is None:
        return None
    identity = tuple(metadata.get(key) for key, _field in events.identity)
    return identity if all(isinstance(value, str) and value for value in identity) else None


def arm(wait: Wait) -> str:
    """Store the wait, then check the job once; answers what happened: `resumed`, `waiting`, or why not resumed."""
    identity = job_identity(wait.trigger_type, wait.metadata)
    if identity is None:  # nothing to wait for: the poll's answer goes back as is (running -> the poll loop)
        return resume(wait.task_token, _answer(_check(wait)))
    recorded = store.arm_job_run(
        wait.trigger_type,
        identity,
        {
            "taskToken": wait.task_token,
            "execution": wait.execution,
            "pipelineID": wait.pipeline_id,
            "runID": wait.run_id,
            "attempt": wait.attempt + 1,
        },
    )
    if recorded is not None:  # its end was recorded before this wait: resume with it
        return resume(wait.task_token, {**recorded, "attempt": wait.attempt + 1})
    poll = _check(wait)
    if poll.state == "running":
        return "waiting"
    return _finish(wait.trigger_type, identity, _answer(poll))


def deliver(event: dict) -> str:
    """Handle one state-change event of a job service; answers what happened (`resumed`, `recorded` for an end that
    no execution awaits yet, `duplicate`, `ignored: ...`)."""
    detail = event.get("detail")
    trigger_type = event_types().get((event.get("source"), event.get("detail-type")))
    if trigger_type is None or not isinstance(detail, dict):
        return "ignored: not a job state change"
    events = spec_of(trigger_type).events
    identity = tuple(detail.get(field) for _key, field in events.identity)
    if not all(isinstance(value, str) and value for value in identity):
        return "ignored: no job identity"
    state = str(detail.get(events.state) or "")
    text = next((str(detail[name]) for name in events.details if detail.get(name)), None)
    job = module_for(trigger_type).job_state(state, text)
    if job.state == "running":
        return "ignored: not an end"
    return _finish(trigger_type, identity, _outcome(job))


def _finish(trigger_type: str, identity: tuple[str, ...], outcome: dict) -> str:
    """Record the job's end once; resume the execution when it waits already (it wrote its token first)."""
    item = store.record_job_outcome(trigger_type, identity, {k: v for k, v in outcome.items() if k != "attempt"})
    if item is None:
        return "duplicate"
    if not item.get("taskToken"):
        return "recorded"  # the wait, when it arms, finds the outcome and resumes itself
    return resume(item["taskToken"], {**outcome, "attempt": item.get("attempt") or outcome.get("attempt") or 1})


def resume(task_token: str, answer: dict) -> str:
    """SendTaskSuccess with the run-checker's answer. A token that no longer waits (the wait timed out and re-armed,
    or the execution ended) is a no-op; a throttled or failed call is logged and left to the wait's timeout, whose
    re-arm finds the recorded outcome; any other error (access denied) means a broken stack and raises."""
    try:
        clients.client("stepfunctions").send_task_success(taskToken=task_token, output=json.dumps(answer))
    except Exception as exc:
        code = clients.error_code(exc)
        if code in STALE_TOKEN_ERRORS:
            logger().info("the task token no longer waits; nothing resumed", extra={"error": code})
            return "stale token"
        if classify(exc) == FailureCategory.PERMANENT:
            raise
        logger().warning("SendTaskSuccess failed; the wait's timeout re-arms", extra={"error": str(exc)[:300]})
        return "deferred"
    return "resumed"


def _check(wait: Wait) -> Poll:
    return check(wait.pipeline_id, wait.trigger_type, wait.metadata, wait.attempt, wait.max_attempts)


def _answer(poll: Poll) -> dict:
    return {**poll.answer(), "message": capped(poll.message)}


def _outcome(job: JobState) -> dict:
    return {"state": job.state, "message": capped(job.message), "failureCategory": job.failure_category}
