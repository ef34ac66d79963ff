"""The watchdog: what no execution can report because no execution runs (DESIGN §10.7).

Every few minutes (the stack's `watchdogInterval`), for each registered pipeline and each schedule it expects:
- SCHEDULE_MISSED: a stack schedule's latest firing (at least GRACE ago, within LOOKBACK) wrote no marker;
- COMPLETION_SLA_BREACHED: the completion deadline of a date passed and no execution of the date ever got as far as
  the run log (no attempt, no claim); claimed per date, which the in-execution check honours, so it is sent once;
- SLA_WARNING: `sla.warnBefore` before a completion deadline while the date is not COMPLETED;
- RUN_STUCK: a run created more than the execution timeout ago (and at most LOOKBACK before that) is not terminal;
- MAX_DURATION_EXCEEDED: a TRIGGERING or RUNNING run has taken longer than `sla.maxDuration` since its trigger;
- a lock whose owner execution has ended (looked at once the lock is GRACE old) is released: an abnormal end is
  reconciled as the reconciler would (run log, release, EXECUTION_* alert), any other end only released.
    Each alert goes out once per (pipeline, schedule, date, type) through the alert claims; a date that is not a run
    date (not included, or excluded: schedule.skip_reason) expects nothing, and a paused pipeline gets no SLA alerts,
    nor does one in dry run (it never completes a date). Reads: the pipeline list (GSI), one BatchGetItem per 100 keys
    (pauses, locks, run logs and claims of the dates in a window), one Query per pipeline (unfinished runs), one per
    stack schedule with a firing due (its markers) and, per run that is stuck or past its maxDuration, its claim.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from . import alerts, archetypes, metrics, run_duration, schedule, schedule_expressions, settings, store
from .actions import gate, reconcile
from .actions.common import date_alert_key, parse_moment
from .durations import parse_duration
from .log import logger
from .models import DEFAULT_SCHEDULE, ConfigError, PipelineConfig, RunStatus
from .pipelines import parse_pipeline

GRACE = dt.timedelta(minutes=15)  # a marker may be this late; a lock this old is looked at
LOOKBACK = dt.timedelta(hours=24)  # how far back firings, deadlines and stuck runs are looked for


@dataclass(frozen=True)
class StackSchedule:
    """One entry of the stack's `schedules` (the EventBridge Scheduler schedule writing a pipeline's markers)."""

    name: str
    pipeline: str
    schedule_id: str
    expression: str
    timezone: str


def encode_schedules(schedules: list[StackSchedule]) -> str:
    """The function's WATCHDOG_SCHEDULES: compact JSON, `[[name, pipeline, scheduleID, expression, timezone]]`."""
    rows = [[s.name, s.pipeline, s.schedule_id, s.expression, s.timezone] for s in schedules]
    return json.dumps(rows, separators=(",", ":"))


def decode_schedules(text: str) -> list[StackSchedule]:
    if not text:
        return []
    return [StackSchedule(*row) for row in json.loads(text)]


@dataclass(frozen=True)
class _DateCheck:
    """An SLA check of one (pipeline, schedule, date) whose deadline is near or passed."""

    config: PipelineConfig
    schedule_id: str
    date: str
    deadline: dt.datetime
    alert_type: alerts.AlertType  # SLA_WARNING before the deadline, COMPLETION_SLA_BREACHED after it


@dataclass(frozen=True)
class _FiringCheck:
    schedule: StackSchedule
    date: str
    fired_at: dt.datetime


def run(now: dt.datetime) -> dict:
    """One pass at `now`. Returns the report `{now, pipelines, alerts: [...], locksReleased: [...]}`."""
    environment = settings.get()
    by_pipeline: dict[str, list[StackSchedule]] = {}
    for entry in decode_schedules(environment.watchdog_schedules):
        by_pipeline.setdefault(entry.pipeline, []).append(entry)
    configs = _pipelines()
    calendars = (
        archetypes.load_calendars(environment.archetype_dir) if any(schedule.file_calendars(c) for c in configs) else {}
    )
    report: dict[str, Any] = {
        "now": schedule.rfc3339(now),
        "pipelines": len(configs),
        "alerts": [],
        "locksReleased": [],
    }
    plans = [_plan(config, by_pipeline.get(config.name, []), now, calendars, environment.dry_run) for config in configs]
    items = store.get_many(key for plan in plans for key in plan["keys"])
    for config, plan in zip(configs, plans, strict=True):
        paused = store.pause_key(config.name) in items
        for check in plan["firings"]:
            _check_firing(report, check, now, items)
        for check in plan["dates"]:
            if not paused:
                _check_date(report, check, items)
        for schedule_id in plan["schedule_ids"]:
            lock = items.get(store.lock_key(config.name, schedule_id))
            if lock is not None:
                _check_lock(report, config.name, schedule_id, lock, now, environment.state_machine_arn)
        _check_runs(report, config, now, environment.execution_timeout_seconds, environment.state_machine_arn)
    return report


