"""Trigger Lambda: start the pipeline's job for one run.

Input `{pipelineID, scheduleID, date, trigger, runID}`; output `{runID, status: running|completed|failed, metadata,
error, failureCategory}` with every key present (DESIGN §10.0). Only a broken environment raises.
"""
from __future__ import annotations

from .interlock import schedule
from .interlock.log import bind
from .interlock.triggers import RunContext
from .interlock.triggers.firing import Outcome, fire, invalid_input

RECORD_MARGIN_SECONDS = 5.0


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    run, problem = _parse(event, _budget(context))
    bind(pipelineID=run.pipeline_id, scheduleID=run.schedule_id, runID=run.run_id, date=run.date)
    outcome = invalid_input(run, problem) if problem else fire(run, event.get("trigger"))
    return _shape(run.run_id, outcome)


def _budget(context) -> float | None:
    """Seconds the start call may take, keeping a margin to record the run state and alert."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return max(1.0, remaining() / 1000 - RECORD_MARGIN_SECONDS) if remaining else None


def _parse(event: dict, budget: float | None = None) -> tuple[RunContext, str | None]:
    text = {k: event.get(k) if isinstance(event.get(k), str) else "" for k in ("pipelineID", "scheduleID", "date", "runID")}
    run = RunContext(
        pipeline_id=text["pipelineID"],
        schedule_id=text["scheduleID"] or "daily",
        date=text["date"] or schedule.today_utc(),
        run_id=text["runID"],
        budget_seconds=budget,
    )
    missing = [k for k in ("pipelineID", "runID") if not text[k]]
    return run, (f"invalid trigger input: {', '.join(missing)} required" if missing else None)


def _shape(run_id: str, outcome: Outcome) -> dict:
    return {
        "runID": run_id,
        "status": outcome.status,
        "metadata": dict(outcome.metadata),
        "error": outcome.error,
        "failureCategory": outcome.failure_category,
    }
