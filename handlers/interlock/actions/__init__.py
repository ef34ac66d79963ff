"""The orchestrator's actions (DESIGN §6, §10.0): the four merged lifecycle actions the state machine calls
(prepareRun, checkEvaluation, completeRun, checkMonitoring) and the steps they are made of, the original 14 actions,
each still answerable on its own (logResult and releaseLock are called alone by the error and failure paths).

`run` answers an ActionOutcome for every request; `steps` is where a business error becomes data.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import schedule
from ..models import DEFAULT_SCHEDULE, PIPELINE_ID_PATTERN, SCHEDULE_ID_PATTERN
from . import completion, evaluation, gate, lifecycle, monitoring
from .common import ActionOutcome, Request
from .steps import bind_request, error_outcome, run_step

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
    "prepareRun": lifecycle.prepare_run,
    "checkEvaluation": lifecycle.check_evaluation,
    "completeRun": lifecycle.complete_run,
    "checkMonitoring": lifecycle.check_monitoring,
}


def parse_request(event: object, budget: float | None = None) -> tuple[Request, str | None]:
    """The request with defaults filled (scheduleID `daily`, empty date = today UTC), and the first problem with
    its identifying fields, if any. `budget`: the seconds the invocation may still spend on outside calls."""
    event = event if isinstance(event, dict) else {}
    action = event.get("action") if isinstance(event.get("action"), str) else ""
    if action == "prepareRun":  # the first call of an execution: its identity is the (normalised) execution input
        payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
        event = {**event, **lifecycle.run_input(payload.get("input"))}
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
        budget=budget,
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


def run(req: Request, problem: str | None = None) -> ActionOutcome:
    """Answer one orchestrator request."""
    if problem is not None:
        bind_request(req)
    outcome = error_outcome(req, problem, keyed=False) if problem is not None else run_step(req, ACTIONS[req.action])
    if req.action == "prepareRun" and outcome.document is None:  # a request problem: nothing was taken
        outcome.document = lifecycle.run_document(req)
        outcome.payload["lockHeld"] = False
    return outcome
