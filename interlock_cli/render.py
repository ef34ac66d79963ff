"""Plain-text views of the subcommands' documents (aligned columns; nested data shown decoded as JSON)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(", ", ": "))


def validation_document(report) -> dict:
    return {
        "valid": not report.problems,
        "problems": [{"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in report.problems],
        "pipelines": report.pipelines,
        "archetypes": report.archetypes,
        "calendars": report.calendars,
        "stackFile": report.stack_file,
    }


def validation_text(report) -> str:
    lines = [str(p) for p in report.problems]
    checked = (
        f"{len(report.pipelines)} pipelines, {len(report.archetypes)} archetypes, "
        f"{len(report.calendars)} calendars" + (f", stack file {report.stack_file}" if report.stack_file else "")
    )
    if report.problems:
        lines.append(f"invalid: {len(report.problems)} problem(s) ({checked} checked)")
    else:
        lines.append(f"valid: {checked}")
    return "\n".join(lines)


def status_text(rows: list[dict]) -> str:
    if not rows:
        return "no pipelines registered"
    out, dry_runs = [], []
    for row in rows:
        if row.get("dryRun") or row.get("lastWouldTrigger"):
            dry_runs.append(f"{row['pipeline']}: {dry_run_text(row.get('dryRun'), row.get('lastWouldTrigger'))}")
        for schedule in row["schedules"]:
            last = schedule["lastRun"] or {}
            lock = schedule["lockHolder"] or {}
            markers = row["scheduledMarkers"]
            out.append(
                [
                    row["pipeline"],
                    schedule["scheduleID"],
                    "yes" if row["paused"] else "no",
                    row.get("dryRun") or "no",
                    last.get("date"),
                    last.get("status"),
                    last.get("attemptNumber"),
                    lock.get("owner") or "-",
                    "; ".join(next_marker(m) for m in markers) or "-",
                ]
            )
    headers = ["PIPELINE", "SCHEDULE", "PAUSED", "DRY RUN", "LAST DATE", "STATUS", "ATTEMPT", "LOCK HOLDER"]
    return "\n".join([table([*headers, "NEXT MARKER"], out), *dry_runs])


def dry_run_text(dry_run: str | None, would: dict | None) -> str:
    """`dry run (pipeline); last would-trigger 2026-03-03 (daily) at ...: glue:StartJobRun`."""
    head = f"dry run ({dry_run})" if dry_run else "not in dry run"
    if not would:
        return f"{head}; no would-trigger recorded yet"
    return f"{head}; last would-trigger {would['date']} ({would['scheduleID']}) at {would_text(would)}"


def would_text(would: dict) -> str:
    """`<timestamp>: <target>`, or what the start would have failed with."""
    what = f"would have failed: {would['error']}" if would.get("error") else would.get("target")
    return f"{would['timestamp']}: {what}"


def next_marker(marker: dict) -> str:
    """`2026-05-02 08:00 CEST (cron(0 8 * * ? *) Europe/Paris)`: the next fire time in the schedule's zone."""
    source = f"({marker['expression']} {marker['timezone']})"
    if marker.get("state") == "DISABLED":
        return f"disabled {source}"
    if not marker.get("nextFireTime"):
        return f"none {source}"
    moment = dt.datetime.fromisoformat(marker["nextFireTime"].replace("Z", "+00:00"))
    return f"{moment.astimezone(zoneinfo.ZoneInfo(marker['timezone'])):%Y-%m-%d %H:%M %Z} {source}"


def runs_text(entries: list[dict]) -> str:
    if not entries:
        return "no runs"
    return table(
        ["DATE", "SCHEDULE", "STATUS", "ATTEMPT", "RUN", "ALERT", "UPDATED", "FAILURE"],
        [
            [
                e.get("date"),
                e.get("scheduleID"),
                e.get("status"),
                e.get("attemptNumber"),
                e.get("runID"),
                "sent" if e.get("alertSent") else "-",
                e.get("updatedAt"),
                f"{e.get('failureCategory')}: {e.get('failureMessage')}" if e.get("failureCategory") else "",
            ]
            for e in entries
        ],
    )


