"""Trigger Lambda with the AWS job services (moto): requests sent, run state moves, retries start nothing twice."""

import json

import boto3
import pytest
from moto.awslambda.models import LambdaFunction

from handlers import trigger
from handlers.interlock import store
from outbound_aws import (
    DATE,
    OUTPUT_KEYS,
    emr_cluster,
    emr_serverless_app,
    glue_job,
    lambda_function,
    pending_run,
    role_arn,
    state_machine,
    trigger_event,
)


@pytest.fixture
def pending(aws_env):
    """The run resolvePipeline recorded for DATE (run-1, PENDING): the one `fire` triggers."""
    return pending_run()


def fire(config, **kwargs):
    out = trigger.handler(trigger_event(config, **kwargs), None)
    assert set(out) == OUTPUT_KEYS
    return out


def test_glue_starts_a_job_run_with_templated_arguments(pending):
    job = glue_job()
    out = fire(
        {
            "type": "glue",
            "jobName": job,
            "arguments": {"--day": "${date}", "--hour": "${hour}", "--pipeline": "${pipelineID}", "--raw": "$HOME"},
        }
    )
    assert (out["status"], out["error"], out["failureCategory"]) == ("running", None, None)
    run_id = out["metadata"]["glue_job_run_id"]
    assert out["metadata"] == {"glue_job_name": job, "glue_job_run_id": run_id}
    job_run = boto3.client("glue").get_job_run(JobName=job, RunId=run_id)["JobRun"]
    assert job_run["Arguments"] == {"--day": DATE, "--hour": "07", "--pipeline": "sales", "--raw": "$HOME"}
    state = store.get_run("run-1")
    assert state["status"] == "RUNNING" and state["metadata"] == out["metadata"]
    fired = [e for e in store.list_events("sales") if e["kind"] == "TRIGGER_FIRED"]
    assert fired[0]["runID"] == "run-1" and fired[0]["details"]["glue_job_run_id"] == run_id


def test_templates_use_the_runs_own_date_when_the_input_has_none(pending):
    job = glue_job()
    event = dict(trigger_event({"type": "glue", "jobName": job, "arguments": {"--day": "${date}"}}), date="")
    out = trigger.handler(event, None)
    job_run = boto3.client("glue").get_job_run(JobName=job, RunId=out["metadata"]["glue_job_run_id"])["JobRun"]
    assert job_run["Arguments"] == {"--day": DATE}


def test_a_retried_trigger_of_a_running_run_starts_nothing(pending):
    job = glue_job()
    first = fire({"type": "glue", "jobName": job})
    second = fire({"type": "glue", "jobName": job})
    assert second == first
    assert len(boto3.client("glue").get_job_runs(JobName=job)["JobRuns"]) == 1


def test_a_run_left_triggering_is_not_restarted_by_a_non_idempotent_type(aws_env, pending):
    store.transition_run("run-1", "TRIGGERING")
    job = glue_job()
    out = fire({"type": "glue", "jobName": job})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "already being triggered" in out["error"]
    assert boto3.client("glue").get_job_runs(JobName=job)["JobRuns"] == []
    assert [a["alertType"] for a in aws_env.alerts()] == ["TRIGGER_FAILED"]


def test_a_missing_run_is_created_then_triggered(aws_env):
    job = glue_job()
    out = fire({"type": "glue", "jobName": job}, run_id="run-new")
    assert out["status"] == "running"
    assert store.get_run("run-new")["status"] == "RUNNING"


def test_glue_api_errors_fail_the_run_with_a_category_and_an_alert(aws_env, pending):
    out = fire({"type": "glue", "jobName": "no-such-job"})
    assert (out["status"], out["failureCategory"], out["metadata"]) == ("failed", "PERMANENT", {})
    assert out["error"].startswith("glue trigger: StartJobRun failed")
    state = store.get_run("run-1")
    assert state["status"] == "FAILED" and state["metadata"]["failureCategory"] == "PERMANENT"
    [alert] = aws_env.alerts()
    assert (alert["alertType"], alert["level"], alert["runID"], alert["pipelineID"]) == (
        "TRIGGER_FAILED",
        "error",
        "run-1",
        "sales",
    )
    assert alert["details"]["failureCategory"] == "PERMANENT"
    # A retry of a failed run reports the failure again instead of starting anything.
    again = fire({"type": "glue", "jobName": "no-such-job"})
    assert (again["status"], again["error"], again["failureCategory"]) == ("failed", out["error"], "PERMANENT")


