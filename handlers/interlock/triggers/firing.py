"""Start a run's job exactly once, moving its run state PENDING → TRIGGERING → RUNNING/COMPLETED/FAILED.

Retries are expected (Step Functions retries Lambda service errors): a run already RUNNING or COMPLETED reports its
job instead of starting another; a run left TRIGGERING by an interrupted attempt is started again only by types
whose start is idempotent (their API deduplicates on the run ID), and otherwise fails for a person to check.
Before the start the attempt is claimed in the date's run log, and the job's identity is recorded there right
after it (DESIGN §10.0, the run log ledger): a later execution adopts that job instead of starting another.

In dry run (the pipeline's `dryRun`, or the stack's `interlock:dryRun`) nothing is started or claimed: the request the
start would send is recorded as a DRY_RUN_WOULD_TRIGGER event, with every resolved secret masked, and the run is
CANCELLED (DESIGN §10.3).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace

from .. import alerts, invocation, metrics, redaction, schedule, secrets, settings, store
from ..log import logger
from ..models import FailureCategory, InvalidTransition, RunStatus
from . import RunContext, Started, TriggerError, request, spec_of, start

_ERROR_KEYS = ("triggerError", "failureCategory")


@dataclass(frozen=True)
class Attempt:
    """Which attempt of the date this start is (checkRunLog's attemptNumber) and the execution making it."""

    number: int = 1
    execution: str = ""


@dataclass(frozen=True)
class TriggerOutcome:
    status: str  # running | completed | failed | dryRun
    metadata: dict = field(default_factory=dict)
    error: str | None = None
    failure_category: str | None = None


def fire(run: RunContext, config: object, attempt: Attempt = Attempt()) -> TriggerOutcome:
    """Start the job of `run` described by the trigger `config`; business failures are returned, not raised."""
    state = store.get_run(run.run_id)
    if state is None:
        state = _create(run)
    if state.get("date") and state["date"] != run.date:
        run = replace(run, date=state["date"])  # the run's own date wins (the input may say "" = today)
    status = state["status"]
    trigger_type = config.get("type") if isinstance(config, dict) else None

    if status == RunStatus.RUNNING:
        return TriggerOutcome("running", _job_metadata(state))
    if status == RunStatus.COMPLETED:
        return TriggerOutcome("completed", _job_metadata(state))
    if status == RunStatus.FAILED:
        meta = state.get("metadata") or {}
        return TriggerOutcome(
            "failed",
            {},
            meta.get("triggerError") or "run already failed",
            meta.get("failureCategory") or FailureCategory.PERMANENT,
        )
    rehearsed_by = (state.get("metadata") or {}).get("dryRunBy")
    if status == RunStatus.CANCELLED and rehearsed_by:
        return TriggerOutcome("dryRun", {"dryRunBy": rehearsed_by})  # a retried dry run: recorded already
    if status not in (RunStatus.PENDING, RunStatus.TRIGGERING):
        return _fail(run, trigger_type, TriggerError(f"run {run.run_id} is {status}; not triggering"), transition=False)
    dry_run_by = _dry_run_by(run.pipeline_id)
    if dry_run_by:
        return _rehearse(run, config, state["version"], dry_run_by, attempt)

    if status == RunStatus.PENDING:
        try:
            store.transition_run(run.run_id, RunStatus.TRIGGERING, expected_version=state["version"])
        except (store.ConcurrentUpdate, InvalidTransition):
            # Another invocation got there first: it is triggering now, or report what it did.
            if store.get_run(run.run_id)["status"] == RunStatus.TRIGGERING:
                return _busy(run, trigger_type)
            return fire(run, config, attempt)

    try:
        if not isinstance(config, dict) or not config.get("type"):
            raise TriggerError("no trigger configuration provided")
        claim, fresh = store.claim_attempt(
            run.pipeline_id,
            run.date,
            run.schedule_id,
            {
                "attempt": attempt.number,
                "runID": run.run_id,
                "execution": attempt.execution,
                "claimedAt": schedule.rfc3339(schedule.now_utc()),
                "triggerType": trigger_type,
            },
        )
        if claim is None:
            raise TriggerError(
                f"attempt {attempt.number} of {run.date} is claimed by another run whose job may "
                f"have started; not starting a second {trigger_type} (check it, then replay the date)"
            )
        if claim.get("metadata"):
            return _resume(run, claim["metadata"])
        if (status == RunStatus.TRIGGERING or not fresh) and not spec_of(str(config["type"])).idempotent:
            return _busy(run, trigger_type)
        started = start(config, run)
        oversized = invocation.oversized(started.metadata, invocation.IDENTITY_LIMIT)
        if oversized:
            raise TriggerError(
                f"{trigger_type} answered a job identity of {oversized} bytes (limit "
                f"{invocation.IDENTITY_LIMIT}); the job may have started but cannot be tracked: "
                "check it"
            )
    except TriggerError as exc:
        return _fail(run, trigger_type, exc)
    return _succeed(run, trigger_type, started)


def _dry_run_by(pipeline_id: str) -> str | None:
    """ "stack" or "pipeline" when a run of the pipeline is a dry run (the stack's setting wins: a pipeline's own
    `dryRun: false` does not take it out of a stack in dry run), else None."""
    if settings.get().dry_run:
        return "stack"
    config = store.get_pipeline(pipeline_id) or {}
    return "pipeline" if config.get("dryRun") is True else None


def _rehearse(run: RunContext, config: object, version: int, dry_run_by: str, attempt: Attempt) -> TriggerOutcome:
    """Record what the start would send and cancel the run (at `version`): no claim, no job, no run log (so nothing
    cascades)."""
    trigger_type = config.get("type") if isinstance(config, dict) else None
    details: dict = {"date": run.date, "scheduleID": run.schedule_id, "attempt": attempt.number, "dryRunBy": dry_run_by}
    try:
        if not trigger_type:
            raise TriggerError("no trigger configuration provided")
        would_send = request(config, run)
        would_send.prepare()
        details["request"] = {"type": trigger_type, **would_send.describe()}
    except TriggerError as exc:  # the start would fail the same way: shown, not alerted (nothing was to start)
        details.update(error=str(exc), failureCategory=exc.category)
    details = redaction.mask_data(details, secrets.known_values())
    message = (
        f"dry run: would have failed to trigger: {details['error']}"
        if "error" in details
        else f"dry run: would trigger {details['request']['target']}"
    )
    store.append_event(
        run.pipeline_id, "DRY_RUN_WOULD_TRIGGER", run_id=run.run_id, status="dryRun", message=message, details=details
    )
    logger().info(message, extra={"dryRunBy": dry_run_by, "triggerType": trigger_type})
    with contextlib.suppress(store.ConcurrentUpdate, InvalidTransition):  # another invocation recorded it as well
        store.transition_run(
            run.run_id, RunStatus.CANCELLED, metadata={"dryRunBy": dry_run_by}, expected_version=version
        )
    return TriggerOutcome("dryRun", {"dryRunBy": dry_run_by})


def invalid_input(run: RunContext, problem: str) -> TriggerOutcome:
    """An unusable trigger input: alerted (when the pipeline is known), nothing started, no run state touched."""
    error = TriggerError(problem)
    if run.pipeline_id:
        return _fail(run, None, error, transition=False)
    logger().error(problem)
    return TriggerOutcome("failed", {}, problem, FailureCategory.PERMANENT)


def _create(run: RunContext) -> dict:
    with contextlib.suppress(store.ConcurrentUpdate):
        store.create_run(run.run_id, run.pipeline_id, schedule_id=run.schedule_id, date=run.date)
    return store.get_run(run.run_id)


def _job_metadata(state: dict) -> dict:
    return {k: v for k, v in (state.get("metadata") or {}).items() if k not in _ERROR_KEYS}


def _busy(run: RunContext, trigger_type: str | None) -> TriggerOutcome:
    error = TriggerError(
        f"run {run.run_id} is already being triggered by an earlier attempt that did not finish; not starting a "
        f"second {trigger_type or 'job'} (check whether it started, then re-run)"
    )
    return _fail(run, trigger_type, error, transition=False)


def _resume(run: RunContext, metadata: dict) -> TriggerOutcome:
    """The claim already names this run's job (recorded by an execution that ended before its outcome): report it
    running, so the run-checker finds out how it went."""
    _record(lambda: store.transition_run(run.run_id, RunStatus.RUNNING, metadata=metadata), run, "run state")
    return TriggerOutcome("running", dict(metadata))


def _succeed(run: RunContext, trigger_type: str | None, started: Started) -> TriggerOutcome:
    target = RunStatus.COMPLETED if started.status == "completed" else RunStatus.RUNNING
    # The job has started: a bookkeeping failure from here on must not turn it into a failed (and retried) run.
    _record(
        lambda: store.record_job(run.pipeline_id, run.date, run.schedule_id, run.run_id, started.metadata),
        run,
        "job identity",
    )
    _record(lambda: store.transition_run(run.run_id, target, metadata=started.metadata), run, "run state")
    _record(
        lambda: store.append_event(
            run.pipeline_id,
            "TRIGGER_FIRED",
            run_id=run.run_id,
            status=started.status,
            details={"type": trigger_type, **started.metadata},
        ),
        run,
        "event",
    )
    return TriggerOutcome(started.status, dict(started.metadata))


def _fail(run: RunContext, trigger_type: str | None, exc: TriggerError, *, transition: bool = True) -> TriggerOutcome:
    message = str(exc)
    if transition:
        _record(
            lambda: store.transition_run(
                run.run_id, RunStatus.FAILED, metadata={"triggerError": message, "failureCategory": exc.category}
            ),
            run,
            "run state",
        )
    _record(
        lambda: store.append_event(
            run.pipeline_id,
            "TRIGGER_FAILED",
            run_id=run.run_id,
            status="failed",
            message=message,
            details={"type": trigger_type, "failureCategory": exc.category},
        ),
        run,
        "event",
    )
    # Every trigger failure alerts; a retryable category is only a warning because logResult raises RUN_FAILED
    # (error) once no retry is left.
    level = "warning" if exc.category in (FailureCategory.TRANSIENT, FailureCategory.TIMEOUT) else "error"
    alerts.publish_about(
        run,
        level,
        alerts.AlertType.TRIGGER_FAILED,
        f"Trigger failed for {run.pipeline_id}: {message}",
        {"triggerType": trigger_type, "failureCategory": exc.category},
        run_id=run.run_id,
    )
    metrics.emit(
        metrics.TRIGGER_FAILURES,
        pipeline_id=run.pipeline_id,
        schedule_id=run.schedule_id,
        category=exc.category,
        triggerType=trigger_type,
        runID=run.run_id,
    )
    return TriggerOutcome("failed", {}, message, exc.category)


def _record(write, run: RunContext, what: str) -> None:
    try:
        write()
    except Exception as exc:  # bookkeeping after the decision: log it, keep the outcome
        logger().warning(f"trigger: recording the {what} failed", extra={"runID": run.run_id, "error": str(exc)})
