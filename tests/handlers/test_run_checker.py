"""Run-checker Lambda: provider states mapped per type, transient errors keep running, the poll limit."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from handlers import run_checker, trigger
from handlers.interlock import clients, secrets, store
from outbound_aws import emr_cluster, emr_serverless_app, glue_job, pending_run, role_arn, state_machine, trigger_event

KEYS = {"state", "message", "failureCategory", "attempt"}


def check(trigger_type, metadata, attempt=0, max_attempts=120, run_id="run-1"):
    out = run_checker.handler(
        {
            "pipelineID": "sales",
            "runID": run_id,
            "triggerType": trigger_type,
            "metadata": metadata,
            "attempt": attempt,
            "maxAttempts": max_attempts,
        },
        None,
    )
    assert set(out) == KEYS
    assert out["attempt"] == attempt + 1
    return out


def started(config):
    pending_run()
    out = trigger.handler(trigger_event(config), None)
    assert out["status"] == "running", out
    return out["metadata"]


# --- the real services (moto) ---------------------------------------------------------------------------------


def test_glue_run_is_polled_to_success(aws_env):
    metadata = started({"type": "glue", "jobName": glue_job()})
    states = [check("glue", metadata, attempt=n) for n in range(4)]
    assert states[-1] == {"state": "succeeded", "message": "SUCCEEDED", "failureCategory": None, "attempt": 4}
    assert all(s["state"] in ("running", "succeeded") for s in states)
    assert store.get_run("run-1")["status"] == "RUNNING"  # read-only: logResult finalizes the run state


def test_emr_step_is_running(aws_env):
    metadata = started({"type": "emr", "clusterId": emr_cluster(), "jobName": "agg"})
    out = check("emr", metadata)
    assert out["state"] in ("running", "succeeded") and out["failureCategory"] is None


def test_emr_serverless_job_run_succeeds(aws_env):
    metadata = started(
        {
            "type": "emr-serverless",
            "applicationId": emr_serverless_app(),
            "jobName": "f",
            "executionRoleArn": role_arn("emr-role"),
            "entryPoint": "s3://code/f.py",
        }
    )
    assert check("emr-serverless", metadata)["state"] == "succeeded"


def test_step_function_running_then_aborted(aws_env):
    metadata = started({"type": "step-function", "stateMachineArn": state_machine()})
    assert check("step-function", metadata)["state"] == "running"
    boto3.client("stepfunctions").stop_execution(executionArn=metadata["sfn_execution_arn"])
    out = check("step-function", metadata, attempt=1)
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert out["message"].startswith("ABORTED")


def test_a_vanished_job_run_fails_permanently(aws_env):
    out = check("glue", {"glue_job_name": "gone", "glue_job_run_id": "jr_1"})
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert out["message"].startswith("glue status: GetJobRun failed")


# --- status mapping of every provider state (botocore Stubber on the real clients) ----------------------------

GLUE = {"glue_job_name": "j", "glue_job_run_id": "jr_1"}
EMR = {"emr_cluster_id": "j-1", "emr_step_id": "s-1"}
EMR_SL = {"emr_sl_application_id": "a", "emr_sl_job_run_id": "r"}
SFN = {"sfn_execution_arn": "arn:aws:states:us-east-1:123456789012:execution:m:interlock-run-1"}


def glue_answer(state):
    return "get_job_run", {"JobRun": {"Id": "jr_1", "JobRunState": state}}


def emr_answer(state):
    return "describe_step", {"Step": {"Id": "s-1", "Status": {"State": state}}}


def emr_sl_answer(state):
    return "get_job_run", {
        "jobRun": {
            "applicationId": "a",
            "jobRunId": "r",
            "arn": "arn:aws:emr-serverless:us-east-1:123456789012:/applications/a/jobruns/r",
            "createdBy": "arn:aws:iam::123456789012:user/ops",
            "createdAt": 0,
            "updatedAt": 0,
            "executionRole": "arn:aws:iam::123456789012:role/r",
            "state": state,
            "stateDetails": "state details",
            "releaseLabel": "emr-7.0.0",
            "jobDriver": {"sparkSubmit": {"entryPoint": "s3://x"}},
        }
    }


def sfn_answer(state):
    return "describe_execution", {
        "executionArn": SFN["sfn_execution_arn"],
        "stateMachineArn": "arn:sm",
        "status": state,
        "startDate": 0,
    }


OK, RUNNING = ("succeeded", None), ("running", None)
FAILED, TIMED_OUT, STOPPED = ("failed", "TRANSIENT"), ("failed", "TIMEOUT"), ("failed", "PERMANENT")
# every provider state the types map, per type: the service stubbed, the job's metadata and the answer builder
PROVIDERS = {
    "glue": (
        "glue",
        GLUE,
        glue_answer,
        dict(
            SUCCEEDED=OK,
            FAILED=FAILED,
            ERROR=FAILED,
            TIMEOUT=TIMED_OUT,
            STOPPED=STOPPED,
            EXPIRED=STOPPED,
            STARTING=RUNNING,
            STOPPING=RUNNING,
            WAITING=RUNNING,
        ),
    ),
    "emr": (
        "emr",
        EMR,
        emr_answer,
        dict(
            COMPLETED=OK, FAILED=FAILED, INTERRUPTED=FAILED, CANCELLED=STOPPED, PENDING=RUNNING, CANCEL_PENDING=RUNNING
        ),
    ),
    "emr-serverless": (
        "emr-serverless",
        EMR_SL,
        emr_sl_answer,
        dict(SUCCESS=OK, FAILED=FAILED, CANCELLED=STOPPED, SCHEDULED=RUNNING, QUEUED=RUNNING),
    ),
    "step-function": (
        "stepfunctions",
        SFN,
        sfn_answer,
        dict(SUCCEEDED=OK, FAILED=FAILED, TIMED_OUT=TIMED_OUT, ABORTED=STOPPED, PENDING_REDRIVE=RUNNING),
    ),
}


@pytest.mark.parametrize("trigger_type, state", [(t, s) for t, provider in PROVIDERS.items() for s in provider[3]])
def test_provider_states_map_to_run_states(aws_env, trigger_type, state):
    service, metadata, answer, states = PROVIDERS[trigger_type]
    expected, category = states[state]
    operation, response = answer(state)
    with Stubber(clients.client(service)) as stub:
        stub.add_response(operation, response)
        out = check(trigger_type, metadata)
    assert (out["state"], out["failureCategory"]) == (expected, category)
    assert out["message"].startswith(state)


def test_a_long_job_error_text_is_cut_short_and_cleaned(aws_env):
    operation, response = glue_answer("FAILED")
    response["JobRun"]["ErrorMessage"] = "Traceback\r\n" + "x" * 100_000
    with Stubber(clients.client("glue")) as stub:
        stub.add_response(operation, response)
        out = check("glue", GLUE)
    assert (out["state"], out["failureCategory"]) == ("failed", "TRANSIENT")
    assert out["message"].startswith("FAILED: Traceback  xxx") and len(out["message"]) <= 310
    assert out["message"].isprintable()


def test_an_emr_serverless_run_that_timed_out_is_a_timeout(aws_env):
    operation, response = emr_sl_answer("FAILED")
    response["jobRun"]["stateDetails"] = "Job run exceeded its executionTimeoutMinutes (Timeout)"
    with Stubber(clients.client("emr-serverless")) as stub:
        stub.add_response(operation, response)
        out = check("emr-serverless", EMR_SL)
    assert (out["state"], out["failureCategory"]) == ("failed", "TIMEOUT")
    assert out["message"] == "FAILED: Job run exceeded its executionTimeoutMinutes (Timeout)"


@pytest.mark.parametrize(
    "code, http_status", [("ThrottlingException", 400), ("InternalServiceException", 500), ("ServiceUnavailable", 503)]
)
def test_transient_status_api_errors_keep_the_run_running(aws_env, code, http_status):
    with Stubber(clients.client("glue")) as stub:
        stub.add_client_error("get_job_run", service_error_code=code, http_status_code=http_status)
        out = check("glue", GLUE, attempt=3)
    assert (out["state"], out["failureCategory"], out["attempt"]) == ("running", None, 4)
    assert out["message"].startswith("status check failed, will retry: glue status: GetJobRun failed")


def test_permanent_status_api_errors_fail(aws_env):
    with Stubber(clients.client("stepfunctions")) as stub:
        stub.add_client_error("describe_execution", service_error_code="AccessDeniedException", http_status_code=403)
        out = check("step-function", SFN)
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")


def test_the_poll_limit_fails_a_job_that_is_still_running(aws_env):
    with Stubber(clients.client("glue")) as stub:
        stub.add_response(*glue_answer("RUNNING"))
        stub.add_response(*glue_answer("RUNNING"))
        stub.add_response(*glue_answer("SUCCEEDED"))
        assert check("glue", GLUE, attempt=8, max_attempts=10) == {
            "state": "running",
            "message": "RUNNING",
            "failureCategory": None,
            "attempt": 9,
        }
        out = check("glue", GLUE, attempt=9, max_attempts=10)
        assert (out["state"], out["failureCategory"], out["attempt"]) == ("failed", "PERMANENT", 10)
        assert "poll limit reached" in out["message"] and "after 10 status checks" in out["message"]
        # A job that finishes on the last allowed check is a success, not a limit failure.
        assert check("glue", GLUE, attempt=9, max_attempts=10)["state"] == "succeeded"


def test_a_transient_error_on_the_last_check_hits_the_poll_limit(aws_env):
    with Stubber(clients.client("glue")) as stub:
        stub.add_client_error("get_job_run", service_error_code="ThrottlingException")
        out = check("glue", GLUE, attempt=4, max_attempts=5)
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "poll limit reached" in out["message"]


@pytest.mark.parametrize("trigger_type", ["glue", "emr", "emr-serverless", "step-function", "airflow", "databricks"])
def test_missing_metadata_fails_permanently(aws_env, trigger_type):
    out = check(trigger_type, {})
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert out["message"].startswith("missing") and "metadata" in out["message"]


def test_synchronous_and_unknown_types(aws_env):
    assert check("http", {})["state"] == "succeeded"
    assert check("lambda", {})["state"] == "succeeded"
    out = check("command", {})
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    out = run_checker.handler({"runID": "r"}, None)
    assert (out["state"], out["failureCategory"], out["attempt"]) == ("failed", "PERMANENT", 1)
    assert out["message"] == "invalid run-checker input: triggerType required"
    out = check("spark-magic", {})
    assert out["failureCategory"] == "PERMANENT" and "unknown trigger type 'spark-magic'" in out["message"]


def test_a_request_without_max_attempts_is_refused(aws_env):
    """The state machine always sends maxAttempts: a request without one is invalid, not polled on a guess."""
    out = run_checker.handler(
        {"pipelineID": "sales", "runID": "r", "triggerType": "glue", "metadata": GLUE, "attempt": 0}, None
    )
    assert (out["state"], out["failureCategory"], out["attempt"]) == ("failed", "PERMANENT", 1)
    assert out["message"] == "invalid run-checker input: maxAttempts required"


# --- HTTP job APIs on loopback --------------------------------------------------------------------------------

AIRFLOW_PATH = "/api/v2/dags/daily_sales/dagRuns/interlock__run-1"


@pytest.fixture
def airflow_pipeline(aws_env, server):
    """A registered pipeline whose airflow trigger authenticates with a secret reference."""
    secrets.clear_cache()
    boto3.client("secretsmanager").create_secret(Name="airflow/token", SecretString="af-token-123")
    store.put_pipeline(
        {
            "name": "sales",
            "archetype": "batch-ingestion",
            "trigger": {
                "type": "airflow",
                "url": server.url(""),
                "dagID": "daily_sales",
                "apiVersion": "v2",
                "headers": {"Authorization": "Bearer {{secret:airflow/token}}"},
            },
        }
    )
    yield {
        "airflow_url": server.url(""),
        "airflow_dag_id": "daily_sales",
        "airflow_dag_run_id": "interlock__run-1",
        "airflow_api_version": "v2",
    }
    secrets.clear_cache()


@pytest.mark.parametrize(
    "state, expected, category",
    [
        ("success", "succeeded", None),
        ("failed", "failed", "TRANSIENT"),
        ("running", "running", None),
        ("queued", "running", None),
    ],
)
def test_airflow_states_with_the_pipelines_secret_header(
    airflow_pipeline, server, allow_loopback, state, expected, category
):
    server.answer("GET", AIRFLOW_PATH, 200, {"dag_run_id": "interlock__run-1", "state": state})
    out = check("airflow", airflow_pipeline)
    assert (out["state"], out["failureCategory"]) == (expected, category)
    assert server.requests[0].headers["Authorization"] == "Bearer af-token-123"
    assert "af-token-123" not in json.dumps(out)


def test_airflow_unavailable_keeps_running_and_unauthorized_fails(airflow_pipeline, server, allow_loopback):
    server.answer("GET", AIRFLOW_PATH, 503, b"maintenance")
    assert check("airflow", airflow_pipeline)["state"] == "running"
    server.answer("GET", AIRFLOW_PATH, 401, b"Bearer af-token-123 rejected")
    out = check("airflow", airflow_pipeline)
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "af-token-123" not in out["message"] and "***" in out["message"]


def test_status_calls_go_through_the_ssrf_guard(airflow_pipeline, server, no_allowlist):
    server.answer("GET", AIRFLOW_PATH, 200, {"state": "success"})
    out = check("airflow", airflow_pipeline)
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "refused" in out["message"]
    assert server.requests == []


@pytest.mark.parametrize(
    "state, expected, category, message",
    [
        ({"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}, "succeeded", None, "TERMINATED/SUCCESS"),
        ({"life_cycle_state": "TERMINATED", "result_state": "FAILED"}, "failed", "TRANSIENT", "TERMINATED/FAILED"),
        ({"life_cycle_state": "TERMINATED", "result_state": "TIMEDOUT"}, "failed", "TIMEOUT", "TERMINATED/TIMEDOUT"),
        ({"life_cycle_state": "TERMINATED", "result_state": "CANCELED"}, "failed", "PERMANENT", "TERMINATED/CANCELED"),
        ({"life_cycle_state": "INTERNAL_ERROR"}, "failed", "TRANSIENT", "INTERNAL_ERROR"),
        ({"life_cycle_state": "SKIPPED"}, "failed", "PERMANENT", "SKIPPED"),
        ({"life_cycle_state": "RUNNING"}, "running", None, "RUNNING"),
        ({"life_cycle_state": "PENDING"}, "running", None, "PENDING"),
    ],
)
def test_databricks_states(aws_env, server, allow_loopback, state, expected, category, message):
    server.answer("GET", "/api/2.1/jobs/runs/get", 200, {"run_id": 42, "state": state})
    out = check("databricks", {"databricks_workspace_url": server.url(""), "databricks_run_id": "42"})
    assert (out["state"], out["failureCategory"], out["message"]) == (expected, category, message)
    assert server.requests[0].path == "/api/2.1/jobs/runs/get?run_id=42"