def test_emr_adds_a_step_with_deterministic_arguments(pending):
    cluster = emr_cluster()
    out = fire(
        {
            "type": "emr",
            "clusterId": cluster,
            "jobName": "daily-agg",
            "args": ["spark-submit", "s3://code/agg.py", "--date", "${date}"],
            "arguments": {"zone": "eu", "alpha": "1", "hour": "${hour}"},
        }
    )
    assert out["status"] == "running"
    step = boto3.client("emr").describe_step(ClusterId=cluster, StepId=out["metadata"]["emr_step_id"])["Step"]
    assert step["Name"] == "daily-agg" and step["ActionOnFailure"] == "CONTINUE"
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert step["Config"]["Args"] == [
        "spark-submit",
        "s3://code/agg.py",
        "--date",
        DATE,
        "alpha=1",
        "hour=07",
        "zone=eu",
    ]
    assert out["metadata"]["emr_cluster_id"] == cluster


def test_emr_serverless_sends_the_execution_role_and_job_driver(pending):
    app = emr_serverless_app()
    role = role_arn("emr-job-role")
    out = fire(
        {
            "type": "emr-serverless",
            "applicationId": app,
            "executionRoleArn": role,
            "jobName": "features",
            "entryPoint": "s3://code/features.py",
            "entryPointArguments": ["--date", "${date}"],
            "sparkSubmitParameters": "--conf spark.executor.cores=2",
        }
    )
    assert out["status"] == "running"
    job_run = boto3.client("emr-serverless").get_job_run(
        applicationId=app, jobRunId=out["metadata"]["emr_sl_job_run_id"]
    )["jobRun"]
    assert job_run["executionRole"] == role and job_run["name"] == "features"
    assert job_run["jobDriver"] == {
        "sparkSubmit": {
            "entryPoint": "s3://code/features.py",
            "entryPointArguments": ["--date", DATE],
            "sparkSubmitParameters": "--conf spark.executor.cores=2",
        }
    }


def test_emr_serverless_without_a_role_is_a_config_error(pending):
    out = fire({"type": "emr-serverless", "applicationId": "a", "jobName": "n", "entryPoint": "s3://x"})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert out["error"] == "emr-serverless trigger: executionRoleArn is required"


def test_step_function_execution_is_named_from_the_run(aws_env):
    pending_run("run-2026-11-28-h07-abc")
    arn = state_machine()
    config = {"type": "step-function", "stateMachineArn": arn, "body": {"day": "${date}", "keep": "${other}"}}
    out = fire(config, run_id="run-2026-11-28-h07-abc")
    assert out["status"] == "running"
    execution = boto3.client("stepfunctions").describe_execution(executionArn=out["metadata"]["sfn_execution_arn"])
    assert execution["name"] == "interlock-run-2026-11-28-h07-abc"
    assert json.loads(execution["input"]) == {"day": DATE, "keep": "${other}"}


def test_a_retry_after_an_interrupted_attempt_reuses_its_execution(aws_env):
    """The earlier attempt started the execution but died before recording it (run left TRIGGERING)."""
    arn = state_machine()
    sfn = boto3.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=arn, name="interlock-run-1", input=json.dumps({"day": DATE}))
    pending_run()
    store.transition_run("run-1", "TRIGGERING")
    out = fire({"type": "step-function", "stateMachineArn": arn, "arguments": {"day": "${date}"}})
    assert (out["status"], out["metadata"]) == ("running", {"sfn_execution_arn": started["executionArn"]})
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1
    assert store.get_run("run-1")["status"] == "RUNNING"


def test_step_function_reports_the_existing_execution_when_the_name_is_taken(aws_env):
    arn = state_machine()
    sfn = boto3.client("stepfunctions")
    existing = sfn.start_execution(stateMachineArn=arn, name="interlock-run-1", input="{}")["executionArn"]
    sfn.stop_execution(executionArn=existing)
    pending_run()
    store.transition_run("run-1", "TRIGGERING")
    out = fire({"type": "step-function", "stateMachineArn": arn, "arguments": {"a": "b"}})
    assert (out["status"], out["metadata"]) == ("running", {"sfn_execution_arn": existing})
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1


def test_lambda_invokes_the_function_with_the_templated_payload(aws_env, monkeypatch):
    received = []

    def run_in_process(self, event=None):
        received.append(event if isinstance(event, dict) else json.loads(event))
        return json.dumps({"ok": True}), False, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", run_in_process)
    pending_run()
    lambda_function()
    out = fire(
        {"type": "lambda", "functionName": "refresh-cache", "body": {"day": "${date}", "schedule": "${scheduleID}"}}
    )
    assert (out["status"], out["error"]) == ("completed", None)
    assert out["metadata"] == {"lambda_function_name": "refresh-cache", "lambda_status_code": 200}
    assert received == [{"day": DATE, "schedule": "h07"}]
    assert store.get_run("run-1")["status"] == "COMPLETED"


