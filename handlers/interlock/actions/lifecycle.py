"""The four calls the state machine makes around the job (DESIGN §10.0): each runs, in order, the steps that used
to be separate states, and answers one route to branch on.

- prepareRun: exclusion, lock, run-log gate, resolve → evaluate | adopt | waitForLock | refused | skip | error
- checkEvaluation: the pending traits evaluated (through the evaluator function), evaluation SLA, readiness,
  validation timeout (and its run log entry) → trigger | reevaluate | timedOut | error; it also says which traits
  the next pass evaluates (a PASS still fresh is reused)
- completeRun: completion SLA, run log, maxDuration, cascade, then monitoring or the lock release → monitor | done |
  error
- checkMonitoring: the traits evaluated (through the evaluator function), drift (and the late-arrival rerun), expiry,
  then the lock release → monitor | done | error

Every step runs as the action it was (`steps.run_step`): the same events, alerts, metrics and run log writes, one
log line each under the step's name; the pipeline config is read once per call (the request's memo).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable

from .. import archetypes, evaluator_function, invocation, schedule
from ..log import logger
from ..models import DEFAULT_SCHEDULE, FailureCategory, Result, RunStatus, TraitStatus
from . import completion, evaluation, gate, monitoring
from .common import ActionOutcome, Problem, Request, load_archetype, load_pipeline, parse_moment
from .steps import error_outcome, run_step

RUN_INPUT_DEFAULTS = {
    "pipelineID": "",
    "scheduleID": DEFAULT_SCHEDULE,
    "date": "",
    "source": "manual",
    "markerKey": "",
    "replay": False,
}
VALIDATION_TIMEOUT_MESSAGE = "validation timed out before all required traits passed"


class Route(enum.StrEnum):
    """What a merged call answers as its `result`: the state machine's next step."""

    EVALUATE = "evaluate"
    ADOPT = "adopt"
    WAIT_FOR_LOCK = "waitForLock"
    REFUSED = "refused"
    SKIP = "skip"
    TRIGGER = "trigger"
    REEVALUATE = "reevaluate"
    TIMED_OUT = "timedOut"
    MONITOR = "monitor"
    DONE = "done"
    ERROR = "error"


def _step(req: Request, action: str, run: Callable[[Request], ActionOutcome], **payload: object) -> ActionOutcome:
    return run_step(req.step(action, payload), run)


def _run_step(
    req: Request, action: str, run: Callable[[Request], ActionOutcome], *passed: str, **payload: object
) -> ActionOutcome:
    """A step of the run: its payload is the run's ID, the keys `passed` as the call's payload gives them, and
    `payload`."""
    return _step(req, action, run, runID=req.run_id, **{key: req.payload.get(key) for key in passed}, **payload)


def _answered(outcome: ActionOutcome) -> dict:
    return {"result": str(outcome.result), "payload": outcome.payload}


# --- prepareRun --------------------------------------------------------------------------------------------------


def run_input(value: object) -> dict:
    """The execution input with its defaults: each key the input gives with the default's type wins."""
    given = value if isinstance(value, dict) else {}
    return {
        key: given[key] if isinstance(given.get(key), type(default)) else default
        for key, default in RUN_INPUT_DEFAULTS.items()
    }


def run_document(req: Request) -> dict:
    """The execution's state document: the run's identity (the input with its defaults, schedule and date resolved)
    and the definition's own document (`payload.stack`: the stack's wait settings and the poll counter's start)."""
    stack = invocation.mapping(req.payload, "stack")
    identity = {"pipelineID": req.pipeline_id, "scheduleID": req.schedule_id, "date": req.date}
    return {**run_input(req.payload.get("input")), **identity, **stack}