def explain_text(doc: dict) -> str:
    log = doc["runLog"]
    lines = [f"{doc['pipeline']} {doc['date']} ({doc['scheduleID']})"]
    if doc["paused"]:
        lines.append(f"PAUSED since {doc['paused'].get('pausedAt')}: {doc['paused'].get('reason') or 'no reason'}")
    if doc.get("dryRun"):
        lines.append(f"DRY RUN ({doc['dryRun']}): runs record what they would trigger; no job, no run log")
    lines += [f"would trigger ({w['dryRunBy']}) at {would_text(w)}" for w in doc.get("wouldTrigger") or []]
    if log is None:
        lines.append("run log: none (no run reached the lock for this date)")
    else:
        lines.append(
            f"run log: {log.get('status')}, attempt {log.get('attemptNumber')}, run {log.get('runID')}, "
            f"alert {'sent' if log.get('alertSent') else 'not sent'}, updated {log.get('updatedAt')}"
        )
        if log.get("failureCategory"):
            lines.append(f"  failure: {log['failureCategory']}: {log.get('failureMessage')}")
    if doc["runState"]:
        lines.append(f"run state: {doc['runState'].get('status')} (version {doc['runState'].get('version')})")
    lines.append("traits (latest results):")
    lines += [
        f"  {t['traitType']}: {t['status']}" + (f" - {t['reason']}" if t.get("reason") else "") for t in doc["traits"]
    ] or ["  none"]
    lines.append(f"blocking: {', '.join(doc['blocking']) or 'none'}")
    sla = doc["sla"]
    lines.append(
        f"sla: {compact(sla['configured']) if sla['configured'] else 'none configured'}; "
        f"breaches: {len(sla['breaches'])}; alerts: "
        f"{', '.join(a['alertType'] for a in sla['alerts']) or 'none'}"
    )
    lines.append(f"attempts: {len(doc['attempts'])}")
    lines += [
        (
            f"  #{a.get('attempt')} {a.get('status')} {a.get('failureCategory') or ''} {a.get('completedAt') or ''}"
        ).rstrip()
        for a in doc["attempts"]
    ]
    if doc["lock"]:
        lines.append(f"lock: held by {doc['lock'].get('owner')} since {doc['lock'].get('acquiredAt')}")
    lines.append("executions:")
    lines += [f"  {e['status']} {e['startDate']} {e['link']}" for e in doc["executions"]] or ["  none found"]
    lines.append("events:")
    lines += [
        f"  {e.get('timestamp')} {e.get('kind')}"
        + (f" {e['status']}" if e.get("status") else "")
        + (f" - {e['message']}" if e.get("message") else "")
        + (f" {compact(e['details'])}" if e.get("details") else "")
        for e in doc["events"]
    ] or ["  none"]
    return "\n".join(lines)


def replay_text(pipeline: str, markers: list[dict]) -> str:
    verb = "would write" if markers and markers[0]["dryRun"] else "wrote"
    return "\n".join(
        f"{pipeline} {m['date']} ({m['scheduleID']}): {verb} replay marker"
        + (f" {m['markerKey']}" if m["markerKey"] else "")
        for m in markers
    )


def unlock_text(result: dict) -> str:
    where = f"{result['pipeline']}/{result['scheduleID']}"
    if result.get("reason") == "not locked":
        return f"{where}: not locked"
    if not result["released"]:
        return f"{where}: the lock changed hands meanwhile; nothing released"
    return f"{where}: released the lock of {result['owner']} (execution {result['ownerStatus'] or 'unknown'})"


def alerts_text(found: list[dict]) -> str:
    if not found:
        return "no alerts"
    return table(
        ["TIME", "PIPELINE", "TYPE", "RUN/DATE", "MESSAGE"],
        [
            [
                a.get("timestamp"),
                a.get("pipelineID"),
                a.get("alertType"),
                a.get("runID") or a.get("runKey") or a.get("date"),
                a.get("message") or "",
            ]
            for a in found
        ],
    )
