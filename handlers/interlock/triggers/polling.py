"""Poll a started job: the provider's state mapped to running/succeeded/failed, bounded by the poll limit.

A transient error of the status API (throttling, 5xx, network, timeout) keeps the run `running`: the job is probably
fine and the poll limit bounds how long we keep asking. A permanent one (not found, access denied, bad metadata)
fails it. The run-checker only reads: the orchestrator's logResult finalizes the run state. The message it answers
never holds a resolved secret (`secrets.redact`, after the types kept server text to known names or masked excerpts).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import secrets, store
from ..models import FailureCategory
from . import JobState, TriggerError, module_for


@dataclass(frozen=True)
class Poll:
    state: str
    message: str
    failure_category: str | None
    attempt: int

    def answer(self) -> dict:
        """The run-checker's answer, every key present; also the outcome a wait by event is resumed with."""
        return {
            "state": self.state,
            "message": self.message,
            "failureCategory": self.failure_category,
            "attempt": self.attempt,
        }


def check(pipeline_id: str, trigger_type: str, metadata: dict, attempt: int, max_attempts: int | None) -> Poll:
    """One status check of a job started for `pipeline_id`; `attempt` counts the checks already made, and
    `max_attempts` (sent by the state machine; None when the request lacks it) bounds them."""
    attempt += 1
    try:
        for name, value in (("triggerType", trigger_type), ("maxAttempts", max_attempts)):
            if not value:
                raise TriggerError(f"invalid run-checker input: {name} required")
        module = module_for(trigger_type)
        config = _trigger_config(pipeline_id, trigger_type) if module.SPEC.status_needs_headers else {}
        job = module.status(metadata, config)
    except TriggerError as exc:
        if exc.category in (FailureCategory.TRANSIENT, FailureCategory.TIMEOUT):
            job = JobState("running", f"status check failed, will retry: {exc}")
        else:
            job = JobState("failed", str(exc), FailureCategory.PERMANENT)
    if job.state == "running" and attempt >= max_attempts:
        job = JobState(
            "failed",
            f"poll limit reached: still running after {attempt} status checks (last: {job.message}); "
            "the job may still be running and is not re-triggered",
            FailureCategory.PERMANENT,
        )
    category = job.failure_category if job.state == "failed" else None
    return Poll(job.state, secrets.redact(job.message), category, attempt)


def _trigger_config(pipeline_id: str, trigger_type: str) -> dict:
    """The pipeline's stored trigger config (its headers are for the status call); {} when it has another type."""
    if not pipeline_id:
        return {}
    try:
        pipeline = store.get_pipeline(pipeline_id) or {}
    except Exception as exc:
        raise TriggerError(f"reading the pipeline config failed: {exc}", FailureCategory.TRANSIENT) from None
    trigger = pipeline.get("trigger") or {}
    return trigger if trigger.get("type") == trigger_type else {}