def _pipelines() -> list[PipelineConfig]:
    configs = []
    for data in store.list_pipelines():
        try:
            configs.append(parse_pipeline(data, source=f"pipeline {data.get('name')}"))
        except ConfigError as exc:
            logger().warning("pipeline not watched: invalid stored config", extra={"error": str(exc)})
    return configs


def _plan(
    config: PipelineConfig, stack_schedules: list[StackSchedule], now: dt.datetime, calendars: dict, stack_dry_run: bool
) -> dict:
    """The checks due for one pipeline at `now` and the items they read. A pipeline in dry run (its own or the
    stack's) never completes a date, so it gets no deadline checks; its missed schedules still count."""
    named = [s.name for s in config.schedules] + [s.schedule_id for s in stack_schedules]
    schedule_ids = list(dict.fromkeys(named)) or [DEFAULT_SCHEDULE]
    keys = [store.pause_key(config.name)] + [store.lock_key(config.name, sid) for sid in schedule_ids]
    dates, firings = [], []
    for schedule_id in [] if stack_dry_run or config.dry_run else schedule_ids:
        for check in _date_checks(config, schedule_id, now, calendars):
            dates.append(check)
            keys.append(store.run_log_key(config.name, check.date, schedule_id))
            keys.append(store.alert_claim_key(config.name, date_alert_key(check.date, schedule_id), check.alert_type))
    for entry in stack_schedules:
        fired_at = schedule_expressions.last_fire(entry.expression, entry.timezone, now - GRACE, LOOKBACK)
        if fired_at is None:
            continue
        date = fired_at.date()  # local to the schedule's zone, as the stream-router dates its marker
        if _not_a_run_date(config, date, calendars):
            continue
        firings.append(_FiringCheck(entry, date.isoformat(), fired_at))
        key = date_alert_key(date.isoformat(), entry.schedule_id)
        keys.append(store.alert_claim_key(config.name, key, alerts.AlertType.SCHEDULE_MISSED))
    return {"schedule_ids": schedule_ids, "keys": keys, "dates": dates, "firings": firings}


def _date_checks(config: PipelineConfig, schedule_id: str, now: dt.datetime, calendars: dict) -> list[_DateCheck]:
    sla = config.sla
    sched = config.schedule(schedule_id)
    tz_name = (sched.timezone if sched and sched.deadline else "") or (sla.timezone if sla else "")
    warn = dt.timedelta(seconds=parse_duration(sla.warn_before, signed=True)) if sla and sla.warn_before else None
    today = schedule.local_date(now, tz_name)
    checks = []
    for day in (today - dt.timedelta(days=1), today):
        try:
            deadline = schedule.schedule_deadline(config, schedule_id, day)
        except ValueError:
            return []
        if deadline is None or _not_a_run_date(config, day, calendars):
            continue
        if deadline < now <= deadline + LOOKBACK:
            checks.append(
                _DateCheck(config, schedule_id, day.isoformat(), deadline, alerts.AlertType.COMPLETION_SLA_BREACHED)
            )
        elif warn is not None and deadline - warn <= now <= deadline:
            checks.append(_DateCheck(config, schedule_id, day.isoformat(), deadline, alerts.AlertType.SLA_WARNING))
    return checks


def _not_a_run_date(config: PipelineConfig, day: dt.date, calendars: dict) -> bool:
    try:
        return schedule.skip_reason(config, day, calendars) is not None
    except ValueError:  # an unknown calendar: checkExclusion answers error for each run; expect nothing
        return True