def prepare_run(req: Request) -> ActionOutcome:
    """Exclusion, lock, run-log gate and resolve, as far as they go. The answer is the execution's whole state
    document (the Task's ResultPath is `$`): the identity and settings every later state reads, the answers of
    acquireLock, checkRunLog and resolvePipeline under their names, the traits of the first evaluation pass and
    `prepare` (this answer). `payload.state` is the state it is called with: after a wait for the lock it carries
    the wait counter; after a retry's backoff it carries the lock this execution holds, so the exclusion and the
    lock are not asked again (the evaluation window keeps counting from the first acquiredAt)."""
    document = run_document(req)
    state = invocation.mapping(req.payload, "state")
    earlier = state if state != req.payload.get("input") else {}  # the first call sees the raw input
    settings = invocation.mapping(document, "settings")

    def answer(route: Route, outcome: ActionOutcome, lock_held: bool) -> ActionOutcome:
        return ActionOutcome(route, {**outcome.payload, "lockHeld": lock_held}, document)

    held = _held_lock(req, earlier)
    if held is None:
        if not earlier:
            excluded = _step(req, "checkExclusion", gate.check_exclusion)
            if excluded.result != Result.PROCEED:
                return answer(Route.SKIP if excluded.result == Result.SKIP else Route.ERROR, excluded, False)
        waited = invocation.mapping(invocation.mapping(earlier, "acquireLock"), "payload")
        lock = _step(
            req,
            "acquireLock",
            gate.acquire_lock,
            owner=req.execution,
            leaseSeconds=settings.get("lockLeaseSeconds"),
            stateMachine=req.payload.get("stateMachine"),
            waits=invocation.count(waited, "waits") or 0,
            waitSeconds=settings.get("evaluationIntervalSeconds"),
            waitWindowSeconds=settings.get("evaluationWindowSeconds"),
        )
        document["acquireLock"] = _answered(lock)
        if lock.result == Result.ERROR:
            return answer(Route.ERROR, lock, False)
        if lock.result == Result.SKIP:
            return answer(Route.WAIT_FOR_LOCK if lock.payload.get("deferred") is True else Route.REFUSED, lock, False)
    else:
        document["acquireLock"] = held
    gate_answer = _step(req, "checkRunLog", gate.check_run_log, replay=document["replay"])
    document["checkRunLog"] = _answered(gate_answer)
    if gate_answer.result != Result.PROCEED:
        return answer(Route.SKIP if gate_answer.result == Result.SKIP else Route.ERROR, gate_answer, True)
    adopt = gate_answer.payload.get("adopt")
    if isinstance(adopt, dict):  # the claimed attempt goes on to the trigger, which reports its job
        resolved = {"runID": adopt["runID"], "trigger": adopt["trigger"], "monitoring": False}
        document["resolvePipeline"] = {"result": str(Result.PROCEED), "payload": resolved}
        document["evaluation"] = {"payload": {"pending": [], "results": []}}
        return answer(Route.ADOPT, gate_answer, True)
    resolved = _step(req, "resolvePipeline", gate.resolve_pipeline)
    if resolved.result != Result.PROCEED:
        return answer(Route.ERROR, resolved, True)
    traits = resolved.payload.pop("traits")
    document["resolvePipeline"] = _answered(resolved)
    document["evaluation"] = {"payload": {"pending": traits, "results": []}}
    return answer(Route.EVALUATE, gate_answer, True)


def _held_lock(req: Request, earlier: dict) -> dict | None:
    """acquireLock's answer from an earlier call of this execution, when it took the lock."""
    lock = invocation.mapping(earlier, "acquireLock")
    owner = invocation.mapping(lock, "payload").get("owner")
    return lock if lock.get("result") == Result.PROCEED and req.execution and owner == req.execution else None


# --- checkEvaluation ---------------------------------------------------------------------------------------------


