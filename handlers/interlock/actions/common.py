"""What the orchestrator actions share: the request, the outcome, loading a pipeline, alerting once per run,
moving run state tolerantly, and recording a result in the run log."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .. import alerts, archetypes, metrics, retry, schedule, settings, store
from ..log import logger
from ..models import (
    DEFAULT_SCHEDULE,
    ConfigError,
    FailureCategory,
    PipelineConfig,
    Result,
    RetryPolicy,
    RunStatus,
    can_transition,
    is_terminal,
)
from ..pipelines import parse_pipeline

MAX_MESSAGE_CHARS = 1000
MAX_RETRY_HISTORY = 20


class Problem(Exception):
    """A business or configuration error: the action answers `error` (never a Lambda failure)."""


@dataclass(frozen=True)
class Request:
    action: str
    pipeline_id: str
    schedule_id: str
    date: str
    payload: dict
    execution: str = ""  # the execution's name (the lock owner), as the state machine sends it
    budget: float | None = None  # seconds the invocation may still spend on outside calls (None: no Lambda context)
    # What this invocation has read (the pipeline config, the archetype), shared by the steps of a merged action.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def run_date(self) -> dt.date:
        return dt.date.fromisoformat(self.date)

    @property
    def run_id(self) -> str | None:
        value = self.payload.get("runID")
        return value if isinstance(value, str) and value else None

    def step(self, action: str, payload: dict) -> Request:
        """The request of one step of a merged action: same run, same memo."""
        return dataclasses.replace(self, action=action, payload=payload)


@dataclass
class ActionOutcome:
    result: str
    payload: dict = field(default_factory=dict)
    document: dict | None = None  # prepareRun: the execution's state document the answer is part of


def proceed(**payload: Any) -> ActionOutcome:
    return ActionOutcome(Result.PROCEED, payload)


def skip(reason: str, **payload: Any) -> ActionOutcome:
    return ActionOutcome(Result.SKIP, {"reason": reason, **payload})


def load_pipeline(req: Request) -> PipelineConfig:
    """The pipeline's stored config, read at most once per invocation (the request's memo)."""
    if "config" not in req.memo:
        try:
            req.memo["config"] = _read_pipeline(req.pipeline_id)
        except Problem as exc:
            req.memo["config"] = exc
    found = req.memo["config"]
    if isinstance(found, Problem):
        raise found
    return found


def _read_pipeline(pipeline_id: str) -> PipelineConfig:
    data = store.get_pipeline(pipeline_id)
    if data is None:
        raise Problem(f'pipeline "{pipeline_id}" not found')
    try:
        return parse_pipeline(data, source=f"pipeline {pipeline_id}")
    except ConfigError as exc:
        raise Problem(str(exc)) from exc


def load_archetype(req: Request, config: PipelineConfig) -> archetypes.Archetype:
    """The pipeline's archetype, loaded at most once per invocation."""
    if "archetype" not in req.memo:
        req.memo["archetype"] = _read_archetype(config)
    return req.memo["archetype"]


def _read_archetype(config: PipelineConfig) -> archetypes.Archetype:
    directory = settings.get().archetype_dir
    try:
        registry = archetypes.load_dir(directory)
    except ConfigError as exc:
        raise Problem(f"loading archetypes from {directory}: {exc}") from exc
    arch = registry.get(config.archetype)
    if arch is None:
        raise Problem(f'archetype "{config.archetype}" not found in {directory}')
    return arch


def parse_moment(value: Any) -> dt.datetime | None:
    try:
        return schedule.parse_timestamp(value)
    except ValueError:
        return None


def date_alert_key(date: str, schedule_id: str) -> str:
    """The claim key of alerts about a date and schedule rather than one run (the watchdog's)."""
    return f"{date}#{schedule_id}"


def alert_run_key(req: Request) -> str:
    """What alerts are claimed once per: the run, or without a run ID the date and schedule."""
    return req.run_id or date_alert_key(req.date, req.schedule_id)


