"""What the state machine cannot do for itself: clean up after an execution that ended ABORTED, TIMED_OUT or
FAILED (the reconciler Lambda, on Step Functions "Execution Status Change" events).

For one such end: when the execution still owns its (pipeline, schedule) lock, the attempt it was running is
recorded FAILED in the date's run log (unless the date already COMPLETED) and the lock is released; then one alert
per execution goes out (EXECUTION_ABORTED, EXECUTION_TIMED_OUT, EXECUTION_FAILED) with an event of the same kind.
A FAILED execution whose error is one of the state machine's own Fail states (`Interlock.*`) logged, alerted and
released what it had before failing: nothing is left to do. Every step is safe to repeat: EventBridge may deliver
an event again, and a failed invocation is retried.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from .. import alerts, invocation, schedule, store
from ..models import DEFAULT_SCHEDULE, PIPELINE_ID_PATTERN, SCHEDULE_ID_PATTERN, FailureCategory, RunStatus
from .common import MAX_MESSAGE_CHARS, MAX_RETRY_HISTORY, move_run

STATUS_CHANGE = "Step Functions Execution Status Change"
ENDS = {
    "ABORTED": (FailureCategory.PERMANENT, alerts.AlertType.EXECUTION_ABORTED, alerts.AlertLevel.WARNING),
    "TIMED_OUT": (FailureCategory.TIMEOUT, alerts.AlertType.EXECUTION_TIMED_OUT, alerts.AlertLevel.ERROR),
    "FAILED": (FailureCategory.PERMANENT, alerts.AlertType.EXECUTION_FAILED, alerts.AlertLevel.ERROR),
}
HANDLED_ERROR_PREFIX = "Interlock."  # the Error of the state machine's own Fail states
MAX_CAUSE_CHARS = 500


@dataclass(frozen=True)
class ExecutionEnd:
    name: str
    arn: str
    status: str
    pipeline_id: str
    schedule_id: str
    date: str
    started_at: str
    error: str
    cause: str

    @property
    def handled(self) -> bool:
        """The execution ended in one of its own Fail states, after recording and alerting its failure."""
        return self.status == "FAILED" and self.error.startswith(HANDLED_ERROR_PREFIX)


def parse_execution_end(event: object) -> tuple[ExecutionEnd | None, str]:
    """The execution end an EventBridge event reports, or (None, why it is not one to reconcile)."""
    event = invocation.fields(event)
    detail = invocation.mapping(event, "detail")
    status = invocation.text(detail, "status")
    if invocation.text(event, "detail-type") != STATUS_CHANGE or status not in ENDS:
        return None, f"not an abnormal execution end: {invocation.text(event, 'detail-type')!r} {status!r}"
    try:
        execution_input = json.loads(invocation.text(detail, "input") or "{}")
    except ValueError:
        execution_input = {}
    execution_input = invocation.fields(execution_input)
    pipeline_id = invocation.text(execution_input, "pipelineID")
    schedule_id = invocation.text(execution_input, "scheduleID") or DEFAULT_SCHEDULE
    if not PIPELINE_ID_PATTERN.match(pipeline_id) or not SCHEDULE_ID_PATTERN.match(schedule_id):
        return None, f"execution input names no valid pipeline and schedule: {pipeline_id!r} {schedule_id!r}"
    started = detail.get("startDate")
    started_at = (
        dt.datetime.fromtimestamp(started / 1000, dt.UTC)
        if isinstance(started, (int, float)) and not isinstance(started, bool)
        else schedule.now_utc()
    )
    date = invocation.text(execution_input, "date") or started_at.date().isoformat()
    try:
        schedule.parse_date(date)
    except ValueError:
        return None, f"execution input has an invalid date: {date!r}"
    return ExecutionEnd(
        name=invocation.text(detail, "name"),
        arn=invocation.text(detail, "executionArn"),
        status=status,
        pipeline_id=pipeline_id,
        schedule_id=schedule_id,
        date=date,
        started_at=schedule.rfc3339(started_at),
        error=invocation.text(detail, "error"),
        cause=invocation.text(detail, "cause")[:MAX_CAUSE_CHARS],
    ), ""


def reconcile(end: ExecutionEnd) -> dict:
    """Record, release and alert for one abnormal end (see the module docstring). Returns what was done."""
    outcome: dict[str, Any] = {
        "execution": end.name,
        "status": end.status,
        "handled": end.handled,
        "runLogRecorded": False,
        "lockReleased": False,
        "alerted": False,
    }
    if end.handled or not end.name:
        return outcome
    category, alert_type, level = ENDS[end.status]
    lock = store.get_lock(end.pipeline_id, end.schedule_id)
    if lock is not None and lock.get("owner") == end.name:
        outcome["runLogRecorded"] = _record_failure(end, category)
        outcome["lockReleased"] = store.release_lock(end.pipeline_id, end.schedule_id, end.name)
    if store.claim_alert(end.pipeline_id, end.name, alert_type):
        message = _message(end, outcome)
        details = {
            "execution": end.name,
            "executionArn": end.arn,
            "status": end.status,
            "error": end.error or None,
            "cause": end.cause or None,
            "lockReleased": outcome["lockReleased"],
            "runLogRecorded": outcome["runLogRecorded"],
        }
        store.append_event(end.pipeline_id, str(alert_type), status=end.status, message=message, details=details)
        outcome["alerted"] = alerts.publish_about(end, level, alert_type, message, details)
    return outcome


def _message(end: ExecutionEnd, outcome: dict) -> str:
    what = {"ABORTED": "was stopped", "TIMED_OUT": "timed out", "FAILED": "failed"}[end.status]
    text = f"Execution {end.name} of {end.pipeline_id} ({end.schedule_id}, {end.date}) {what}"
    if end.error:
        text += f" ({end.error})"
    if outcome["lockReleased"]:
        text += "; its lock was released"
    if outcome["runLogRecorded"]:
        text += " and the attempt recorded as failed"
    elif not outcome["lockReleased"]:
        text += "; it held no lock"
    return text


def _record_failure(end: ExecutionEnd, category: str) -> bool:
    """Record the attempt the execution was running as FAILED, once per execution. The claimed attempt
    (`inFlight` of this execution) is kept for the next execution to reconcile; a COMPLETED date is left as it is."""
    logged_at = schedule.rfc3339(schedule.now_utc())
    message = f"execution {end.name} ended {end.status}" + (f": {end.error}" if end.error else "")
    message += f" {end.cause}" if end.cause else ""
    message = message[:MAX_MESSAGE_CHARS]
    recorded: dict = {}

    def entry_for(current: dict | None) -> dict | None:
        current = current or {}
        history = [h for h in current.get("retryHistory") or [] if isinstance(h, dict)]
        if current.get("status") == RunStatus.COMPLETED or any(h.get("execution") == end.name for h in history):
            return None
        in_flight = current.get("inFlight")
        in_flight = in_flight if isinstance(in_flight, dict) and in_flight.get("execution") == end.name else {}
        attempt = in_flight.get("attempt")
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt <= 0:
            attempt = int(current.get("attemptNumber") or 0) + 1
        run_id = in_flight.get("runID") if isinstance(in_flight.get("runID"), str) else ""
        recorded.update(runID=run_id, attempt=attempt, claimed=bool(in_flight))
        return {
            **current,
            "pipelineID": end.pipeline_id,
            "date": end.date,
            "scheduleID": end.schedule_id,
            "status": RunStatus.FAILED,
            "attemptNumber": attempt,
            "runID": run_id,
            "failureMessage": message,
            "failureCategory": category,
            "startedAt": end.started_at,
            "updatedAt": logged_at,
            "alertSent": True,
            "retryHistory": (
                [
                    *history,
                    {
                        "attempt": attempt,
                        "status": RunStatus.FAILED,
                        "runID": run_id,
                        "failureMessage": message,
                        "failureCategory": category,
                        "startedAt": end.started_at,
                        "completedAt": logged_at,
                        "execution": end.name,
                    },
                ]
            )[-MAX_RETRY_HISTORY:],
        }

    if store.record_execution_end(end.pipeline_id, end.date, end.schedule_id, entry_for) is None:
        return False
    if not recorded["claimed"]:  # a claimed run's job may still run: the next execution adopts it (DESIGN §10.0)
        move_run(
            recorded["runID"] or None,
            [RunStatus.FAILED, RunStatus.CANCELLED],
            {"failureMessage": message, "failureCategory": category},
        )
    store.append_event(
        end.pipeline_id,
        "RUN_STATE_CHANGED",
        run_id=recorded["runID"] or None,
        status=RunStatus.FAILED,
        message=message,
        details={"attemptNumber": recorded["attempt"], "failureCategory": category, "execution": end.name},
    )
    return True
