"""`sla.maxDuration`: how long a run may take from its trigger (the moment its run state became TRIGGERING,
`triggeredAt`). A run past it is alerted MAX_DURATION_EXCEEDED once per (pipeline, schedule, date): by the watchdog
while the run is still TRIGGERING or RUNNING, and by the completion step when the run ended past it between two
watchdog passes (the claim makes it one alert whichever comes first).
"""

from __future__ import annotations

import datetime as dt

from . import alerts, schedule, store
from .actions.common import date_alert_key
from .durations import parse_duration
from .models import DEFAULT_SCHEDULE, PipelineConfig


def limit(config: PipelineConfig) -> dt.timedelta | None:
    """The pipeline's `sla.maxDuration`, or None."""
    if config.sla is None or not config.sla.max_duration:
        return None
    return dt.timedelta(seconds=parse_duration(config.sla.max_duration, signed=True))


def overrun(config: PipelineConfig, run: dict, now: dt.datetime) -> dict | None:
    """The alert details when `run` (a run state) has taken longer than the pipeline's `sla.maxDuration` from its
    trigger by `now`; None without a limit, before the trigger (no `triggeredAt`) or within it."""
    max_duration = limit(config)
    if max_duration is None or not isinstance(run.get("triggeredAt"), str):
        return None
    try:
        triggered = schedule.parse_timestamp(run["triggeredAt"])
    except ValueError:
        return None
    elapsed = (now - triggered).total_seconds()
    if elapsed <= max_duration.total_seconds():
        return None
    return {
        "runID": run.get("runID"),
        "status": run.get("status"),
        "triggeredAt": run["triggeredAt"],
        "maxDuration": config.sla.max_duration,
        "elapsedSeconds": int(elapsed),
    }


def alert_overrun(config: PipelineConfig, run: dict, now: dt.datetime) -> dict | None:
    """Alert MAX_DURATION_EXCEEDED about `run` when `overrun` finds it past the limit and no such alert was sent for
    its (pipeline, schedule, date) yet: claim, MAX_DURATION_EXCEEDED event, publish. Returns the alert's details
    with `published` (whether SNS took it) when it was sent now, else None. The completion step calls it with the
    finished run state and the moment the job's outcome arrived."""
    details = overrun(config, run, now)
    date, schedule_id = run.get("date") or "", run.get("scheduleID") or DEFAULT_SCHEDULE
    if details is None or not date:
        return None
    alert_type = alerts.AlertType.MAX_DURATION_EXCEEDED
    if not store.claim_alert(config.name, date_alert_key(date, schedule_id), alert_type):
        return None
    message = (
        f"Run {details['runID']} of {config.name} ({schedule_id}, {date}) has taken {details['elapsedSeconds']}s "
        f"since its trigger at {details['triggeredAt']}, longer than sla.maxDuration ({config.sla.max_duration}); "
        f"it is {details['status']}"
    )
    store.append_event(
        config.name,
        str(alert_type),
        run_id=details["runID"],
        message=message,
        details={"scheduleID": schedule_id, **details},
    )
    published = alerts.publish(
        alerts.AlertLevel.WARNING,
        alert_type,
        message,
        pipeline_id=config.name,
        schedule_id=schedule_id,
        date=date,
        run_id=details["runID"],
        details=details,
    )
    return {**details, "published": published}
