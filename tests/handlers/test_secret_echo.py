"""A server that echoes the secret it was sent, in every listed spelling and at every place an answer is read, never
gets it into what Interlock keeps or publishes: the trigger, run-checker and evaluator answers (the execution
history), the run state, the trait result, the events, the alerts (read from a queue subscribed to the topic) and
the log output. Table-driven: sites x spellings x two secrets (one neither Latin-1 nor URL- nor base64-safe)."""

import json
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import pytest

from handlers import evaluator, run_checker, trigger
from handlers.interlock import secrets, store
from outbound_aws import pending_run, trigger_event
from outbound_echo import ZERO_WIDTH, echoes, readable, received_header, strings_in
from outbound_http import Answer

TOKENS = {"ascii": "Zm9v/s3cr3t+t0ken", "non-latin-1": "tök/Ωmega+s3cr3t"}
REFERENCE = "Bearer {{secret:jobs/api#token}}"
AIRFLOW_RUNS = "/api/v1/dags/daily_sales/dagRuns"
AIRFLOW_RUN = f"{AIRFLOW_RUNS}/interlock__run-1"


def spellings(value: str) -> dict[str, str]:
    """Every listed spelling of the echoed header value; the line break and zero-width forms split the token itself."""
    forms = echoes(value, "svc", len("Bearer ") + 2, ZERO_WIDTH[0])
    forms["zero-width-joiner"] = echoes(value, "svc", 0, ZERO_WIDTH[2])["zero-width"]
    return forms


def as_header(text: str) -> str:
    """`text` sent as UTF-8 header bytes (http.server writes header values as Latin-1)."""
    return text.encode("utf-8").decode("latin-1")


@dataclass(frozen=True)
class Site:
    """Where a server puts the echo: `answer` scripts the reply from the echoed text; `call` runs the handler."""

    method: str
    path: str
    answer: Callable[[str], Answer]
    call: str  # trigger | run-checker | evaluator
    config: dict | None = None
    outcome: tuple = ()  # (key, value) the handler's answer must show, so the echo was really read


def _airflow(server) -> dict:
    return {"type": "airflow", "url": server.url(""), "dagID": "daily_sales", "headers": {"Authorization": REFERENCE}}


def _databricks(server) -> dict:
    return {"type": "databricks", "workspaceUrl": server.url(""), "jobId": 7, "headers": {"Authorization": REFERENCE}}


def _http(server) -> dict:
    return {"type": "http", "url": server.url("/run"), "headers": {"Authorization": REFERENCE}}


SITES = {
    "http error body": Site(
        "POST", "/run", lambda e: Answer(500, f"upstream said: {e}"), "trigger", _http, ("status", "failed")
    ),
    "http redirect location": Site(
        "POST",
        "/run",
        lambda e: Answer(302, headers={"Location": as_header(f"https://login.example/?t={e}")}),
        "trigger",
        _http,
        ("status", "failed"),
    ),
    "http success body": Site("POST", "/run", lambda e: Answer(200, e), "trigger", _http, ("status", "completed")),
    "airflow dag_run_id": Site(
        "POST",
        AIRFLOW_RUNS,
        lambda e: Answer(200, {"dag_run_id": e, "state": "queued"}),
        "trigger",
        _airflow,
        ("status", "running"),
    ),
    "airflow error body": Site(
        "POST", AIRFLOW_RUNS, lambda e: Answer(400, {"detail": e}), "trigger", _airflow, ("status", "failed")
    ),
    "airflow answer not JSON": Site(
        "POST", AIRFLOW_RUNS, lambda e: Answer(200, f"<html>{e}</html>"), "trigger", _airflow, ("status", "failed")
    ),
    "databricks error body": Site(
        "POST",
        "/api/2.1/jobs/run-now",
        lambda e: Answer(403, {"error_code": "PERMISSION_DENIED", "message": e}),
        "trigger",
        _databricks,
        ("status", "failed"),
    ),
    "databricks run_id": Site(
        "POST",
        "/api/2.1/jobs/run-now",
        lambda e: Answer(200, {"run_id": e}),
        "trigger",
        _databricks,
        ("status", "failed"),
    ),
    "airflow state": Site(
        "GET",
        AIRFLOW_RUN,
        lambda e: Answer(200, {"dag_run_id": e, "state": e}),
        "run-checker",
        _airflow,
        ("state", "running"),
    ),
    "airflow status error body": Site(
        "GET", AIRFLOW_RUN, lambda e: Answer(401, e), "run-checker", _airflow, ("state", "failed")
    ),
    "airflow status unavailable": Site(
        "GET", AIRFLOW_RUN, lambda e: Answer(503, e), "run-checker", _airflow, ("state", "running")
    ),
    "databricks life_cycle_state": Site(
        "GET",
        "/api/2.1/jobs/runs/get",
        lambda e: Answer(200, {"state": {"life_cycle_state": e}}),
        "run-checker",
        _databricks,
        ("state", "running"),
    ),
    "databricks result_state": Site(
        "GET",
        "/api/2.1/jobs/runs/get",
        lambda e: Answer(200, {"state": {"life_cycle_state": "TERMINATED", "result_state": e, "state_message": e}}),
        "run-checker",
        _databricks,
        ("state", "failed"),
    ),
    "evaluator error body": Site("POST", "/eval", lambda e: Answer(500, e), "evaluator", None, ("status", "FAIL")),
    "evaluator reason": Site(
        "POST",
        "/eval",
        lambda e: Answer(200, {"status": "FAIL", "reason": f"saw {e}"}),
        "evaluator",
        None,
        ("status", "FAIL"),
    ),
    "evaluator value": Site(
        "POST",
        "/eval",
        lambda e: Answer(200, {"status": "PASS", "value": {"echo": e, e: [e]}}),
        "evaluator",
        None,
        ("status", "PASS"),
    ),
    "evaluator status": Site(
        "POST", "/eval", lambda e: Answer(200, {"status": e}), "evaluator", None, ("status", "FAIL")
    ),
    "evaluator answer not JSON": Site("POST", "/eval", lambda e: Answer(200, e), "evaluator", None, ("status", "FAIL")),
    "evaluator redirect location": Site(
        "POST",
        "/eval",
        lambda e: Answer(307, headers={"Location": as_header(e)}),
        "evaluator",
        None,
        ("status", "FAIL"),
    ),
}


