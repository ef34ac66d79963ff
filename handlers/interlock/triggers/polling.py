"""Poll a started job: the provider's state mapped to running/succeeded/failed, bounded by the poll limit.

A transient error of the status API (throttling, 5xx, network, timeout) keeps the run `running`: the job is probably
fine and the poll limit bounds how long we keep asking. A permanent one (not found, access denied, bad metadata)
fails it. The run-checker only reads: the orchestrator's logResult finalizes the run state.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import store
from . import PERMANENT, TIMEOUT, TRANSIENT, JobState, TriggerError, module_for

DEFAULT_MAX_ATTEMPTS = 120
_HEADER_TYPES = ("airflow", "databricks")  # their status API needs the trigger's (secret) headers


@dataclass(frozen=True)
class Poll:
    state: str
    message: str
    failure_category: str | None
    attempt: int


def check(pipeline_id: str, trigger_type: str, metadata: dict, attempt: int, max_attempts: int) -> Poll:
    """One status check of a job started for `pipeline_id`; `attempt` counts the checks already made."""
    attempt += 1
    try:
        if not trigger_type:
            raise TriggerError("invalid run-checker input: triggerType required")
        module = module_for(trigger_type)
        job = module.status(metadata, _trigger_config(pipeline_id, trigger_type))
    except TriggerError as exc:
        if exc.category in (TRANSIENT, TIMEOUT):
            job = JobState("running", f"status check failed, will retry: {exc}")
        else:
            job = JobState("failed", str(exc), PERMANENT)
    if job.state == "running" and attempt >= max_attempts:
        job = JobState(
            "failed",
            f"poll limit reached: still running after {attempt} status checks (last: {job.message}); "
            "the job may still be running and is not re-triggered",
            PERMANENT,
        )
    return Poll(job.state, job.message, job.failure_category if job.state == "failed" else None, attempt)


def _trigger_config(pipeline_id: str, trigger_type: str) -> dict:
    """The pipeline's trigger config, for the types whose status call needs its headers (else {})."""
    if trigger_type not in _HEADER_TYPES or not pipeline_id:
        return {}
    try:
        pipeline = store.get_pipeline(pipeline_id) or {}
    except Exception as exc:
        raise TriggerError(f"reading the pipeline config failed: {exc}", TRANSIENT) from None
    trigger = pipeline.get("trigger") or {}
    return trigger if trigger.get("type") == trigger_type else {}
