"""`airflow`: trigger a DAG run through the stable REST API and poll it.

Config: `url` (the webserver base URL), `dagID`, `apiVersion` (`v1`, Airflow 2, default; or `v2`, Airflow 3),
`headers` (secret references allowed), `body` (a JSON object, or a string holding one: the DAG run `conf`; templated),
`timeout` (seconds, 30). The DAG run ID is derived from Interlock's run ID, so a retried trigger finds the run it
already created (HTTP 409) instead of starting a second one.
"""
from __future__ import annotations

from urllib.parse import quote

from ..templating import render_value
from . import PERMANENT, TRANSIENT, JobState, RunContext, Started, TriggerError, json_body, require, timeout_seconds, webcall

IDEMPOTENT = True  # a retried start returns the run it already started

_VERSIONS = ("v1", "v2")


def _api_base(config: dict, url: str | None = None, version: str | None = None) -> str:
    version = version or str(config.get("apiVersion") or "v1")
    if version not in _VERSIONS:
        raise TriggerError(f"airflow trigger: apiVersion must be v1 or v2, got {version!r}")
    base = (url if url is not None else webcall.base_url(config, "url", "airflow")).rstrip("/")
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


def start(config: dict, run: RunContext) -> Started:
    dag_id = require(config, "dagID", "airflow")
    api = _api_base(config)
    run_id = dag_run_id(run.run_id)
    payload: dict = {"dag_run_id": run_id, "conf": _conf(config, run)}
    if api.endswith("/v2"):
        payload["logical_date"] = None  # required (nullable) by Airflow 3
    metadata = {
        "airflow_url": webcall.base_url(config, "url", "airflow"),
        "airflow_dag_id": dag_id,
        "airflow_api_version": api.rsplit("/", 1)[1],
    }
    try:
        response = webcall.call(
            "airflow trigger",
            "POST",
            f"{api}/dags/{quote(dag_id, safe='')}/dagRuns",
            headers=config.get("headers"),
            body=payload,
            timeout=timeout_seconds(config, run.budget_seconds),
        )
    except webcall.StatusError as exc:
        if exc.status == 409:  # this run's DAG run already exists: a retried trigger
            return Started("running", {**metadata, "airflow_dag_run_id": run_id})
        raise
    returned = webcall.json_object("airflow trigger", response).get("dag_run_id")
    if not isinstance(returned, str) or not returned:
        raise TriggerError("airflow trigger: response missing dag_run_id")
    return Started("running", {**metadata, "airflow_dag_run_id": returned})


def status(metadata: dict, config: dict) -> JobState:
    url, dag_id, run_id = (metadata.get(k) for k in ("airflow_url", "airflow_dag_id", "airflow_dag_run_id"))
    if not (url and dag_id and run_id):
        return JobState("failed", "missing airflow metadata (airflow_url, airflow_dag_id, airflow_dag_run_id)", PERMANENT)
    api = _api_base(config, url, metadata.get("airflow_api_version") or "v1")
    response = webcall.call(
        "airflow status",
        "GET",
        f"{api}/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
        headers=config.get("headers"),
        timeout=timeout_seconds(config),
    )
    state = webcall.json_object("airflow status", response).get("state")
    if not isinstance(state, str):
        raise TriggerError("airflow status: response missing state")
    if state == "success":
        return JobState("succeeded", state)
    if state == "failed":
        return JobState("failed", f"airflow DAG run {run_id} failed", TRANSIENT)
    return JobState("running", state)
