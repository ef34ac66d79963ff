"""Alerts to the SNS topic: one JSON message per alert, with message attributes for subscription filters.

The message has the same shape as the state machine's BuildErrorAlert:
`{level, alertType, pipelineID, scheduleID, date, runID, message, details, timestamp}`.
Publishing is best effort: a failure is logged and reported as False, never raised. When the stack has a data
bucket (DATA_BUCKET), every alert is also archived there as `alerts/<date>/<pipelineID>/<timestamp>-<type>-<id>.json`.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from typing import Any, Protocol

from . import clients, schedule, settings
from .log import logger
from .models import NamedEnum


class AlertLevel(enum.StrEnum):
    ERROR = enum.auto()
    WARNING = enum.auto()
    INFO = enum.auto()


class AlertType(NamedEnum):
    EXECUTION_ERROR = enum.auto()  # state machine: a task failed unexpectedly
    PIPELINE_ERROR = enum.auto()  # orchestrator result "error" (config/business error)
    RUN_FAILED = enum.auto()  # a run failed and will not be retried
    EVALUATION_SLA_BREACHED = enum.auto()
    COMPLETION_SLA_BREACHED = enum.auto()
    VALIDATION_TIMEOUT = enum.auto()
    TRAIT_DRIFT = enum.auto()
    TRIGGER_FAILED = enum.auto()  # trigger Lambda
    EXECUTION_ABORTED = enum.auto()  # reconciler: an execution was stopped
    EXECUTION_TIMED_OUT = enum.auto()  # reconciler: an execution reached its TimeoutSeconds
    EXECUTION_FAILED = enum.auto()  # reconciler: an execution failed with an error it could not catch
    REQUEST_REFUSED = enum.auto()  # acquireLock: the lock stayed busy for as long as a marker may wait
    RERUN_LIMIT_REACHED = enum.auto()  # a replay or drift rerun refused: retry.maxReruns reached
    SCHEDULE_MISSED = enum.auto()  # watchdog: a schedule's marker did not arrive after its scheduled time
    SLA_WARNING = enum.auto()  # watchdog: sla.warnBefore before a completion deadline, the date not completed
    RUN_STUCK = enum.auto()  # watchdog: a run state not terminal for longer than the execution timeout
    MAX_DURATION_EXCEEDED = enum.auto()  # watchdog: a run took longer than sla.maxDuration from its trigger


def build(
    level: str,
    alert_type: str,
    message: str,
    *,
    pipeline_id: str,
    schedule_id: str | None = None,
    date: str | None = None,
    run_id: str | None = None,
    details: dict | None = None,
) -> dict:
    """The alert document (every key present; null when unknown), with the envelope of an AWS Chatbot custom
    notification (`version`, `source`, `content`, `metadata`) so Slack and Teams channels render it."""
    level = level if level in tuple(AlertLevel) else AlertLevel.ERROR
    return {
        "level": level,
        "alertType": alert_type,
        "pipelineID": pipeline_id,
        "scheduleID": schedule_id,
        "date": date,
        "runID": run_id,
        "message": message,
        "details": details or {},
        "timestamp": schedule.rfc3339(schedule.now_utc()),
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": f"Interlock {level}: {alert_type} {pipeline_id}",
            "description": message,
        },
        "metadata": {"threadId": f"{pipeline_id}/{schedule_id or '-'}/{date or '-'}", "eventType": alert_type},
    }


def _subject(alert: dict) -> str:
    text = f"[interlock] {alert['level']} {alert['alertType']} {alert['pipelineID']}"
    return re.sub(r"[^\x20-\x7e]", "?", text)[:99]  # SNS: printable ASCII, < 100 characters


def publish(level: str, alert_type: str, message: str, **about: Any) -> bool:
    """Publish one alert to SNS_TOPIC_ARN (`about`: what it is about, as `build` takes it: `pipeline_id`, ...).
    Returns whether it was published."""
    alert = build(level, alert_type, message, **about)
    body = json.dumps(alert, default=str)
    _archive(alert, body)
    topic = settings.get().sns_topic_arn
    if not topic:
        logger().warning("alert not published: SNS_TOPIC_ARN not set", extra={"alertType": alert_type})
        return False
    try:
        clients.client("sns").publish(
            TopicArn=topic,
            Subject=_subject(alert),
            Message=body,
            MessageAttributes={
                "level": {"DataType": "String", "StringValue": alert["level"]},
                "alertType": {"DataType": "String", "StringValue": alert_type},
                "pipelineID": {"DataType": "String", "StringValue": alert["pipelineID"] or "-"},
            },
        )
    except Exception as exc:  # best effort by contract: an alert must never break the lifecycle
        logger().error("alert publish failed", extra={"alertType": alert_type, "error": str(exc)})
        return False
    return True


class Subject(Protocol):
    """What an alert is about: a record that names a pipeline's run (a request, an execution end, a run)."""

    @property
    def pipeline_id(self) -> str: ...
    @property
    def schedule_id(self) -> str: ...
    @property
    def date(self) -> str: ...


def publish_about(
    subject: Subject,
    level: str,
    alert_type: str,
    message: str,
    details: dict | None = None,
    *,
    run_id: str | None = None,
) -> bool:
    """`publish` an alert about `subject`'s pipeline, schedule and date (and `run_id`, when the run has one)."""
    return publish(
        level,
        alert_type,
        message,
        pipeline_id=subject.pipeline_id,
        schedule_id=subject.schedule_id,
        date=subject.date,
        run_id=run_id,
        details=details,
    )


def _archive(alert: dict, body: str) -> None:
    """Keep a copy of the alert in the data bucket, if the stack has one; best effort like publishing."""
    bucket = settings.get().data_bucket
    if not bucket:
        return
    stamp = alert["timestamp"].replace(":", "").replace("-", "")
    key = (
        f"alerts/{alert['date'] or schedule.today_utc()}/{alert['pipelineID'] or '-'}/"
        f"{stamp}-{alert['alertType']}-{uuid.uuid4().hex[:8]}.json"
    )
    try:
        clients.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
    except Exception as exc:  # best effort by contract, as for SNS
        logger().error("alert archive failed", extra={"alertType": alert["alertType"], "error": str(exc)})
