"""Trigger Lambda with HTTP job APIs (http, airflow, databricks) served on loopback, and the SSRF guard."""

import json

import boto3
import pytest

from handlers import trigger
from handlers.interlock import store
from outbound_aws import API_TOKEN, DATE, OUTPUT_KEYS, pending_run, trigger_event


def fire(config, run_id="run-1"):
    out = trigger.handler(trigger_event(config, run_id=run_id), None)
    assert set(out) == OUTPUT_KEYS
    return out


def everything_recorded(aws_env, out) -> str:
    """All the places a secret must never reach: output, run state, events, alerts."""
    return json.dumps([out, store.get_run("run-1"), store.list_events("sales"), aws_env.alerts()])


def test_http_is_synchronous_with_a_templated_body_and_secret_header(aws_env, server, allow_loopback, api_token):
    pending_run()
    server.answer("POST", "/hooks/run", 202, b"accepted")
    out = fire(
        {
            "type": "http",
            "url": server.url("/hooks/run"),
            "headers": {"Authorization": api_token},
            "body": {"date": "${date}", "hour": "${hour}", "env": "${AWS_SECRET_ACCESS_KEY}"},
        }
    )
    assert out == {
        "runID": "run-1",
        "status": "completed",
        "metadata": {"http_status": 202},
        "error": None,
        "failureCategory": None,
        "completion": "poll",
    }
    [received] = server.requests
    assert received.headers["Authorization"] == f"Bearer {API_TOKEN}"
    assert received.json() == {"date": DATE, "hour": "07", "env": "${AWS_SECRET_ACCESS_KEY}"}
    assert store.get_run("run-1")["status"] == "COMPLETED"
    assert API_TOKEN not in everything_recorded(aws_env, out)


def test_configured_headers_replace_the_defaults_whatever_their_case(aws_env, server, allow_loopback):
    pending_run()
    server.answer("PUT", "/upload", 200, b"")
    out = fire(
        {
            "type": "http",
            "method": "put",
            "url": server.url("/upload"),
            "body": "day=${date}",
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        }
    )
    assert out["status"] == "completed"
    [received] = server.requests
    assert received.method == "PUT" and received.body == f"day={DATE}".encode()
    content_types = [k for k in received.headers if k.lower() == "content-type"]
    assert content_types == ["content-type"] and received.headers["content-type"] == "application/x-www-form-urlencoded"


def test_a_secret_echoed_back_in_an_error_is_redacted(aws_env, server, allow_loopback, api_token):
    pending_run()
    server.answer("POST", "/hooks/run", 401, f"invalid credentials: Bearer {API_TOKEN}")
    out = fire({"type": "http", "url": server.url("/hooks/run"), "headers": {"Authorization": api_token}})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert out["error"] == "http trigger: returned status 401: invalid credentials: Bearer ***"
    assert API_TOKEN not in everything_recorded(aws_env, out)


def test_a_secret_never_reaches_the_logs(aws_env, server, allow_loopback, api_token, captured_logs):
    pending_run()
    boto3.client("sns").delete_topic(TopicArn=aws_env.topic_arn)  # the alert fails too, so its error is logged
    server.answer("POST", "/hooks/run", 401, f"invalid credentials: Bearer {API_TOKEN}")
    out = fire({"type": "http", "url": server.url("/hooks/run"), "headers": {"Authorization": api_token}})
    assert out["failureCategory"] == "PERMANENT"
    logged = captured_logs.getvalue()
    assert "alert publish failed" in logged and "run-1" in logged
    assert API_TOKEN not in logged


def test_a_secret_at_the_truncation_boundary_is_not_partially_leaked(aws_env, server, allow_loopback, api_token):
    pending_run()
    server.answer("POST", "/hooks/run", 500, "e" * 290 + API_TOKEN)
    out = fire({"type": "http", "url": server.url("/hooks/run"), "headers": {"Authorization": api_token}})
    assert out["error"].endswith("e***") and "s3cr3t" not in out["error"]