def check_evaluation(req: Request) -> ActionOutcome:
    """One evaluation pass: the pending trait items (`payload.previous.pending`) evaluated by the evaluator function,
    all at once; the evaluation SLA; readiness over this pass's results and the PASS results of earlier passes still
    fresh (`payload.previous.results`); and when not ready the validation timeout (a timed-out run is logged
    FAILED/VALIDATION_TIMEOUT here). A re-evaluation answers `pending`, the trait items the next pass evaluates: every
    trait but those whose PASS stays fresh until the next check (this interval plus the longest evaluator timeout);
    `results` are the latest results of every trait, the baseline monitoring compares with. A broken evaluator
    raises (the state machine's Catch)."""
    settings = invocation.mapping(req.payload, "settings")
    previous = invocation.mapping(req.payload, "previous")
    this_pass = _evaluated(req, previous.get("pending"), "payload.previous.pending")  # not a list: checkReadiness
    _run_step(req, "checkEvaluationSLA", evaluation.check_evaluation_sla)
    now = schedule.now_utc()
    results = _latest_results(previous.get("results"), this_pass, now) if isinstance(this_pass, list) else this_pass
    readiness = _run_step(req, "checkReadiness", evaluation.check_readiness, traitResults=results)
    if readiness.result == Result.ERROR:
        return ActionOutcome(Route.ERROR, readiness.payload)
    judged = {
        "results": results,
        "statuses": readiness.payload.get("statuses") or {},
        "traitResults": [_summary(result) for result in this_pass],
    }
    if readiness.result == Result.PROCEED:
        return ActionOutcome(Route.TRIGGER, {**judged, "ready": True, "pending": []})
    blocking = readiness.payload.get("blocking") or []
    timeout = _run_step(
        req,
        "checkValidationTimeout",
        evaluation.check_validation_timeout,
        "lock",
        "executionStartedAt",
        evaluationWindowSeconds=settings.get("evaluationWindowSeconds"),
        blocking=blocking,
    )
    if timeout.result == Result.ERROR:
        return ActionOutcome(Route.ERROR, timeout.payload)
    if timeout.payload.get("validationTimedOut") is True:
        _run_step(
            req,
            "logResult",
            completion.log_result,
            status=RunStatus.FAILED,
            message=VALIDATION_TIMEOUT_MESSAGE,
            failureCategory=FailureCategory.VALIDATION_TIMEOUT,
        )
        return ActionOutcome(Route.TIMED_OUT, {**judged, **timeout.payload, "ready": False})
    try:
        pending, reused = _next_pass(req, results, settings)
    except Problem as exc:
        return error_outcome(req, str(exc), keyed=True)
    return ActionOutcome(
        Route.REEVALUATE,
        {**judged, **timeout.payload, "ready": False, "blocking": blocking, "pending": pending, "reused": reused},
    )


def _fresh_until(result: dict) -> dt.datetime | None:
    """Until when a result counts without asking its evaluator again: a PASS until it expires."""
    return parse_moment(result.get("expiresAt")) if result.get("status") == TraitStatus.PASS else None


def _latest_results(earlier: object, this_pass: list, now: dt.datetime) -> list[dict]:
    """The latest result of every trait: this pass's, and the PASS of an earlier pass that has not expired."""
    latest: dict[str, dict] = {}
    for result in earlier if isinstance(earlier, list) else []:
        fresh = isinstance(result, dict) and isinstance(result.get("traitType"), str)
        until = _fresh_until(result) if fresh else None
        if until is not None and until > now:
            latest[result["traitType"]] = result
    for result in this_pass:
        if isinstance(result, dict) and isinstance(result.get("traitType"), str):
            latest[result["traitType"]] = {
                key: result.get(key) for key in ("traitType", "status", "required", "expiresAt")
            }
    return list(latest.values())


def _next_pass(req: Request, results: list[dict], settings: dict) -> tuple[list[dict], list[str]]:
    """The trait items to evaluate next, and the trait types whose PASS is reused instead."""
    config = load_pipeline(req)
    items = archetypes.resolve_traits(load_archetype(req, config), config, schedule_id=req.schedule_id, date=req.date)
    interval = invocation.positive(settings, "evaluationIntervalSeconds") or 0
    longest = max((invocation.positive(item, "timeout") or 0 for item in items), default=0)
    next_check = schedule.now_utc() + dt.timedelta(seconds=interval + longest)
    reusable = {r["traitType"] for r in results if (until := _fresh_until(r)) is not None and until > next_check}
    return [item for item in items if item["traitType"] not in reusable], sorted(reusable)


# --- completeRun -------------------------------------------------------------------------------------------------


