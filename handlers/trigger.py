"""Trigger Lambda: start the pipeline's job for one run.

Input `{pipelineID, scheduleID, date, trigger, runID, attempt, execution}`; output `{runID, status:
running|completed|failed|dryRun, metadata, error, failureCategory, completion: event|poll}` with every key present
(DESIGN §10.0); `completion` says how the state machine learns that a running job ended (the type's
`SPEC.completion`). The attempt is claimed in the date's run log before the job starts; in dry run nothing is claimed
or started, and the request is recorded instead. Only a broken environment raises.
"""

from __future__ import annotations

from .interlock import invocation, schedule
from .interlock.log import bind
from .interlock.triggers import RunContext, completion_of
from .interlock.triggers.firing import Attempt, TriggerOutcome, fire, invalid_input

RECORD_MARGIN_SECONDS = 5.0


def handler(event, context):
    event = invocation.fields(event)
    run, problem = _parse(event, invocation.budget(context, RECORD_MARGIN_SECONDS))
    bind(pipelineID=run.pipeline_id, scheduleID=run.schedule_id, runID=run.run_id, date=run.date)
    attempt = Attempt(invocation.count(event, "attempt") or 1, invocation.text(event, "execution"))
    outcome = invalid_input(run, problem) if problem else fire(run, event.get("trigger"), attempt)
    return _shape(run.run_id, outcome, completion_of(invocation.text(invocation.mapping(event, "trigger"), "type")))


def _parse(event: dict, budget: float | None) -> tuple[RunContext, str | None]:
    run = RunContext(
        pipeline_id=invocation.text(event, "pipelineID"),
        schedule_id=invocation.text(event, "scheduleID") or "daily",
        date=invocation.text(event, "date") or schedule.today_utc(),
        run_id=invocation.text(event, "runID"),
        budget_seconds=budget,
    )
    missing = [name for name, value in (("pipelineID", run.pipeline_id), ("runID", run.run_id)) if not value]
    return run, (f"invalid trigger input: {', '.join(missing)} required" if missing else None)


def _shape(run_id: str, outcome: TriggerOutcome, completion: str) -> dict:
    return invocation.bounded(
        {
            "runID": run_id,
            "status": outcome.status,
            "metadata": dict(outcome.metadata),
            "error": outcome.error,
            "failureCategory": outcome.failure_category,
            "completion": completion,
        },
        texts=("error",),
    )