def _check_firing(report: dict, check: _FiringCheck, now: dt.datetime, items: dict) -> None:
    entry = check.schedule
    claim = store.alert_claim_key(
        entry.pipeline, date_alert_key(check.date, entry.schedule_id), alerts.AlertType.SCHEDULE_MISSED
    )
    if claim in items or store.scheduled_marker_arrived(entry.pipeline, entry.name, check.fired_at, now):
        return
    when = schedule.rfc3339(check.fired_at)
    _alert(
        report,
        entry.pipeline,
        entry.schedule_id,
        check.date,
        alerts.AlertType.SCHEDULE_MISSED,
        alerts.AlertLevel.ERROR,
        f"Schedule {entry.name} of {entry.pipeline} should have written a marker at {when} ({entry.expression}, "
        f"{entry.timezone}); none arrived within {int(GRACE.total_seconds() // 60)} minutes",
        {"schedule": entry.name, "expression": entry.expression, "scheduledAt": when},
    )


def _check_date(report: dict, check: _DateCheck, items: dict) -> None:
    pipeline_id, schedule_id, date = check.config.name, check.schedule_id, check.date
    if store.alert_claim_key(pipeline_id, date_alert_key(date, schedule_id), check.alert_type) in items:
        return
    run_log = items.get(store.run_log_key(pipeline_id, date, schedule_id))
    deadline = schedule.rfc3339(check.deadline)
    if check.alert_type == alerts.AlertType.SLA_WARNING:
        if run_log is not None and run_log.get("status") == RunStatus.COMPLETED:
            return
        message = f"{pipeline_id} ({schedule_id}, {date}) has not completed; its completion deadline is {deadline}"
        level = alerts.AlertLevel.WARNING
    else:
        if run_log is not None:  # an execution got as far as the run log: the in-execution check is in charge
            return
        message = f"Completion deadline {deadline} of {pipeline_id} ({schedule_id}, {date}) passed and no run started"
        level = alerts.AlertLevel.WARNING
    details = {"deadline": deadline, "status": (run_log or {}).get("status") or None}
    if _alert(report, pipeline_id, schedule_id, date, check.alert_type, level, message, details) and (
        check.alert_type == alerts.AlertType.COMPLETION_SLA_BREACHED
    ):
        metrics.emit(metrics.SLA_BREACHES, pipeline_id=pipeline_id, schedule_id=schedule_id, stage="completion")


def _check_lock(report: dict, pipeline_id: str, schedule_id: str, lock: dict, now: dt.datetime, machine: str) -> None:
    owner = lock.get("owner")
    acquired = parse_moment(lock.get("acquiredAt"))
    if not isinstance(owner, str) or not owner or (acquired is not None and now - acquired < GRACE):
        return
    described = gate.describe_owner(machine, owner)
    if described is None or described.get("status") == "RUNNING":
        return
    end, _why = reconcile.parse_execution_end(_status_change(described))
    if end is not None and not end.handled and end.name == owner:
        released = reconcile.reconcile(end)["lockReleased"]
    else:  # ended otherwise (succeeded, failed after its own cleanup, unknown to Step Functions): only release
        released = store.release_lock_recorded(
            pipeline_id,
            schedule_id,
            owner,
            "LOCK_RELEASED_BY_WATCHDOG",
            f"execution {owner} no longer runs ({described['status']})",
            {"heldSince": lock.get("acquiredAt")},
        )
    if released:
        report["locksReleased"].append(
            {
                "pipelineID": pipeline_id,
                "scheduleID": schedule_id,
                "owner": owner,
                "executionStatus": described["status"],
            }
        )


def _status_change(described: dict) -> dict:
    """A DescribeExecution answer as the "Execution Status Change" event the reconciler reads."""
    started = described.get("startDate")
    return {
        "detail-type": reconcile.STATUS_CHANGE,
        "detail": {
            "name": described.get("name"),
            "executionArn": described.get("executionArn"),
            "status": described.get("status"),
            "input": described.get("input"),
            "startDate": started.timestamp() * 1000 if isinstance(started, dt.datetime) else None,
            "error": described.get("error"),
            "cause": described.get("cause"),
        },
    }


