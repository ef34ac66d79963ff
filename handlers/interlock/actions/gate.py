"""Before evaluation: exclusion, the lock, the run-log gate and resolving the pipeline; and the lock release."""

from __future__ import annotations

import uuid

from .. import alerts, archetypes, clients, retry, schedule, settings, store
from ..log import logger
from ..models import RunStatus
from .common import ActionOutcome, Problem, Request, load_archetype, load_pipeline, parse_moment, proceed, skip

OWNER_GONE = "DOES_NOT_EXIST"  # describe_owner's status for an execution Step Functions does not know
BACKOFF_SLACK_SECONDS = 2  # the state machine's Wait ends a moment before "now - updatedAt" reaches the backoff


def check_exclusion(req: Request) -> ActionOutcome:
    config = load_pipeline(req)
    pause = store.get_pause(req.pipeline_id)
    if pause is not None:
        store.append_event(
            req.pipeline_id,
            "MARKER_SKIPPED_PAUSED",
            message="pipeline paused",
            details={"date": req.date, "scheduleID": req.schedule_id, "pausedAt": pause.get("pausedAt")},
        )
        return skip("pipeline paused", pausedAt=pause.get("pausedAt"))
    calendars = {}
    if schedule.file_calendars(config):
        calendars = archetypes.load_calendars(settings.get().archetype_dir)
    try:
        reason = schedule.skip_reason(config, req.run_date, calendars)
    except ValueError as exc:
        raise Problem(str(exc)) from exc
    return skip(reason) if reason else proceed()


def _owner(req: Request) -> str:
    owner = req.payload.get("owner")
    if not isinstance(owner, str) or not owner:
        raise Problem("payload.owner (the execution name) is required")
    return owner


def acquire_lock(req: Request) -> ActionOutcome:
    """Take the (pipeline, schedule) lock; take it over from an execution that has ended; else wait for it
    (`deferred`, the state machine comes back after `waitSeconds`) until `waitWindowSeconds` are used up, then
    refuse the request with a LOCK_BUSY event and a REQUEST_REFUSED alert (`refused`). A taken lock answers
    `acquiredAt`, where the run's evaluation window starts (time spent waiting for the lock is not part of it)."""
    owner = _owner(req)
    lease = req.payload.get("leaseSeconds")
    if isinstance(lease, bool) or not isinstance(lease, int) or lease <= 0:
        raise Problem(f"payload.leaseSeconds must be a positive integer (the stack's lockLeaseSeconds), got {lease!r}")
    holder: dict = {}
    for _ in range(2):  # a lock that changes hands while it is looked at is tried once more
        acquired, found = store.acquire_lock(req.pipeline_id, req.schedule_id, owner, lease)
        if acquired:
            return proceed(owner=owner, leaseSeconds=lease, acquiredAt=schedule.rfc3339(schedule.now_utc()))
        holder = found or {}
        ended = holder.get("owner")
        if not ended or not _has_ended(req, ended):
            break
        if store.take_over_lock(req.pipeline_id, req.schedule_id, ended, owner, lease):
            store.append_event(
                req.pipeline_id,
                "LOCK_TAKEN_OVER",
                message=f"execution {ended} no longer runs",
                details={
                    "owner": owner,
                    "previousOwner": ended,
                    "heldSince": holder.get("acquiredAt"),
                    "scheduleID": req.schedule_id,
                },
            )
            return proceed(
                owner=owner, leaseSeconds=lease, acquiredAt=schedule.rfc3339(schedule.now_utc()), takenOverFrom=ended
            )
    return _wait_or_refuse(req, owner, holder)


def describe_owner(machine: str, execution: str) -> dict | None:
    """DescribeExecution of the lock owner `execution` of state machine `machine` (an ARN): its answer,
    `{"status": OWNER_GONE}` when no such execution exists, None when it cannot be looked up for another reason
    (throttling, permissions: such an owner counts as running)."""
    arn = f"{machine.replace(':stateMachine:', ':execution:', 1)}:{execution}"
    try:
        return clients.client("stepfunctions").describe_execution(executionArn=arn)
    except Exception as exc:  # botocore's ClientError, not imported at load time
        if clients.error_code(exc) == "ExecutionDoesNotExist":
            return {"status": OWNER_GONE, "name": execution, "executionArn": arn}
        logger().warning("lock owner not looked up", extra={"owner": execution, "error": str(exc)})
        return None


def _has_ended(req: Request, execution: str) -> bool:
    """Whether the lock owner, an execution of this state machine (`payload.stateMachine`), is no longer running."""
    machine = req.payload.get("stateMachine")
    if not isinstance(machine, str) or ":stateMachine:" not in machine:
        return False
    described = describe_owner(machine, execution)
    return described is not None and described["status"] != "RUNNING"


def _wait_or_refuse(req: Request, owner: str, holder: dict) -> ActionOutcome:
    waits = req.payload.get("waits")
    waits = waits if isinstance(waits, int) and not isinstance(waits, bool) and waits >= 0 else 0
    interval, window = req.payload.get("waitSeconds"), req.payload.get("waitWindowSeconds")
    limit = (
        window // interval
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (interval, window))
        else 0
    )
    held = {"heldBy": holder.get("owner"), "heldSince": holder.get("acquiredAt")}
    if waits < limit:
        return skip("lock held by another execution: waiting for it", deferred=True, waits=waits + 1, **held)
    message = (
        f"Request refused for {req.pipeline_id} ({req.schedule_id}, {req.date}): the lock stayed held by "
        f"{held['heldBy']} since {held['heldSince']} while this execution waited {waits} times"
    )
    store.append_event(req.pipeline_id, "LOCK_BUSY", message=message, details={"owner": owner, "waits": waits, **held})
    details = {"execution": owner, "waits": waits, **held}
    alerts.publish_about(req, alerts.AlertLevel.WARNING, alerts.AlertType.REQUEST_REFUSED, message, details)
    return skip("lock held by another execution", refused=True, waits=waits, **held)