def alert_once(
    req: Request, alert_type: alerts.AlertType, level: alerts.AlertLevel, message: str, details: dict | None = None
) -> bool:
    """Publish an alert unless this run (or, without a run ID, this date and schedule) already had one of this
    type. Returns whether it was published now."""
    if not store.claim_alert(req.pipeline_id, alert_run_key(req), alert_type):
        return False
    return alerts.publish_about(req, level, alert_type, message, details, run_id=req.run_id)


def sla_outcome(
    req: Request, deadline: dt.datetime, stage: str, alert_type: alerts.AlertType, message: str
) -> ActionOutcome:
    """`breached` against an SLA deadline; a breach alerts (warning) and records an SLA_BREACHED event for `stage`
    once per run."""
    when = schedule.rfc3339(deadline)
    if not schedule.is_breached(deadline, schedule.now_utc()):
        return proceed(breached=False, deadline=when)
    if alert_type == alerts.AlertType.COMPLETION_SLA_BREACHED and store.alert_claimed(
        req.pipeline_id, date_alert_key(req.date, req.schedule_id), alert_type
    ):  # the watchdog alerted the date's breach before any run of it started
        return proceed(breached=True, deadline=when, alerted=False)
    alerted = alert_once(req, alert_type, alerts.AlertLevel.WARNING, message, {"deadline": when})
    if alerted:
        store.append_event(
            req.pipeline_id, "SLA_BREACHED", run_id=req.run_id, message=stage, details={"deadline": when}
        )
        metrics.emit(
            metrics.SLA_BREACHES,
            pipeline_id=req.pipeline_id,
            schedule_id=req.schedule_id,
            stage=stage,
            runID=req.run_id,
        )
    return proceed(breached=True, deadline=when, alerted=alerted)


def move_run(run_id: str | None, preferred: list[str], metadata: dict | None = None) -> str | None:
    """Move a run to the first of `preferred` that the transition table allows from its current status.

    Tolerant by design: a missing run, an already final run or no allowed target leaves it as it is (logged);
    a lost compare-and-swap re-reads and tries again. Returns the resulting status (None when no run).
    """
    if not run_id:
        return None
    for _ in range(3):
        run = store.get_run(run_id)
        if run is None:
            logger().warning("run state not found", extra={"runID": run_id})
            return None
        current = run["status"]
        if is_terminal(current):
            return current
        target = next((s for s in preferred if can_transition(current, s)), None)
        if target is None:
            logger().warning(
                "run state left unchanged", extra={"runID": run_id, "status": current, "wanted": preferred}
            )
            return current
        try:
            store.transition_run(run_id, target, metadata=metadata, expected_version=run["version"])
        except store.ConcurrentUpdate:
            continue
        return target
    raise store.ConcurrentUpdate(f"run {run_id} kept changing while being finalized")


