"""Running one step (one of the original actions, alone or inside a merged action) and the one place a business
error becomes data.

A `Problem` (unknown pipeline, no trigger, bad archetype, unparseable SLA, malformed payload) becomes `result: error`:
it is logged, alerted and, after the lock (when a run log key is known), recorded as a FAILED run with category
PERMANENT. Anything else (DynamoDB or SNS unreachable, missing permissions) propagates: the environment is broken and
the state machine's Catch takes over.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import alerts, metrics, schedule, store
from ..log import bind, logger
from ..models import FailureCategory, Result, RunStatus
from .common import ActionOutcome, Problem, Request, load_pipeline, record_result

# Steps that run before this execution holds the lock (or to give it back): an error there has no run log to go to.
BEFORE_THE_LOCK = frozenset({"prepareRun", "checkExclusion", "acquireLock", "releaseLock"})
LOG_RESULT_DEFAULTS = {"attemptNumber": 0, "retryable": False, "retryBackoffSeconds": 0}
# A skip from these ends the execution without a run (excluded date, lock held, run log says nothing is due).
SKIPS_THE_RUN = frozenset({"checkExclusion", "acquireLock", "checkRunLog"})


def run_step(req: Request, action: Callable[[Request], ActionOutcome]) -> ActionOutcome:
    """Run one step under its own name in the log context: a Problem becomes its `error` answer, a skip that ends
    the run is counted; one log line says what the step answered."""
    bind_request(req)
    try:
        outcome = action(req)
    except Problem as exc:
        return error_outcome(req, str(exc), keyed=True)
    if outcome.result == Result.SKIP and req.action in SKIPS_THE_RUN:
        metrics.emit(
            metrics.RUNS_SKIPPED,
            pipeline_id=req.pipeline_id,
            schedule_id=req.schedule_id,
            reason=outcome.payload.get("reason"),
            action=req.action,
        )
    bind_request(req)  # a merged action's steps bound their own names
    logger().info("lifecycle step", extra={"result": str(outcome.result), "reason": outcome.payload.get("reason")})
    return outcome


def bind_request(req: Request) -> None:
    """The log context of one request: its action, run identity and execution (the lock owner's name)."""
    bind(
        action=req.action,
        pipelineID=req.pipeline_id,
        scheduleID=req.schedule_id,
        date=req.date,
        runID=req.run_id,
        execution=req.execution or (req.payload.get("owner") if isinstance(req.payload.get("owner"), str) else None),
    )


def error_outcome(req: Request, message: str, *, keyed: bool) -> ActionOutcome:
    """Log, alert and (under the lock, unless the date already completed) record the error as a PERMANENT
    failure; answer `error`."""
    logger().error("orchestrator action failed", extra={"error": message})
    details = {"action": req.action}
    alerts.publish_about(
        req, alerts.AlertLevel.ERROR, alerts.AlertType.PIPELINE_ERROR, message, details, run_id=req.run_id
    )
    payload: dict = {"error": message}
    if req.action == "logResult":
        payload.update(LOG_RESULT_DEFAULTS, loggedAt=schedule.rfc3339(schedule.now_utc()))
    if keyed and req.action not in BEFORE_THE_LOCK:
        existing = store.get_run_log(req.pipeline_id, req.date, req.schedule_id) or {}
        if existing.get("status") == RunStatus.COMPLETED:
            store.append_event(
                req.pipeline_id, "ACTION_ERROR", run_id=req.run_id, message=message, details={"action": req.action}
            )
        else:
            try:
                config = load_pipeline(req)
            except Problem:
                config = None
            logged = record_result(
                req,
                status=RunStatus.FAILED,
                run_id=req.run_id,
                message=message,
                category=FailureCategory.PERMANENT,
                config=config,
                alert=False,
                keep_claim=True,
                existing=existing,
            )
            if req.action == "logResult":
                payload.update(logged)
    return ActionOutcome(Result.ERROR, payload)