def release_lock(req: Request) -> ActionOutcome:
    owner = req.payload.get("owner")
    if not isinstance(owner, str) or not owner:
        return proceed(released=False, reason="no owner given")
    released = store.release_lock(req.pipeline_id, req.schedule_id, owner)
    return proceed(released=released) if released else proceed(released=False, reason="not held by this owner")


def check_run_log(req: Request) -> ActionOutcome:
    """Whether work is due for (pipeline, date, schedule): not when completed (unless replayed, up to
    `retry.maxReruns` times), not after a non-retryable failure, not past maxAttempts, not inside the backoff window.
    An open claim (an earlier execution may have started the attempt's job and ended without its outcome) is
    adopted instead: while attempts remain, or on a replay, the run continues with that attempt's run ID."""
    entry = store.get_run_log(req.pipeline_id, req.date, req.schedule_id)
    if entry is None:
        return proceed(attemptNumber=1)
    attempt = int(entry.get("attemptNumber") or 0)
    replay = req.payload.get("replay") is True
    claim = entry.get("inFlight")
    if isinstance(claim, dict) and claim.get("runID"):
        config = load_pipeline(req)
        if replay or attempt < config.retry_policy.max_attempts:
            return _adopt(req, config, claim)
    if replay:
        return _rerun(req, entry, attempt)
    if entry.get("status") == RunStatus.COMPLETED:
        return skip("already completed", runID=entry.get("runID"))
    policy = load_pipeline(req).retry_policy
    category = entry.get("failureCategory") or ""
    if category and not retry.is_retryable(policy, category):
        return skip("non-retryable failure", failureCategory=category)
    if attempt >= policy.max_attempts:
        return skip("max attempts exceeded", attemptNumber=attempt, maxAttempts=policy.max_attempts)
    if category:
        backoff = retry.calculate_backoff(policy, attempt)
        updated = parse_moment(entry.get("updatedAt"))
        if updated is not None:
            elapsed = (schedule.now_utc() - updated).total_seconds()
            if elapsed + BACKOFF_SLACK_SECONDS < backoff:
                return skip("backoff period", retryAfterSeconds=int(backoff - elapsed))
    return proceed(attemptNumber=attempt + 1)


def _adopt(req: Request, config, claim: dict) -> ActionOutcome:
    """Carry on with the claimed attempt: the trigger reports the job it started (or, for a type whose start is
    idempotent, starts it again under the same run ID) and never starts a second one."""
    if config.trigger is None:
        raise Problem(f'pipeline "{req.pipeline_id}" has no trigger configured')
    store.append_event(
        req.pipeline_id,
        "RUN_ADOPTED",
        run_id=claim["runID"],
        details={
            "attempt": claim.get("attempt"),
            "claimedBy": claim.get("execution"),
            "jobKnown": bool(claim.get("metadata")),
        },
    )
    return proceed(
        attemptNumber=int(claim.get("attempt") or 1),
        adopt={"runID": claim["runID"], "trigger": config.trigger.to_dict()},
    )


def _rerun(req: Request, entry: dict, attempt: int) -> ActionOutcome:
    """A replay: due again unless the date has had `retry.maxReruns` replays and drift reruns already (each
    execution counts once, however often its retry loop passes here)."""
    if entry.get("status") not in (RunStatus.COMPLETED, RunStatus.FAILED) or (
        req.execution and entry.get("rerunExecution") == req.execution
    ):
        return proceed(attemptNumber=attempt + 1, replay=True)
    limit = load_pipeline(req).retry_policy.max_reruns
    if store.count_rerun(req.pipeline_id, req.date, req.schedule_id, req.execution, limit):
        return proceed(attemptNumber=attempt + 1, replay=True)
    details = {"maxReruns": limit, "rerunCount": entry.get("rerunCount") or 0}
    store.append_event(req.pipeline_id, "RERUN_LIMIT_REACHED", details=details)
    alerts.publish_about(
        req,
        alerts.AlertLevel.ERROR,
        alerts.AlertType.RERUN_LIMIT_REACHED,
        f"Rerun of {req.pipeline_id} for {req.date} refused: the date was re-run {limit} times "
        "(retry.maxReruns); replay it by hand after checking why it keeps being re-run",
        details,
    )
    return skip("rerun limit reached", **details)


def resolve_pipeline(req: Request) -> ActionOutcome:
    """Resolve the traits to evaluate, create the run (PENDING) and hand the trigger config on untemplated."""
    config = load_pipeline(req)
    if config.trigger is None:
        raise Problem(f'pipeline "{req.pipeline_id}" has no trigger configured')
    arch = load_archetype(req, config)
    traits = archetypes.resolve_traits(arch, config, schedule_id=req.schedule_id, date=req.date)
    run_id = str(uuid.uuid4())
    store.create_run(run_id, req.pipeline_id, schedule_id=req.schedule_id, date=req.date)
    return proceed(traits=traits, runID=run_id, trigger=config.trigger.to_dict(), monitoring=config.monitoring_enabled)