def record_result(
    req: Request,
    *,
    status: str,
    run_id: str | None,
    message: str,
    category: str | None,
    config: PipelineConfig | None,
    alert: bool = True,
    keep_claim: bool = False,
    existing: dict | None = None,
) -> dict:
    """Write the run log entry for (pipeline, date, schedule), decide on a retry, then finalize the run state.

    The run log is written before the run state moves: it is what the next checkRunLog decides on. The write
    closes the open claim of `run_id` (its job's outcome is known now) unless `keep_claim`: then the job's fate is
    unknown, the claim stays for the next execution to reconcile and that run's state is left as it is.
    Returns the logResult payload `{attemptNumber, retryable, retryBackoffSeconds, loggedAt, status}`.
    """
    logged_at = schedule.rfc3339(schedule.now_utc())
    if existing is None:
        existing = store.get_run_log(req.pipeline_id, req.date, req.schedule_id) or {}
    attempt = int(existing.get("attemptNumber") or 0) + 1
    policy = config.retry_policy if config else RetryPolicy()
    message = (message or "")[:MAX_MESSAGE_CHARS]
    run = store.get_run(run_id) if run_id else None
    entry: dict[str, Any] = {
        "pipelineID": req.pipeline_id,
        "date": req.date,
        "scheduleID": req.schedule_id or DEFAULT_SCHEDULE,
        "status": status,
        "attemptNumber": attempt,
        "runID": run_id or "",
        "retryHistory": list(existing.get("retryHistory") or []),
        "startedAt": (run or {}).get("createdAt") or logged_at,
        "updatedAt": logged_at,
        "alertSent": False,
        "execution": req.execution,
    }
    retryable, backoff = False, 0
    if status == RunStatus.FAILED:
        category = category or FailureCategory.TRANSIENT
        entry.update(failureMessage=message, failureCategory=category)
        entry["retryHistory"] = (
            entry["retryHistory"]
            + [
                {
                    "attempt": attempt,
                    "status": status,
                    "runID": run_id or "",
                    "failureMessage": message,
                    "failureCategory": category,
                    "startedAt": entry["startedAt"],
                    "completedAt": logged_at,
                }
            ]
        )[-MAX_RETRY_HISTORY:]
        retryable = retry.should_retry(policy, category, attempt)
        backoff = retry.calculate_backoff(policy, attempt) if retryable else 0
        if alert and not retryable and category != FailureCategory.VALIDATION_TIMEOUT:
            entry["alertSent"] = alerts.publish_about(
                req,
                alerts.AlertLevel.ERROR,
                alerts.AlertType.RUN_FAILED,
                f"Run failed for {req.pipeline_id} (attempt {attempt} of {policy.max_attempts}, {category}): "
                f"{message or 'no message'}",
                {"failureCategory": category, "attemptNumber": attempt},
                run_id=run_id,
            )
        if category == FailureCategory.VALIDATION_TIMEOUT:  # checkValidationTimeout alerted (once per run)
            entry["alertSent"] = store.alert_claimed(
                req.pipeline_id, alert_run_key(req), alerts.AlertType.VALIDATION_TIMEOUT
            )
    elif status == RunStatus.COMPLETED:
        entry["completedAt"] = logged_at
    claimed = bool(run_id) and (existing.get("inFlight") or {}).get("runID") == run_id
    store.put_run_log(entry, close_claim=claimed and not keep_claim)
    if status == RunStatus.FAILED and not (claimed and keep_claim):
        move_run(
            run_id, [RunStatus.FAILED, RunStatus.CANCELLED], {"failureMessage": message, "failureCategory": category}
        )
    elif status == RunStatus.COMPLETED:
        monitored = [RunStatus.COMPLETED_MONITORING] if config and config.monitoring_enabled else []
        move_run(run_id, [*monitored, RunStatus.COMPLETED])
    _record_events(req, run_id, entry, retryable, backoff, policy)
    if status == RunStatus.COMPLETED or not retryable:  # a failure counts once no retry is left
        metrics.emit(
            metrics.RUNS_COMPLETED if status == RunStatus.COMPLETED else metrics.RUNS_FAILED,
            pipeline_id=req.pipeline_id,
            schedule_id=entry["scheduleID"],
            runID=run_id,
            attempt=attempt,
            category=entry.get("failureCategory"),
        )
    return {
        "attemptNumber": attempt,
        "retryable": retryable,
        "retryBackoffSeconds": backoff,
        "loggedAt": logged_at,
        "status": status,
    }


def _record_events(
    req: Request, run_id: str | None, entry: dict, retryable: bool, backoff: int, policy: RetryPolicy
) -> None:
    attempt, category = entry["attemptNumber"], entry.get("failureCategory")
    store.append_event(
        req.pipeline_id,
        "RUN_STATE_CHANGED",
        run_id=run_id,
        status=entry["status"],
        message=entry.get("failureMessage") or None,
        details={"attemptNumber": attempt, "failureCategory": category, "retryable": retryable},
    )
    if retryable:
        store.append_event(
            req.pipeline_id,
            "RETRY_SCHEDULED",
            run_id=run_id,
            details={"attemptNumber": attempt, "backoffSeconds": backoff},
        )
    elif category and retry.is_retryable(policy, category):
        store.append_event(
            req.pipeline_id,
            "RETRY_EXHAUSTED",
            run_id=run_id,
            details={"attemptNumber": attempt, "maxAttempts": policy.max_attempts},
        )
