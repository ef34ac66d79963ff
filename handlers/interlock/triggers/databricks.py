"""`databricks`: start a Jobs API 2.1 run and poll it.

Config: `workspaceUrl`, `headers` (e.g. `Authorization: "Bearer {{secret:databricks/token}}"`), `timeout`, and either
- `jobId`: `POST /api/2.1/jobs/run-now` with `job_parameters` from `arguments` (templated), or
- `body`: a `runs/submit` payload (an object with a non-empty `tasks` list; templated), `run_name` defaulting to
  `jobName`.
Both send an `idempotency_token` derived from the run ID, so a retried trigger returns the run already started.
"""

from __future__ import annotations

from urllib.parse import quote

from ..models import FailureCategory
from ..templating import render_value
from . import JobState, RunContext, Started, TriggerError, TriggerSpec, job_metadata, string_map, webcall

_RESULT_FAILURES = {
    "TIMEDOUT": FailureCategory.TIMEOUT,
    "CANCELED": FailureCategory.PERMANENT,
    "CANCELLED": FailureCategory.PERMANENT,
}
_LIFE_CYCLE_FAILURES = {"INTERNAL_ERROR": FailureCategory.TRANSIENT, "SKIPPED": FailureCategory.PERMANENT}
# The Jobs API 2.1 state names, shown as they are; anything else the server says is shown as a masked excerpt.
_LIFE_CYCLE_STATES = (
    "QUEUED",
    "PENDING",
    "RUNNING",
    "TERMINATING",
    "TERMINATED",
    "SKIPPED",
    "INTERNAL_ERROR",
    "BLOCKED",
    "WAITING_FOR_RETRY",
)
_RESULT_STATES = (
    "SUCCESS",
    "FAILED",
    "TIMEDOUT",
    "CANCELED",
    "CANCELLED",
    "MAXIMUM_CONCURRENT_RUNS_REACHED",
    "EXCLUDED",
    "SUCCESS_WITH_FAILURES",
    "UPSTREAM_FAILED",
    "UPSTREAM_CANCELED",
    "DISABLED",
)


def _problems(config: dict) -> list[str]:
    if config.get("jobId") in (None, "") and not isinstance(config.get("body"), dict):
        return ["trigger.jobId: set jobId (jobs/run-now) or body with tasks (jobs/runs/submit)"]
    return []


SPEC = TriggerSpec(
    required=("workspaceUrl",),
    optional=("jobId", "arguments", "body", "jobName", "headers"),
    idempotent=True,  # both endpoints take an idempotency token derived from the run ID
    status_needs_headers=True,
    check=_problems,
)


def _payload(config: dict, run: RunContext) -> tuple[str, dict]:
    job_id = config.get("jobId")
    body = config.get("body")
    if job_id not in (None, ""):
        if isinstance(job_id, bool) or not str(job_id).isdigit():
            raise TriggerError(f"databricks trigger: jobId must be a number, got {job_id!r}")
        payload: dict = {"job_id": int(job_id)}
        arguments = string_map(config, "arguments", "databricks")
        if arguments:
            payload["job_parameters"] = render_value(arguments, run.template)
        return "run-now", payload
    if isinstance(body, dict):
        tasks = body.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            raise TriggerError("databricks trigger: body must be a runs/submit payload with a non-empty tasks list")
        payload = render_value(body, run.template)
        if config.get("jobName") and "run_name" not in payload:
            payload["run_name"] = config["jobName"]
        return "runs/submit", payload
    raise TriggerError("databricks trigger: set jobId (jobs/run-now) or body with tasks (jobs/runs/submit)")


def request(config: dict, run: RunContext) -> webcall.WebRequest:
    endpoint, payload = _payload(config, run)
    payload["idempotency_token"] = run.run_id[:64]
    url = f"{config['workspaceUrl'].rstrip('/')}/api/2.1/jobs/{endpoint}"
    return webcall.api_request("databricks trigger", "POST", url, config, body=payload, budget=run.budget_seconds)


def start(config: dict, run: RunContext) -> Started:
    workspace = config["workspaceUrl"].rstrip("/")
    run_id = request(config, run).send_json().get("run_id")
    if isinstance(run_id, bool) or not isinstance(run_id, int) or run_id <= 0:
        raise TriggerError("databricks trigger: response missing run_id")
    return Started("running", {"databricks_workspace_url": workspace, "databricks_run_id": str(run_id)})


def status(metadata: dict, config: dict) -> JobState:
    workspace, run_id = job_metadata(metadata, "databricks", "databricks_workspace_url", "databricks_run_id")
    state = webcall.json_call(
        "databricks status",
        "GET",
        f"{workspace.rstrip('/')}/api/2.1/jobs/runs/get?run_id={quote(str(run_id), safe='')}",
        config,
    ).get("state")
    if not isinstance(state, dict) or not isinstance(state.get("life_cycle_state"), str):
        raise TriggerError("databricks status: response missing state.life_cycle_state")
    life_cycle, result = state["life_cycle_state"], state.get("result_state")
    message = webcall.answer_text(life_cycle, _LIFE_CYCLE_STATES)
    if result:
        message += f"/{webcall.answer_text(result, _RESULT_STATES)}"
    if life_cycle == "TERMINATED":
        if result == "SUCCESS":
            return JobState("succeeded", message)
        return JobState("failed", message, _RESULT_FAILURES.get(str(result), FailureCategory.TRANSIENT))
    if life_cycle in _LIFE_CYCLE_FAILURES:
        return JobState("failed", message, _LIFE_CYCLE_FAILURES[life_cycle])
    return JobState("running", message)
