"""The subcommands that read and steer a deployed stack: status, runs, explain, replay, unlock, pause, resume,
fire, alerts. Each returns the document it shows (printed as text, or as JSON with --json); a refusal raises Refused.

Every table read and write goes through handlers/interlock/store.py; what it stores as JSON text comes back
decoded. Step Functions (execution status and names) and Scheduler (schedules) are read with boto3 directly.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json

from handlers.interlock import clients, routing, store
from handlers.interlock.durations import parse_duration
from handlers.interlock.models import DEFAULT_SCHEDULE
from handlers.interlock.schedule_expressions import next_fire

from .stack import StackRef, UsageError, fire_in_emulator

MAX_REPLAY_DATES = 366
WOULD_TRIGGER_LOOKBACK = 200  # newest events searched for a pipeline's last DRY_RUN_WOULD_TRIGGER


class Refused(Exception):
    """The command would be unsafe or names something that does not exist (exit code 1)."""


def _pipeline(pipeline_id: str) -> dict:
    config = store.get_pipeline(pipeline_id)
    if config is None:
        raise Refused(f"pipeline {pipeline_id!r} is not registered in the table")
    return config


def _schedule_ids(config: dict, run_logs: list[dict]) -> list[str]:
    ids = {DEFAULT_SCHEDULE} | {
        s.get("scheduleID") or s.get("id") for s in config.get("schedules") or [] if isinstance(s, dict)
    }
    ids |= {entry.get("scheduleID") or DEFAULT_SCHEDULE for entry in run_logs}
    return sorted(i for i in ids if i)


def _scheduled_markers(ref: StackRef) -> dict[str, list[dict]]:
    """Pipeline -> the Scheduler schedules that write its markers (expression, time zone, state)."""
    if not ref.schedule_group:
        return {}
    scheduler = clients.client("scheduler")
    found: dict[str, list[dict]] = {}
    for summary in scheduler.list_schedules(GroupName=ref.schedule_group).get("Schedules", []):
        schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=ref.schedule_group)
        try:
            item = json.loads(schedule["Target"].get("Input") or "{}").get("Item", {})
        except ValueError:
            continue
        pipeline = store.pipeline_id_of(item.get("PK", {}).get("S", ""))
        if pipeline:
            found.setdefault(pipeline, []).append(
                {
                    "schedule": schedule["Name"],
                    "expression": schedule["ScheduleExpression"],
                    "timezone": schedule.get("ScheduleExpressionTimezone") or "UTC",
                    "state": schedule.get("State"),
                    "nextFireTime": _next_fire(schedule),
                }
            )
    return found


def _next_fire(schedule: dict) -> str | None:
    """When the schedule writes its next marker (RFC 3339 UTC); None when disabled or never again."""
    if schedule.get("State") == "DISABLED":
        return None
    moment = next_fire(
        schedule["ScheduleExpression"],
        schedule.get("ScheduleExpressionTimezone") or "UTC",
        start=schedule.get("StartDate") or schedule.get("CreationDate"),
        end=schedule.get("EndDate"),
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _dry_run(ref: StackRef, config: dict) -> str | None:
    """Who puts the pipeline in dry run: "stack" (when the stack's setting is known, see StackRef), "pipeline", or
    None."""
    if ref.dry_run:
        return "stack"
    return "pipeline" if config.get("dryRun") is True else None


def _would_trigger(event: dict) -> dict:
    details = event.get("details") or {}
    return {
        "timestamp": event.get("timestamp"),
        "date": details.get("date"),
        "scheduleID": details.get("scheduleID"),
        "dryRunBy": details.get("dryRunBy"),
        "target": (details.get("request") or {}).get("target"),
        "error": details.get("error"),
    }


def _last_would_trigger(pipeline_id: str) -> dict | None:
    events = store.list_events(pipeline_id, limit=WOULD_TRIGGER_LOOKBACK)
    found = [e for e in events if e.get("kind") == "DRY_RUN_WOULD_TRIGGER"]
    return _would_trigger(found[-1]) if found else None


def status(ref: StackRef) -> list[dict]:
    scheduled = _scheduled_markers(ref)
    rows = []
    for config in sorted(store.list_pipelines(), key=lambda c: c.get("name", "")):
        name = config["name"]
        logs = store.list_run_logs(name, limit=50)
        schedules = []
        for schedule_id in _schedule_ids(config, logs):
            last = next((e for e in logs if (e.get("scheduleID") or DEFAULT_SCHEDULE) == schedule_id), None)
            lock = store.get_lock(name, schedule_id)
            schedules.append(
                {
                    "scheduleID": schedule_id,
                    "lastRun": {k: last.get(k) for k in ("date", "status", "attemptNumber", "runID", "updatedAt")}
                    if last
                    else None,
                    "lockHolder": {"owner": lock.get("owner"), "acquiredAt": lock.get("acquiredAt")} if lock else None,
                }
            )
        rows.append(
            {
                "pipeline": name,
                "archetype": config.get("archetype"),
                "paused": store.get_pause(name),
                "dryRun": _dry_run(ref, config),
                "lastWouldTrigger": _last_would_trigger(name),
                "schedules": schedules,
                "scheduledMarkers": scheduled.get(name, []),
            }
        )
    return rows


def _in_range(date: str, on: str | None, since: str | None) -> bool:
    return (on is None or date == on) and (since is None or date >= since)


def runs(pipeline_id: str, on: str | None, since: str | None, limit: int) -> list[dict]:
    _pipeline(pipeline_id)
    return [
        entry for entry in store.list_run_logs(pipeline_id, limit=limit) if _in_range(entry.get("date", ""), on, since)
    ]


def _executions(ref: StackRef, pipeline_id: str, schedule_id: str, date: str) -> list[dict]:
    """The executions started for (pipeline, schedule, date), newest first, by the name the stream-router gives."""
    if not ref.state_machine_arn:
        return []
    prefix = routing.execution_name(pipeline_id, schedule_id, date, "").rsplit("_", 1)[0] + "_"
    sfn = clients.client("stepfunctions")
    found = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=ref.state_machine_arn):
        for execution in page["executions"]:
            if execution["name"].startswith(prefix):
                found.append(
                    {
                        "name": execution["name"],
                        "status": execution["status"],
                        "startDate": execution["startDate"].isoformat(),
                        "link": ref.console_link(execution["executionArn"]),
                    }
                )
    return found


def explain(ref: StackRef, pipeline_id: str, date: str, schedule_id: str) -> dict:
    config = _pipeline(pipeline_id)
    entry = store.get_run_log(pipeline_id, date, schedule_id)
    run_ids = {h.get("runID") for h in (entry or {}).get("retryHistory") or []} | {(entry or {}).get("runID")}
    run_ids.discard(None)
    run_ids.discard("")
    events = [
        e
        for e in store.list_events(pipeline_id, limit=500)
        if e.get("runID") in run_ids or (e.get("details") or {}).get("date") == date
    ]
    readiness = [e for e in events if e.get("kind") == "READINESS_CHECKED"]
    run = store.get_run(entry["runID"]) if entry and entry.get("runID") else None
    claims = [
        c
        for c in store.list_alert_claims(pipeline_id)
        if c["runKey"] in run_ids or c["runKey"] == f"{date}#{schedule_id}"
    ]
    return {
        "pipeline": pipeline_id,
        "date": date,
        "scheduleID": schedule_id,
        "paused": store.get_pause(pipeline_id),
        "dryRun": _dry_run(ref, config),
        "wouldTrigger": [
            _would_trigger(e)
            for e in events
            if e.get("kind") == "DRY_RUN_WOULD_TRIGGER" and (e.get("details") or {}).get("scheduleID") == schedule_id
        ],
        "runLog": entry,
        "runState": run,
        "traits": [
            {k: t.get(k) for k in ("traitType", "status", "reason", "value", "evaluatedAt")}
            for t in store.list_trait_results(pipeline_id)
        ],
        "blocking": ((readiness[-1].get("details") or {}).get("blocking") or []) if readiness else [],
        "sla": {
            "configured": config.get("sla") or {},
            "breaches": [e for e in events if e.get("kind") == "SLA_BREACHED"],
            "alerts": claims,
        },
        "attempts": (entry or {}).get("retryHistory") or [],
        "lock": store.get_lock(pipeline_id, schedule_id),
        "events": events,
        "executions": _executions(ref, pipeline_id, schedule_id, date),
    }


def _dates(start: str, end: str | None) -> list[str]:
    first = dt.date.fromisoformat(start)
    last = dt.date.fromisoformat(end) if end else first
    if last < first:
        raise Refused(f"--to {end} is before --date {start}")
    count = (last - first).days + 1
    if count > MAX_REPLAY_DATES:
        raise Refused(f"{count} dates requested; replay at most {MAX_REPLAY_DATES} at a time")
    return [(first + dt.timedelta(days=n)).isoformat() for n in range(count)]


def replay(pipeline_id: str, start: str, end: str | None, schedule_id: str, dry_run: bool) -> list[dict]:
    """One replay marker per date (a backfill); each marker key is unique, so each starts its own execution."""
    _pipeline(pipeline_id)
    written = []
    for date in _dates(start, end):
        key = (
            None
            if dry_run
            else store.write_marker(pipeline_id, schedule_id=schedule_id, date=date, source="replay", replay=True)
        )
        written.append({"date": date, "scheduleID": schedule_id, "markerKey": key, "dryRun": dry_run})
    return written


def _execution_status(ref: StackRef, owner: str) -> str | None:
    """Status of the execution named `owner` (the lock owner is the execution's name); None when unknown."""
    if not ref.state_machine_arn:
        return None
    arn = ref.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + owner
    try:
        return clients.client("stepfunctions").describe_execution(executionArn=arn)["status"]
    except Exception as exc:  # botocore's ClientError
        if clients.error_code(exc) == "ExecutionDoesNotExist":
            return "NOT_FOUND"
        raise


def unlock(ref: StackRef, pipeline_id: str, schedule_id: str, force: bool) -> dict:
    lock = store.get_lock(pipeline_id, schedule_id)
    if lock is None:
        return {"pipeline": pipeline_id, "scheduleID": schedule_id, "released": False, "reason": "not locked"}
    owner = lock["owner"]
    owner_status = _execution_status(ref, owner)
    if not force and owner_status in ("RUNNING", None):
        why = (
            "is still RUNNING"
            if owner_status == "RUNNING"
            else "cannot be checked (no state machine ARN: pass --state-machine-arn)"
        )
        raise Refused(
            f"lock of {pipeline_id}/{schedule_id} is held by execution {owner}, which {why}; "
            "use --force to release it anyway"
        )
    released = store.release_lock_recorded(
        pipeline_id,
        schedule_id,
        owner,
        "LOCK_RELEASED_BY_OPERATOR",
        f"released by {_operator()}",
        {"ownerStatus": owner_status, "forced": force},
    )
    return {
        "pipeline": pipeline_id,
        "scheduleID": schedule_id,
        "released": released,
        "owner": owner,
        "ownerStatus": owner_status,
    }


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def pause(pipeline_id: str, reason: str) -> dict:
    _pipeline(pipeline_id)
    record = store.pause_pipeline(pipeline_id, reason=reason, by=_operator())
    store.append_event(pipeline_id, "PIPELINE_PAUSED", message=reason or None, details={"by": record["pausedBy"]})
    return record


def resume(pipeline_id: str) -> dict:
    _pipeline(pipeline_id)
    resumed = store.resume_pipeline(pipeline_id)
    if resumed:
        store.append_event(pipeline_id, "PIPELINE_RESUMED", details={"by": _operator()})
    return {"pipeline": pipeline_id, "resumed": resumed, **({} if resumed else {"reason": "not paused"})}


def fire(ref: StackRef, name: str) -> dict:
    """Fire a schedule now in a running emulator, as EventBridge Scheduler does when it is due."""
    if not ref.emulated:
        raise UsageError(
            "fire works against a running `python -m emulator serve` (AWS_ENDPOINT_URL or --endpoint-url); on AWS, "
            "EventBridge Scheduler fires the schedules itself: to run a date now, use `interlock replay`"
        )
    status, answer = fire_in_emulator(ref.endpoint_url, name)
    if status != 200:
        raise Refused(answer.get("error") or f"the emulator answered {status}")
    return {"schedule": name, **answer}


def since_moment(text: str | None) -> str | None:
    """`--since` as a sortable RFC 3339 UTC prefix: a date, a timestamp, or a duration back from now (`24h`)."""
    if not text:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError:
        return text
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def alerts(ref: StackRef, since: str | None, pipeline_id: str | None) -> list[dict]:
    """Alerts since a moment: the archived alert documents when the stack has a data bucket, else the alert
    claims in the table (the once-per-run alerts: SLA breaches, validation timeouts, drift)."""
    since = since_moment(since)
    if ref.data_bucket:
        found = _archived_alerts(ref.data_bucket, pipeline_id)
    else:
        pipelines = [pipeline_id] if pipeline_id else [c["name"] for c in store.list_pipelines()]
        found = [
            dict(claim, timestamp=claim.pop("claimedAt")) for p in pipelines for claim in store.list_alert_claims(p)
        ]
    found = [a for a in found if since is None or (a.get("timestamp") or "") >= since]
    return sorted(found, key=lambda a: a.get("timestamp") or "")


def _archived_alerts(bucket: str, pipeline_id: str | None) -> list[dict]:
    s3 = clients.client("s3")
    documents = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="alerts/"):
        for obj in page.get("Contents", []):
            if pipeline_id and f"/{pipeline_id}/" not in obj["Key"]:
                continue
            documents.append(json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
    return documents