def complete_run(req: Request) -> ActionOutcome:
    """The job succeeded: completion SLA, run log COMPLETED, `sla.maxDuration` (a run that ended past it since the
    watchdog's last pass), the cascade to downstream pipelines (a failure there is
    logged and does not stop the run), then monitoring (`monitor` with the trait items and `loggedAt`, when the
    run monitors) or the lock release (`done`)."""
    sla = _run_step(req, "checkCompletionSLA", completion.check_completion_sla)
    logged = _run_step(req, "logResult", completion.log_result, status=RunStatus.COMPLETED)
    overran = completion.alert_max_duration(req)
    cascade = _cascade(req)
    answer = {
        "loggedAt": logged.payload.get("loggedAt"),
        "completionSLA": sla.payload,
        "maxDurationExceeded": overran,
        "cascade": cascade,
    }
    if req.payload.get("monitoring") is True:
        try:
            config = load_pipeline(req)
            arch = load_archetype(req, config)
        except Problem as exc:
            return error_outcome(req, str(exc), keyed=True)
        traits = archetypes.resolve_traits(arch, config, schedule_id=req.schedule_id, date=req.date)
        return ActionOutcome(Route.MONITOR, {**answer, "traits": traits})
    released = _step(req, "releaseLock", gate.release_lock, owner=req.payload.get("owner"))
    return ActionOutcome(Route.DONE, {**answer, "lockReleased": released.payload.get("released") is True})


def _cascade(req: Request) -> dict:
    """notifyDownstream's answer; an exception there is logged and answered, as the state's Catch once did."""
    try:
        return _answered(_run_step(req, "notifyDownstream", completion.notify_downstream))
    except Exception as exc:  # the run completed: a cascade that failed is reported, never a failed run
        logger().error("notifyDownstream failed", extra={"error": str(exc)})
        return {"result": str(Result.ERROR), "payload": {"error": invocation.capped(str(exc))}}


# --- checkMonitoring ---------------------------------------------------------------------------------------------


def check_monitoring(req: Request) -> ActionOutcome:
    """One monitoring cycle: the run's traits evaluated (by the evaluator function, all at once), drift against the
    baseline (a drift records the late arrivals and starts a rerun, releasing the lock first), else the end of the
    monitoring window (then the lock is released). A broken evaluator raises (the state machine's Catch)."""
    owner = req.payload.get("owner")
    results = _evaluated(req, req.payload.get("traits"), "payload.traits")
    if not isinstance(results, list):
        raise Problem("payload.traitResults must be the list of evaluator results")
    drift = _run_step(req, "checkDrift", monitoring.check_drift, "baseline", traitResults=results)
    evaluated = {"traitResults": [_summary(result) for result in results]}
    if drift.payload.get("driftDetected") is True:
        late = _run_step(
            req, "handleLateArrival", monitoring.handle_late_arrival, drifted=drift.payload.get("drifted"), owner=owner
        )
        released = late.payload.get("lockReleased") is True or _released(req, owner)
        return ActionOutcome(Route.DONE, {**evaluated, **drift.payload, **late.payload, "lockReleased": released})
    expiry = _run_step(req, "checkMonitoringExpired", monitoring.check_monitoring_expired, "monitoringStartedAt")
    if expiry.result == Result.ERROR:
        return ActionOutcome(Route.ERROR, expiry.payload)
    answer = {**evaluated, **drift.payload, **expiry.payload}
    if expiry.payload.get("expired") is not True:
        return ActionOutcome(Route.MONITOR, answer)
    return ActionOutcome(Route.DONE, {**answer, "lockReleased": _released(req, owner)})


def _evaluated(req: Request, items: object, field: str) -> object:
    """The evaluator's answers for the trait items `items` (the field that held them: `field`). An execution started
    before the orchestrator evaluated (its definition still has the Map states) sends the Map's results as
    `traitResults`: those are judged instead."""
    if "traitResults" in req.payload:
        return req.payload["traitResults"]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise Problem(f"{field} must be a list of trait items")
    return evaluator_function.evaluate(items, req.budget)


def _summary(result: object) -> dict:
    """What the execution's history shows of one evaluator answer (the stored result has the rest)."""
    fields = invocation.fields(result)
    return {key: fields.get(key) for key in ("traitType", "status", "failureCategory")}


def _released(req: Request, owner: object) -> bool:
    return _step(req, "releaseLock", gate.release_lock, owner=owner).payload.get("released") is True