@pytest.fixture(params=sorted(TOKENS))
def token(request, aws_env):
    secrets.clear_cache()
    value = TOKENS[request.param]
    boto3.client("secretsmanager").create_secret(Name="jobs/api", SecretString=json.dumps({"token": value}))
    yield value
    secrets.clear_cache()


def _run(site: Site, server, run_id: str) -> dict:
    if site.call == "trigger":
        schedule_id = f"s-{run_id}"  # one schedule per call: each start claims a date's attempt of its own
        pending_run(run_id, schedule_id=schedule_id)
        return trigger.handler(trigger_event(site.config(server), run_id=run_id, schedule_id=schedule_id), None)
    if site.call == "run-checker":
        store.put_pipeline({"name": "sales", "archetype": "batch-ingestion", "trigger": site.config(server)})
        metadata = {
            "airflow_url": server.url(""),
            "airflow_dag_id": "daily_sales",
            "airflow_dag_run_id": "interlock__run-1",
            "databricks_workspace_url": server.url(""),
            "databricks_run_id": "42",
        }
        return run_checker.handler(
            {
                "pipelineID": "sales",
                "runID": run_id,
                "triggerType": site.config(server)["type"],
                "metadata": metadata,
                "attempt": 0,
                "maxAttempts": 10,
            },
            None,
        )
    secrets.resolve(REFERENCE)  # the evaluator sends no secret: one this container resolved is echoed all the same
    return evaluator.handler(
        {
            "pipelineID": "sales",
            "traitType": "freshness",
            "evaluator": server.url("/eval"),
            "config": {},
            "timeout": 5,
            "ttl": 300,
            "required": True,
        },
        None,
    )


def _kept(aws_env, run_id: str, answer: dict) -> list[str]:
    """The texts of everything Interlock keeps or publishes after one call."""
    kept = [
        answer,
        store.get_run(run_id),
        store.get_trait_result("sales", "freshness"),
        store.list_events("sales", limit=1000),
        aws_env.alerts(),
    ]
    return strings_in(kept)


@pytest.mark.parametrize("site_name", sorted(SITES))
def test_an_echoed_secret_is_never_kept_or_published(site_name, token, aws_env, server, allow_loopback, captured_logs):
    site = SITES[site_name]
    echoed_value = f"Bearer {token}"
    forms = spellings(echoed_value)
    leaks = {}
    for number, (form, _) in enumerate(sorted(forms.items())):

        def reply(received, form=form):
            value = received_header(received) if "Authorization" in received.headers else echoed_value
            return site.answer(spellings(value)[form])

        server.answers[(site.method, site.path)] = reply
        run_id = f"run-{number}"
        answer = _run(site, server, run_id)
        key, expected = site.outcome
        assert answer[key] == expected, (form, answer)
        found = readable(token, [*_kept(aws_env, run_id, answer), captured_logs.getvalue()])
        if found:
            leaks[form] = found[0][:300]
    if site.call != "evaluator":
        assert {received_header(r) for r in server.requests} == {echoed_value}
    assert leaks == {}, f"{site_name}: the secret can be read back from {leaks}"


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_the_reader_finds_every_listed_spelling(name):
    """The check above can fail: every spelling, inside other text, is found (and the plain text is not)."""
    value = TOKENS[name]
    for form, text in spellings(f"Bearer {value}").items():
        assert readable(value, [json.dumps({"error": f"said: {text}."})]), form
        assert readable(value, [f"<p>{text}</p>"]), form
    assert not readable(value, ["Bearer ***", "said: *** and nothing else"])
