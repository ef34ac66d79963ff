"""After completion: drift between the trait results at trigger time and now, late arrivals (a rerun of the
date) and the end of the monitoring window."""

from __future__ import annotations

import datetime as dt

from .. import readiness, schedule, store
from ..alerts import AlertLevel, AlertType
from ..durations import parse_duration
from ..models import RunStatus
from .common import ActionOutcome, Problem, Request, alert_once, load_pipeline, move_run, parse_moment, proceed


def check_drift(req: Request) -> ActionOutcome:
    """A trait drifted when its status now differs from its status when the run was triggered."""
    baseline = readiness.latest_statuses(req.payload.get("baseline"))
    current = readiness.latest_statuses(req.payload.get("traitResults"))
    changes = [
        {"traitType": t, "from": baseline[t], "to": current[t]}
        for t in sorted(baseline)
        if t in current and current[t] != baseline[t]
    ]
    drifted = [c["traitType"] for c in changes]
    if not drifted:
        return proceed(driftDetected=False, drifted=[])
    alert_once(
        req,
        AlertType.TRAIT_DRIFT,
        AlertLevel.WARNING,
        f"Trait drift detected for {req.pipeline_id}: {', '.join(drifted)}",
        {"drifted": drifted, "changes": changes},
    )
    store.append_event(
        req.pipeline_id,
        "MONITORING_DRIFT_DETECTED",
        run_id=req.run_id,
        details={"drifted": drifted, "changes": changes},
    )
    return proceed(driftDetected=True, drifted=drifted, changes=changes)


def handle_late_arrival(req: Request) -> ActionOutcome:
    """Record the late arrivals, request a rerun of the date and start it with a replay marker.

    With `payload.owner` the lock is released first, so the rerun's execution can take it (the state machine's
    own ReleaseLock afterwards is then a no-op)."""
    listed = req.payload.get("drifted") or []
    if not isinstance(listed, list):
        raise Problem(f"payload.drifted must be a list of trait types, got {type(listed).__name__}")
    drifted = [t for t in listed if isinstance(t, str) and t]
    for trait_type in drifted:
        store.put_late_arrival(
            req.pipeline_id,
            date=req.date,
            schedule_id=req.schedule_id,
            trait_type=trait_type,
            details={"runID": req.run_id},
        )
    now = schedule.now_utc()
    rerun_id = f"rerun-{req.run_id}" if req.run_id else f"rerun-{req.date}-{req.schedule_id}-{int(now.timestamp())}"
    store.put_rerun(
        req.pipeline_id,
        {
            "rerunID": rerun_id,
            "originalRunID": req.run_id,
            "originalDate": req.date,
            "scheduleID": req.schedule_id,
            "reason": "late arrival detected",
            "description": f"traits changed after the run: {', '.join(drifted)}",
            "status": RunStatus.PENDING,
            "requestedAt": schedule.rfc3339(now),
        },
    )
    move_run(req.run_id, [RunStatus.COMPLETED], {"drifted": drifted, "rerunID": rerun_id})
    owner = req.payload.get("owner")
    released = isinstance(owner, str) and bool(owner) and store.release_lock(req.pipeline_id, req.schedule_id, owner)
    marker = store.write_marker(
        req.pipeline_id,
        schedule_id=req.schedule_id,
        date=req.date,
        source="late-arrival",
        replay=True,
        attributes={"rerunID": rerun_id},
    )
    store.append_event(
        req.pipeline_id,
        "RERUN_REQUESTED",
        run_id=req.run_id,
        details={"rerunID": rerun_id, "drifted": drifted, "markerKey": marker},
    )
    return proceed(lateArrivalHandled=True, rerunID=rerun_id, markerKey=marker, lockReleased=released)


def check_monitoring_expired(req: Request) -> ActionOutcome:
    config = load_pipeline(req)
    monitoring = config.watch.monitoring if config.watch else None
    if monitoring is None or not monitoring.enabled:
        move_run(req.run_id, [RunStatus.COMPLETED])
        return proceed(expired=True)
    try:
        duration = parse_duration(monitoring.duration, signed=True)
    except ValueError as exc:
        raise Problem(f"watch.monitoring.duration: {exc}") from exc
    started = parse_moment(req.payload.get("monitoringStartedAt"))
    if started is None:
        entry = store.get_run_log(req.pipeline_id, req.date, req.schedule_id) or {}
        started = parse_moment(entry.get("completedAt"))
    if started is None:
        raise Problem("payload.monitoringStartedAt must be an RFC 3339 timestamp")
    ends = started + dt.timedelta(seconds=duration)
    expired = schedule.now_utc() >= ends
    if expired:
        move_run(req.run_id, [RunStatus.COMPLETED])
        store.append_event(req.pipeline_id, "MONITORING_COMPLETED", run_id=req.run_id)
    return proceed(expired=expired, endsAt=schedule.rfc3339(ends))