def _check_runs(report: dict, config: PipelineConfig, now: dt.datetime, timeout_seconds: int, machine: str) -> None:
    """RUN_STUCK and MAX_DURATION_EXCEEDED from one Query: the unfinished runs created from LOOKBACK before the
    execution timeout up to `sla.maxDuration` ago (a run is created before its trigger), when that is shorter."""
    pipeline_id = config.name
    limit = now - dt.timedelta(seconds=timeout_seconds)
    max_duration = run_duration.limit(config)
    newest = max(limit, now - max_duration) if max_duration else limit
    for run in store.list_unfinished_runs(pipeline_id, (limit - LOOKBACK).timestamp(), newest.timestamp()):
        schedule_id, date = run.get("scheduleID") or DEFAULT_SCHEDULE, run.get("date") or ""
        if run.get("status") in (RunStatus.TRIGGERING, RunStatus.RUNNING) and date:
            _check_duration(report, config, run, now)
        created = parse_moment(run.get("createdAt"))
        if created is not None and created > limit:
            continue
        if not date or store.alert_claimed(pipeline_id, date_alert_key(date, schedule_id), alerts.AlertType.RUN_STUCK):
            continue
        execution = _execution_of(pipeline_id, run)
        described = gate.describe_owner(machine, execution) if execution else None
        execution_status = (described or {}).get("status") or "UNKNOWN"
        _alert(
            report,
            pipeline_id,
            schedule_id,
            date,
            alerts.AlertType.RUN_STUCK,
            alerts.AlertLevel.ERROR,
            f"Run {run.get('runID')} of {pipeline_id} ({schedule_id}, {date}) is still {run.get('status')} since "
            f"{run.get('createdAt')}, longer than the execution timeout ({timeout_seconds}s); execution "
            f"{execution or 'unknown'} is {execution_status}",
            {
                "runID": run.get("runID"),
                "status": run.get("status"),
                "createdAt": run.get("createdAt"),
                "execution": execution or None,
                "executionStatus": execution_status,
            },
        )


def _check_duration(report: dict, config: PipelineConfig, run: dict, now: dt.datetime) -> None:
    schedule_id, date = run.get("scheduleID") or DEFAULT_SCHEDULE, run["date"]
    alert_type = alerts.AlertType.MAX_DURATION_EXCEEDED
    if run_duration.overrun(config, run, now) is None or store.alert_claimed(
        config.name, date_alert_key(date, schedule_id), alert_type
    ):
        return
    sent = run_duration.alert_overrun(config, run, now)
    if sent is not None:
        _report(report, config.name, schedule_id, date, alert_type, sent["published"])


def _execution_of(pipeline_id: str, run: dict) -> str:
    """The execution that works on `run`: the one whose claim names it, else the lock's owner."""
    run_log = store.get_run_log(pipeline_id, run.get("date") or "", run.get("scheduleID") or DEFAULT_SCHEDULE) or {}
    claim = run_log.get("inFlight") if isinstance(run_log.get("inFlight"), dict) else {}
    if claim.get("runID") == run.get("runID") and isinstance(claim.get("execution"), str):
        return claim["execution"]
    lock = store.get_lock(pipeline_id, run.get("scheduleID") or DEFAULT_SCHEDULE) or {}
    return lock.get("owner") if isinstance(lock.get("owner"), str) else ""


def _alert(
    report: dict,
    pipeline_id: str,
    schedule_id: str,
    date: str,
    alert_type: alerts.AlertType,
    level: alerts.AlertLevel,
    message: str,
    details: dict,
) -> bool:
    """Claim the alert for (pipeline, schedule, date, type), record its event and publish it. Whether it was
    claimed now."""
    if not store.claim_alert(pipeline_id, date_alert_key(date, schedule_id), alert_type):
        return False
    store.append_event(pipeline_id, str(alert_type), message=message, details={"scheduleID": schedule_id, **details})
    published = alerts.publish(
        level, alert_type, message, pipeline_id=pipeline_id, schedule_id=schedule_id, date=date, details=details
    )
    _report(report, pipeline_id, schedule_id, date, alert_type, published)
    return True


def _report(
    report: dict, pipeline_id: str, schedule_id: str, date: str, alert_type: alerts.AlertType, published: bool
) -> None:
    report["alerts"].append(
        {
            "alertType": str(alert_type),
            "pipelineID": pipeline_id,
            "scheduleID": schedule_id,
            "date": date,
            "published": published,
        }
    )