def test_a_lambda_function_error_fails_the_run(aws_env, monkeypatch):
    def crash(self, event=None):
        return json.dumps({"errorMessage": "table\nlocked", "errorType": "RuntimeError"}), True, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", crash)
    pending_run()
    lambda_function()
    out = fire({"type": "lambda", "functionName": "refresh-cache"})
    assert (out["status"], out["failureCategory"]) == ("failed", "TRANSIENT")
    assert "refresh-cache failed" in out["error"] and "table locked" in out["error"] and "\n" not in out["error"]


@pytest.mark.parametrize(
    "config, error",
    [
        ({"type": "command", "command": "curl http://169.254.169.254"}, "'command' is not supported"),
        (None, "no trigger configuration provided"),
        ({"type": "mainframe"}, "unknown trigger type 'mainframe'"),
        ({"type": "glue"}, "glue trigger: jobName is required"),
    ],
)
def test_unusable_trigger_configs_fail_permanently_with_an_alert(aws_env, pending, config, error):
    out = fire(config)
    assert (out["status"], out["failureCategory"], out["metadata"]) == ("failed", "PERMANENT", {})
    assert error in out["error"]
    assert store.get_run("run-1")["status"] == "FAILED"
    assert [a["alertType"] for a in aws_env.alerts()] == ["TRIGGER_FAILED"]


def test_input_without_a_run_id_is_refused_without_touching_any_run(aws_env):
    out = trigger.handler({"pipelineID": "sales", "trigger": {"type": "glue", "jobName": "x"}}, None)
    assert (out["status"], out["failureCategory"], out["runID"]) == ("failed", "PERMANENT", "")
    assert out["error"] == "invalid trigger input: runID required"
    assert store.list_runs("sales") == []
    assert len(aws_env.alerts()) == 1


# --- the run log ledger -------------------------------------------------------------------------------------------


def test_the_attempt_is_claimed_before_the_start_and_the_job_recorded_after(pending):
    job = glue_job()
    out = trigger.handler(dict(trigger_event({"type": "glue", "jobName": job}), attempt=2, execution="exec-1"), None)
    claim = store.get_run_log("sales", DATE, "h07")["inFlight"]
    assert {k: claim[k] for k in ("attempt", "runID", "execution", "triggerType")} == {
        "attempt": 2,
        "runID": "run-1",
        "execution": "exec-1",
        "triggerType": "glue",
    }
    assert claim["metadata"] == out["metadata"]


def test_a_claim_held_by_another_run_starts_nothing(pending):
    store.claim_attempt("sales", DATE, "h07", {"attempt": 1, "runID": "run-0", "execution": "exec-0"})
    job = glue_job()
    out = fire({"type": "glue", "jobName": job})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "claimed by another run" in out["error"]
    assert boto3.client("glue").get_job_runs(JobName=job)["JobRuns"] == []
    assert store.get_run_log("sales", DATE, "h07")["inFlight"]["runID"] == "run-0"


def test_a_claim_that_names_the_job_is_resumed_without_a_second_start(pending):
    store.claim_attempt("sales", DATE, "h07", {"attempt": 1, "runID": "run-1", "execution": "exec-0"})
    store.record_job("sales", DATE, "h07", "run-1", {"glue_job_name": "j", "glue_job_run_id": "jr_1"})
    job = glue_job()
    out = fire({"type": "glue", "jobName": job})
    assert (out["status"], out["metadata"]) == ("running", {"glue_job_name": "j", "glue_job_run_id": "jr_1"})
    assert boto3.client("glue").get_job_runs(JobName=job)["JobRuns"] == []
    assert store.get_run("run-1")["status"] == "RUNNING"


def test_a_claim_without_the_jobs_identity_is_not_started_again_by_a_non_idempotent_type(pending):
    store.claim_attempt("sales", DATE, "h07", {"attempt": 1, "runID": "run-1", "execution": "exec-0"})
    job = glue_job()
    out = fire({"type": "glue", "jobName": job})
    assert (out["status"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert boto3.client("glue").get_job_runs(JobName=job)["JobRuns"] == []


def test_a_job_identity_too_large_to_track_is_a_permanent_failure(aws_env, monkeypatch):
    from handlers.interlock.triggers import Started, firing

    pending_run()
    monkeypatch.setattr(firing, "start", lambda config, run: Started("running", {"job_id": "x" * 300_000}))
    out = fire({"type": "glue", "jobName": "big"})
    assert (out["status"], out["failureCategory"], out["metadata"]) == ("failed", "PERMANENT", {})
    assert "cannot be tracked" in out["error"] and len(json.dumps(out)) < 2048
    assert store.get_run("run-1")["status"] == "FAILED"