def test_an_unknown_secret_fails_without_calling_the_endpoint(aws_env, server, allow_loopback):
    pending_run()
    out = fire({"type": "http", "url": server.url("/x"), "headers": {"Authorization": "{{secret:missing}}"}})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "secret 'missing' could not be read" in out["error"]
    assert server.requests == []


@pytest.mark.parametrize(
    "status, category",
    [(400, "PERMANENT"), (404, "PERMANENT"), (429, "TRANSIENT"), (500, "TRANSIENT"), (503, "TRANSIENT")],
)
def test_http_error_statuses_map_to_categories(aws_env, server, allow_loopback, status, category):
    pending_run()
    server.answer("POST", "/x", status, b"nope\r\nmore")
    out = fire({"type": "http", "url": server.url("/x")})
    assert (out["status"], out["failureCategory"]) == ("failed", category)
    assert out["error"] == f"http trigger: returned status {status}: nope  more"
    [alert] = aws_env.alerts()
    assert alert["alertType"] == "TRIGGER_FAILED"
    assert alert["level"] == ("error" if category == "PERMANENT" else "warning")


def test_a_slow_endpoint_times_out(aws_env, server, allow_loopback):
    pending_run()
    server.answer("POST", "/slow", 200, b"", delay=3)
    out = fire({"type": "http", "url": server.url("/slow"), "timeout": 1})
    assert (out["status"], out["failureCategory"]) == ("failed", "TIMEOUT")


class LambdaContext:
    def get_remaining_time_in_millis(self):
        return 6000


def test_the_call_never_outlives_the_lambda_invocation(aws_env, server, allow_loopback):
    """timeout 60 s but 6 s of invocation left: the call gets 1 s, so the failure is still recorded and alerted."""
    pending_run()
    server.answer("POST", "/slow", 200, b"", delay=3)
    out = trigger.handler(trigger_event({"type": "http", "url": server.url("/slow"), "timeout": 60}), LambdaContext())
    assert (out["status"], out["failureCategory"]) == ("failed", "TIMEOUT")
    assert "timed out after 1s" in out["error"]
    assert store.get_run("run-1")["status"] == "FAILED"


def test_malformed_input_is_refused(aws_env):
    out = trigger.handler(["not", "an", "object"], None)
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert out["error"] == "invalid trigger input: pipelineID, runID required"


def test_http_trigger_to_loopback_without_the_allowlist_is_refused(aws_env, server, no_allowlist):
    pending_run()
    server.answer("POST", "/x", 200, b"")
    out = fire({"type": "http", "url": server.url("/x")})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "refused" in out["error"] and "loopback" in out["error"]
    assert server.requests == []
    assert store.get_run("run-1")["status"] == "FAILED"


def test_http_trigger_redirect_to_metadata_is_not_followed(aws_env, server, allow_loopback):
    pending_run()
    server.answer("POST", "/x", 307, headers={"Location": "http://169.254.169.254/latest/api/token"})
    out = fire({"type": "http", "url": server.url("/x")})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "redirects are not followed" in out["error"]
    assert [r.path for r in server.requests] == ["/x"]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_airflow_triggers_a_dag_run_and_returns_its_id(aws_env, server, allow_loopback, api_token, version):
    pending_run()
    path = f"/airflow/api/{version}/dags/daily_sales/dagRuns"
    server.answer("POST", path, 200, {"dag_run_id": "interlock__run-1", "state": "queued"})
    out = fire(
        {
            "type": "airflow",
            "url": server.url("/airflow/"),
            "dagID": "daily_sales",
            "apiVersion": version,
            "headers": {"Authorization": api_token},
            "body": '{"day": "${date}"}',
        }
    )
    assert out["status"] == "running"
    assert out["metadata"] == {
        "airflow_url": server.url("/airflow"),
        "airflow_dag_id": "daily_sales",
        "airflow_api_version": version,
        "airflow_dag_run_id": "interlock__run-1",
    }
    sent = server.requests[0].json()
    assert sent["dag_run_id"] == "interlock__run-1" and sent["conf"] == {"day": DATE}
    assert ("logical_date" in sent) == (version == "v2")
    assert API_TOKEN not in everything_recorded(aws_env, out)


