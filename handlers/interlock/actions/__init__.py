"""The orchestrator's 14 actions (DESIGN §6, §10.0) and the one place a business error becomes data.

`run` answers an ActionOutcome for every request. A `Problem` (unknown pipeline, no trigger, bad archetype,
unparseable SLA, malformed payload) becomes `result: error`: it is logged, alerted and, after the lock (when a run
log key is known), recorded as a FAILED run with category PERMANENT. Anything else (DynamoDB or SNS unreachable, missing
permissions) propagates: the environment is broken and the state machine's Catch takes over.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import alerts, metrics, schedule, store
from ..log import logger
from ..models import DEFAULT_SCHEDULE, PIPELINE_ID_PATTERN, SCHEDULE_ID_PATTERN, FailureCategory, Result, RunStatus
from . import completion, evaluation, gate, monitoring
from .common import ActionOutcome, Problem, Request, load_pipeline, record_result

ACTIONS: dict[str, Callable[[Request], ActionOutcome]] = {
    "checkExclusion": gate.check_exclusion,
    "acquireLock": gate.acquire_lock,
    "checkRunLog": gate.check_run_log,
    "resolvePipeline": gate.resolve_pipeline,
    "checkEvaluationSLA": evaluation.check_evaluation_sla,
    "checkValidationTimeout": evaluation.check_validation_timeout,
    "checkReadiness": evaluation.check_readiness,
    "logResult": completion.log_result,
    "notifyDownstream": completion.notify_downstream,
    "checkCompletionSLA": completion.check_completion_sla,
    "checkDrift": monitoring.check_drift,
    "handleLateArrival": monitoring.handle_late_arrival,
    "checkMonitoringExpired": monitoring.check_monitoring_expired,
    "releaseLock": gate.release_lock,
}
# Actions that run while this execution holds the lock: an error there is also written to the run log.
UNDER_LOCK = frozenset(ACTIONS) - {"checkExclusion", "acquireLock", "releaseLock"}
LOG_RESULT_DEFAULTS = {"attemptNumber": 0, "retryable": False, "retryBackoffSeconds": 0}
# A skip from these ends the execution without a run (excluded date, lock held, run log says nothing is due).
SKIPS_THE_RUN = frozenset({"checkExclusion", "acquireLock", "checkRunLog"})


def parse_request(event: object) -> tuple[Request, str | None]:
    """The request with defaults filled (scheduleID `daily`, empty date = today UTC), and the first problem with
    its identifying fields, if any."""
    event = event if isinstance(event, dict) else {}
    action = event.get("action") if isinstance(event.get("action"), str) else ""
    pipeline_id = event.get("pipelineID") if isinstance(event.get("pipelineID"), str) else ""
    schedule_id = event.get("scheduleID") if isinstance(event.get("scheduleID"), str) else ""
    date = event.get("date") if isinstance(event.get("date"), str) else ""
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
    execution = event.get("execution") if isinstance(event.get("execution"), str) else ""
    request = Request(
        action=action,
        pipeline_id=pipeline_id,
        schedule_id=schedule_id or DEFAULT_SCHEDULE,
        date=date or schedule.today_utc(),
        payload=payload,
        execution=execution,
    )
    problem = None
    if action not in ACTIONS:
        problem = f"unknown action: {action!r}"
    elif not PIPELINE_ID_PATTERN.fullmatch(pipeline_id):
        problem = f"pipelineID {pipeline_id!r} is not a valid pipeline name"
    elif not SCHEDULE_ID_PATTERN.fullmatch(request.schedule_id):
        problem = f"scheduleID {request.schedule_id!r} is not a valid schedule name"
    else:
        try:
            schedule.parse_date(request.date)
        except ValueError as exc:
            problem = f"date: {exc}"
    return request, problem


def _error(req: Request, message: str, *, keyed: bool) -> ActionOutcome:
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
    if keyed and req.action in UNDER_LOCK:
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


def run(req: Request, problem: str | None = None) -> ActionOutcome:
    """Answer one orchestrator request."""
    if problem is not None:
        return _error(req, problem, keyed=False)
    try:
        outcome = ACTIONS[req.action](req)
    except Problem as exc:
        return _error(req, str(exc), keyed=True)
    if outcome.result == Result.SKIP and req.action in SKIPS_THE_RUN:
        metrics.emit(
            metrics.RUNS_SKIPPED,
            pipeline_id=req.pipeline_id,
            schedule_id=req.schedule_id,
            reason=outcome.payload.get("reason"),
            action=req.action,
        )
    return outcome
