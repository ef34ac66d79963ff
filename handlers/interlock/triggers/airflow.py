"""`airflow`: trigger a DAG run through the stable REST API and poll it.

Config: `url` (the webserver base URL), `dagID`, `apiVersion` (`v1`, Airflow 2, default; or `v2`, Airflow 3),
`headers` (secret references allowed), `body` (a JSON object, or a string holding one: the DAG run `conf`; templated),
`timeout` (seconds, 30). The DAG run ID is derived from Interlock's run ID, so a retried trigger finds the run it
already created (HTTP 409) instead of starting a second one; it is the ID Interlock stores, never the server's echo.
"""

from __future__ import annotations

from urllib.parse import quote

from ..models import FailureCategory
from ..templating import render_value
from . import JobState, RunContext, Started, TriggerError, TriggerSpec, job_metadata, json_body, webcall

SPEC = TriggerSpec(
    required=("url", "dagID"),
    optional=("apiVersion", "headers", "body"),
    idempotent=True,  # the DAG run ID is derived from the run ID: a retried start gets 409
    status_needs_headers=True,
)

_VERSIONS = ("v1", "v2")
_RUNNING_STATES = ("queued", "running")  # a DAG run's other states: success, failed


def _api_base(config: dict, url: str | None = None, version: str | None = None) -> str:
    version = version or str(config.get("apiVersion") or "v1")
    if version not in _VERSIONS:
        raise TriggerError(f"airflow trigger: apiVersion must be v1 or v2, got {version!r}")
    base = (url if url is not None else config["url"]).rstrip("/")
    return f"{base}/api/{version}"


def _conf(config: dict, run: RunContext) -> dict:
    body = json_body(config, "airflow")
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise TriggerError("airflow trigger: body must be a JSON object (the DAG run conf)")
    return render_value(body, run.template)


def dag_run_id(run_id: str) -> str:
    return f"interlock__{run_id}"


def request(config: dict, run: RunContext) -> webcall.WebRequest:
    api = _api_base(config)
    payload: dict = {"dag_run_id": dag_run_id(run.run_id), "conf": _conf(config, run)}
    if api.endswith("/v2"):
        payload["logical_date"] = None  # required (nullable) by Airflow 3
    url = f"{api}/dags/{quote(config['dagID'], safe='')}/dagRuns"
    return webcall.api_request("airflow trigger", "POST", url, config, body=payload, budget=run.budget_seconds)


def start(config: dict, run: RunContext) -> Started:
    metadata = {
        "airflow_url": config["url"].rstrip("/"),
        "airflow_dag_id": config["dagID"],
        "airflow_api_version": _api_base(config).rsplit("/", 1)[1],
    }
    started = Started("running", {**metadata, "airflow_dag_run_id": dag_run_id(run.run_id)})
    try:
        answer = request(config, run).send_json()
    except webcall.StatusError as exc:
        if exc.status == 409:  # this run's DAG run already exists: a retried trigger
            return started
        raise
    # The answer must show a created DAG run; its ID is the one chosen above (an echoed value is not stored).
    returned = answer.get("dag_run_id")
    if not isinstance(returned, str) or not returned:
        raise TriggerError("airflow trigger: response missing dag_run_id")
    return started


def status(metadata: dict, config: dict) -> JobState:
    url, dag_id, run_id = job_metadata(metadata, "airflow", "airflow_url", "airflow_dag_id", "airflow_dag_run_id")
    api = _api_base(config, url, metadata.get("airflow_api_version") or "v1")
    path = f"{api}/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
    state = webcall.json_call("airflow status", "GET", path, config).get("state")
    if not isinstance(state, str):
        raise TriggerError("airflow status: response missing state")
    if state == "success":
        return JobState("succeeded", state)
    if state == "failed":
        return JobState("failed", f"airflow DAG run {run_id} failed", FailureCategory.TRANSIENT)
    return JobState("running", webcall.answer_text(state, _RUNNING_STATES))
