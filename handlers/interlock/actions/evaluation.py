"""During evaluation: the evaluation SLA, readiness and the validation timeout."""

from __future__ import annotations

import datetime as dt

from .. import readiness, schedule, store
from ..alerts import AlertLevel, AlertType
from .common import (
    ActionOutcome,
    Problem,
    Request,
    alert_once,
    load_archetype,
    load_pipeline,
    parse_moment,
    proceed,
    skip,
    sla_outcome,
)


def check_evaluation_sla(req: Request) -> ActionOutcome:
    config = load_pipeline(req)
    if config.sla is None or not config.sla.evaluation_deadline:
        return proceed(breached=False)
    try:
        deadline = schedule.deadline_on(config.sla.evaluation_deadline, req.run_date, config.sla.timezone)
    except ValueError as exc:
        raise Problem(f"sla.evaluationDeadline: {exc}") from exc
    return sla_outcome(
        req,
        deadline,
        "evaluation",
        AlertType.EVALUATION_SLA_BREACHED,
        f"Evaluation SLA breached for {req.pipeline_id} (deadline: {config.sla.evaluation_deadline})",
    )


def check_readiness(req: Request) -> ActionOutcome:
    """Apply the archetype's readiness rule to `payload.traitResults` (the evaluator outputs of this pass)."""
    results = req.payload.get("traitResults")
    if not isinstance(results, list):
        raise Problem("payload.traitResults must be the list of evaluator results")
    config = load_pipeline(req)
    arch = load_archetype(req, config)
    verdict = readiness.evaluate(arch.readiness_rule, arch.required_types(), results)
    store.append_event(
        req.pipeline_id,
        "READINESS_CHECKED",
        run_id=req.run_id,
        status="READY" if verdict.ready else "NOT_READY",
        details={"blocking": verdict.blocking, "statuses": verdict.statuses},
    )
    if verdict.ready:
        return proceed(ready=True, statuses=verdict.statuses)
    return skip("not ready", blocking=verdict.blocking, statuses=verdict.statuses)


def _evaluation_start(req: Request) -> dt.datetime | None:
    """When the run took the lock (`payload.lock`, acquireLock's answer); before that it only waited for it.
    Falls back to the execution start, then to the run's creation."""
    lock = req.payload.get("lock")
    started = parse_moment(lock.get("acquiredAt")) if isinstance(lock, dict) else None
    started = started or parse_moment(req.payload.get("executionStartedAt"))
    if started is None and req.run_id:
        run = store.get_run(req.run_id)
        started = parse_moment((run or {}).get("createdAt"))
    return started


def check_validation_timeout(req: Request) -> ActionOutcome:
    """Traits are not ready: has the run waited long enough? It has when `sla.validationTimeout` has passed
    ("+45m" counts from when the run took the lock, "HH:MM" or "2h" from the run date's midnight in the SLA zone)
    or, with or without it, when the evaluation window since the run took the lock is exhausted."""
    config = load_pipeline(req)
    started = _evaluation_start(req)
    deadlines: list[tuple[str, dt.datetime]] = []
    window = req.payload.get("evaluationWindowSeconds")
    if started is not None and isinstance(window, (int, float)) and not isinstance(window, bool) and window > 0:
        deadlines.append(("evaluation window exhausted", started + dt.timedelta(seconds=window)))
    spec = config.sla.validation_timeout if config.sla else ""
    if spec:
        if spec.strip().startswith("+") and started is None:
            raise Problem(
                "sla.validationTimeout: a relative timeout needs payload.lock.acquiredAt or payload.executionStartedAt"
            )
        try:
            deadlines.append(
                (
                    "validation timeout",
                    schedule.deadline_on(spec, req.run_date, config.sla.timezone, relative_to=started),
                )
            )
        except ValueError as exc:
            raise Problem(f"sla.validationTimeout: {exc}") from exc
    blocking = req.payload.get("blocking") if isinstance(req.payload.get("blocking"), list) else []
    now = schedule.now_utc()
    passed = sorted((d, why) for why, d in deadlines if schedule.is_breached(d, now))
    if not passed:
        earliest = min((d for _, d in deadlines), default=None)
        return proceed(validationTimedOut=False, deadline=schedule.rfc3339(earliest) if earliest else None)
    deadline, why = passed[0]
    alerted = alert_once(
        req,
        AlertType.VALIDATION_TIMEOUT,
        AlertLevel.ERROR,
        f"Validation timeout for {req.pipeline_id} ({why} at {schedule.rfc3339(deadline)}); "
        f"blocking: {', '.join(map(str, blocking)) or 'none reported'}",
        {"reason": why, "deadline": schedule.rfc3339(deadline), "blocking": blocking},
    )
    return proceed(
        validationTimedOut=True, reason=why, deadline=schedule.rfc3339(deadline), blocking=blocking, alerted=alerted
    )
