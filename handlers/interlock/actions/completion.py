"""After the trigger: recording results, the completion SLA and cascading to downstream pipelines."""

from __future__ import annotations

from .. import run_duration, schedule, store
from ..alerts import AlertType
from ..log import logger
from ..models import ConfigError, RunStatus
from ..pipelines import parse_pipeline
from .common import (
    MAX_MESSAGE_CHARS,
    ActionOutcome,
    Problem,
    Request,
    load_pipeline,
    proceed,
    record_result,
    sla_outcome,
)

LOGGABLE_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED)


def log_result(req: Request) -> ActionOutcome:
    """Record COMPLETED or FAILED for the run: run log (attempts, retry history), run state, events, and whether
    the pipeline's retry policy allows another attempt (and after how long)."""
    status = req.payload.get("status")
    if status not in LOGGABLE_STATUSES:
        raise Problem(f"payload.status must be one of {', '.join(LOGGABLE_STATUSES)}, got {status!r}")
    if req.payload.get("afterError") is True:
        return _log_error(req)
    return proceed(
        **record_result(
            req,
            status=status,
            run_id=req.run_id,
            message=_text(req, "message"),
            category=_text(req, "failureCategory") or None,
            config=_config(req),
        )
    )


def _log_error(req: Request) -> ActionOutcome:
    """The state machine's error path: record the failure of this execution's run, keeping the attempt's claim
    (its job may have started and its fate is unknown), but only while this execution holds the lock, and never
    over a COMPLETED date."""
    owner = req.payload.get("owner")
    lock = store.get_lock(req.pipeline_id, req.schedule_id) or {}
    existing = store.get_run_log(req.pipeline_id, req.date, req.schedule_id) or {}
    claim = existing.get("inFlight") or {}
    not_logged = {
        "attemptNumber": int(existing.get("attemptNumber") or 0),
        "retryable": False,
        "retryBackoffSeconds": 0,
        "loggedAt": schedule.rfc3339(schedule.now_utc()),
        "logged": False,
    }
    if not isinstance(owner, str) or not owner or lock.get("owner") != owner:
        return proceed(**not_logged, reason="the lock is not held by this execution")
    if existing.get("status") == RunStatus.COMPLETED and not claim:
        store.append_event(req.pipeline_id, "ACTION_ERROR", message=_text(req, "message")[:MAX_MESSAGE_CHARS])
        return proceed(**not_logged, reason="the date is already completed")
    return proceed(
        logged=True,
        **record_result(
            req,
            status=RunStatus.FAILED,
            run_id=req.run_id or claim.get("runID"),
            message=_text(req, "message"),
            category=_text(req, "failureCategory") or None,
            config=_config(req),
            keep_claim=True,
            existing=existing,
        ),
    )


def _text(req: Request, key: str) -> str:
    value = req.payload.get(key)
    return value if isinstance(value, str) else ""


def _config(req: Request):
    try:
        return load_pipeline(req)
    except Problem as exc:  # still log the result; retry decisions fall back to the default policy
        logger().warning("logResult without pipeline config", extra={"error": str(exc)})
        return None


def check_completion_sla(req: Request) -> ActionOutcome:
    config = load_pipeline(req)
    try:
        deadline = schedule.schedule_deadline(config, req.schedule_id, req.run_date)
    except ValueError as exc:
        raise Problem(f"completion deadline: {exc}") from exc
    if deadline is None:
        return proceed(breached=False)
    return sla_outcome(
        req,
        deadline,
        "completion",
        AlertType.COMPLETION_SLA_BREACHED,
        f"Completion SLA breached for {req.pipeline_id} schedule {req.schedule_id} "
        f"(deadline: {schedule.rfc3339(deadline)})",
    )


def alert_max_duration(req: Request) -> bool:
    """`sla.maxDuration` for a run that ended past it between two watchdog passes: alerted now (once per date,
    shared with the watchdog's claim). The run state is read only when the pipeline sets a limit."""
    config = load_pipeline(req)
    if run_duration.limit(config) is None or not req.run_id:
        return False
    run = store.get_run(req.run_id)
    return bool(run) and run_duration.alert_overrun(config, run, schedule.now_utc()) is not None


def _downstream_of(pipeline_id: str, schedule_id: str, raw: dict) -> str | None:
    """The name of `raw` if one of its traits names `pipeline_id` as upstreamPipeline (for this schedule)."""
    try:
        config = parse_pipeline(raw)
    except ConfigError as exc:
        logger().warning("skipping invalid stored pipeline", extra={"error": str(exc)})
        return None
    if config.name == pipeline_id:
        return None
    for trait in config.traits.values():
        wanted_schedule = trait.config.get("upstreamSchedule")
        if trait.config.get("upstreamPipeline") == pipeline_id and wanted_schedule in (None, "", schedule_id):
            return config.name
    return None


def notify_downstream(req: Request) -> ActionOutcome:
    """Write a cascade marker for every pipeline whose traits name this one as `upstreamPipeline`."""
    notified = []
    for raw in store.downstream_configs(req.pipeline_id):
        name = _downstream_of(req.pipeline_id, req.schedule_id, raw)
        if name is None:
            continue
        marker = store.write_marker(
            name,
            schedule_id=req.schedule_id,
            date=req.date,
            source="cascade",
            attributes={"upstreamPipeline": req.pipeline_id, "upstreamRunID": req.run_id or ""},
        )
        store.append_event(
            name,
            "CASCADE_MARKER_WRITTEN",
            run_id=req.run_id,
            details={"upstreamPipeline": req.pipeline_id, "markerKey": marker},
        )
        notified.append(f"{name}/{req.schedule_id}")
    return proceed(notified=sorted(notified))