def test_airflow_conflict_means_this_run_already_created_its_dag_run(aws_env, server, allow_loopback):
    pending_run()
    store.transition_run("run-1", "TRIGGERING")  # an interrupted earlier attempt
    server.answer("POST", "/api/v1/dags/d/dagRuns", 409, {"detail": "DAGRun already exists"})
    out = fire({"type": "airflow", "url": server.url(""), "dagID": "d"})
    assert (out["status"], out["metadata"]["airflow_dag_run_id"]) == ("running", "interlock__run-1")


def test_airflow_answer_without_a_dag_run_id_fails(aws_env, server, allow_loopback):
    pending_run()
    server.answer("POST", "/api/v1/dags/d/dagRuns", 200, {"state": "queued"})
    out = fire({"type": "airflow", "url": server.url(""), "dagID": "d"})
    assert (out["status"], out["failureCategory"], out["error"]) == (
        "failed",
        "PERMANENT",
        "airflow trigger: response missing dag_run_id",
    )


def test_databricks_run_now_with_job_parameters(aws_env, server, allow_loopback, api_token):
    pending_run()
    server.answer("POST", "/api/2.1/jobs/run-now", 200, {"run_id": 4242, "number_in_job": 1})
    out = fire(
        {
            "type": "databricks",
            "workspaceUrl": server.url("/"),
            "jobId": 77,
            "headers": {"Authorization": api_token},
            "arguments": {"day": "${date}"},
        }
    )
    assert out["status"] == "running"
    assert out["metadata"] == {"databricks_workspace_url": server.url(""), "databricks_run_id": "4242"}
    assert server.requests[0].json() == {"job_id": 77, "job_parameters": {"day": DATE}, "idempotency_token": "run-1"}
    assert server.requests[0].headers["Authorization"] == f"Bearer {API_TOKEN}"


def test_databricks_runs_submit_sends_the_tasks(aws_env, server, allow_loopback):
    pending_run()
    server.answer("POST", "/api/2.1/jobs/runs/submit", 200, {"run_id": 7})
    body = {
        "tasks": [
            {
                "task_key": "load",
                "notebook_task": {"notebook_path": "/etl/load", "base_parameters": {"day": "${date}"}},
                "existing_cluster_id": "c-1",
            }
        ]
    }
    out = fire({"type": "databricks", "workspaceUrl": server.url(""), "jobName": "nightly-load", "body": body})
    assert out["metadata"]["databricks_run_id"] == "7"
    sent = server.requests[0].json()
    assert sent["run_name"] == "nightly-load" and sent["idempotency_token"] == "run-1"
    assert sent["tasks"][0]["notebook_task"]["base_parameters"] == {"day": DATE}


def test_databricks_without_job_id_or_tasks_is_a_config_error(aws_env, server, allow_loopback):
    pending_run()
    out = fire({"type": "databricks", "workspaceUrl": server.url(""), "jobName": "x"})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "set jobId (jobs/run-now) or body with tasks" in out["error"]
    assert server.requests == []


@pytest.mark.parametrize(
    "value, sendable",
    [("Bearer tök/Ωmega", True), ("Bearer \ud800", False), ("a\r\nX-Injected: 1", False), ("a\x00b", False)],
)
def test_a_non_ascii_header_is_sent_as_utf8_or_refused_permanently(aws_env, server, allow_loopback, value, sendable):
    pending_run()
    server.answer("POST", "/run", 200, b"ok")
    out = fire({"type": "http", "url": server.url("/run"), "headers": {"X-Token": value}})
    if sendable:
        assert out["status"] == "completed"
        assert server.requests[0].headers["X-Token"].encode("latin-1").decode("utf-8") == value
    else:
        assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
        assert "header 'X-Token'" in out["error"] and server.requests == []
