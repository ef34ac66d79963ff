"""Trigger Lambda in dry run: the request the start would send is recorded (secrets masked), nothing is started,
claimed or logged, and the run ends CANCELLED."""

import json

import boto3
import pytest

from handlers import trigger
from handlers.interlock import settings, store
from outbound_aws import API_TOKEN, DATE, OUTPUT_KEYS, glue_job, pending_run, trigger_event


def register(trigger_config: dict, dry_run: bool | None = True) -> None:
    config = {"name": "sales", "archetype": "batch-ingestion", "trigger": trigger_config}
    store.put_pipeline(config if dry_run is None else {**config, "dryRun": dry_run})


def fire(config: dict, run_id: str = "run-1") -> dict:
    out = trigger.handler(trigger_event(config, run_id=run_id), None)
    assert set(out) == OUTPUT_KEYS
    return out


def would_trigger() -> list[dict]:
    return [e for e in store.list_events("sales") if e["kind"] == "DRY_RUN_WOULD_TRIGGER"]


def test_a_dry_run_pipeline_records_the_request_and_starts_nothing(aws_env):
    job = glue_job()
    config = {"type": "glue", "jobName": job, "arguments": {"--day": "${date}", "--hour": "${hour}"}}
    register(config)
    pending_run()
    out = fire(config)
    assert out == {
        "runID": "run-1",
        "status": "dryRun",
        "metadata": {"dryRunBy": "pipeline"},
        "error": None,
        "failureCategory": None,
        "completion": "event",
    }
    assert boto3.client("glue").get_job_runs(JobName=job)["JobRuns"] == []
    assert store.get_run_log("sales", DATE, "h07") is None  # no claim, no run log
    state = store.get_run("run-1")
    assert state["status"] == "CANCELLED" and state["metadata"] == {"dryRunBy": "pipeline"}
    (event,) = would_trigger()
    assert (event["runID"], event["status"]) == ("run-1", "dryRun")
    assert event["details"] == {
        "date": DATE,
        "scheduleID": "h07",
        "attempt": 1,
        "dryRunBy": "pipeline",
        "request": {
            "type": "glue",
            "target": "glue:StartJobRun",
            "parameters": {"JobName": job, "Arguments": {"--day": DATE, "--hour": "07"}},
        },
    }
    assert event["message"] == "dry run: would trigger glue:StartJobRun"
    assert aws_env.alerts() == []


def test_the_recorded_request_is_the_one_a_real_start_sends(aws_env):
    job = glue_job()
    config = {"type": "glue", "jobName": job, "arguments": {"--day": "${date}", "--pipeline": "${pipelineID}"}}
    register(config)
    pending_run("run-1")
    fire(config, "run-1")
    register(config, dry_run=False)
    pending_run("run-2")
    started = fire(config, "run-2")
    job_run = boto3.client("glue").get_job_run(JobName=job, RunId=started["metadata"]["glue_job_run_id"])["JobRun"]
    (event,) = would_trigger()
    assert event["details"]["request"]["parameters"]["Arguments"] == job_run["Arguments"]


def test_a_stack_in_dry_run_overrides_a_pipelines_own_false(aws_env, monkeypatch):
    monkeypatch.setenv("INTERLOCK_DRY_RUN", "true")
    settings.reset()
    job = glue_job()
    config = {"type": "glue", "jobName": job}
    register(config, dry_run=False)
    pending_run()
    out = fire(config)
    assert (out["status"], out["metadata"]) == ("dryRun", {"dryRunBy": "stack"})
    assert boto3.client("glue").get_job_runs(JobName=job)["JobRuns"] == []
    assert would_trigger()[0]["details"]["dryRunBy"] == "stack"


def test_an_invalid_stack_dry_run_setting_fails_loudly(aws_env, monkeypatch):
    monkeypatch.setenv("INTERLOCK_DRY_RUN", "maybe")
    settings.reset()
    job = glue_job()
    pending_run()
    with pytest.raises(settings.SettingError, match="INTERLOCK_DRY_RUN"):
        trigger.handler(trigger_event({"type": "glue", "jobName": job}), None)
    assert boto3.client("glue").get_job_runs(JobName=job)["JobRuns"] == []


def test_a_retried_dry_run_records_once(aws_env):
    config = {"type": "glue", "jobName": glue_job()}
    register(config)
    pending_run()
    first, second = fire(config), fire(config)
    assert first == second and second["status"] == "dryRun"
    assert len(would_trigger()) == 1


def test_a_secret_in_headers_or_arguments_never_leaves_the_lambda(aws_env, api_token, captured_logs):
    config = {
        "type": "databricks",
        "workspaceUrl": "https://dbc-1234.cloud.databricks.com",
        "jobId": 42,
        "headers": {"Authorization": api_token},
        "arguments": {"day": "${date}", "token": API_TOKEN, "note": f"pasted Bearer {API_TOKEN} here"},
    }
    register(config)
    pending_run()
    out = fire(config)
    assert out["status"] == "dryRun"
    (event,) = would_trigger()
    request = event["details"]["request"]
    assert request["target"] == "POST https://dbc-1234.cloud.databricks.com/api/2.1/jobs/run-now"
    assert request["headers"] == {"Authorization": api_token}  # the reference, resolved only to prove it works
    assert request["body"]["job_parameters"]["day"] == DATE
    assert request["body"]["job_parameters"]["token"] == "***"
    assert API_TOKEN not in request["body"]["job_parameters"]["note"]
    recorded = json.dumps([out, store.get_run("run-1"), store.list_events("sales"), aws_env.alerts()])
    assert API_TOKEN not in recorded and API_TOKEN not in captured_logs.getvalue()
    assert "would trigger POST https://dbc-1234" in captured_logs.getvalue()


def test_a_request_that_cannot_be_built_is_recorded_as_what_would_fail(aws_env):
    config = {"type": "http", "url": "https://jobs.example.com/run", "headers": {"Authorization": "{{secret:missing}}"}}
    register(config)
    pending_run()
    out = fire(config)
    assert out["status"] == "dryRun"
    (event,) = would_trigger()
    assert "secret 'missing' could not be read" in event["details"]["error"]
    assert event["details"]["failureCategory"] == "PERMANENT" and "request" not in event["details"]
    assert event["message"].startswith("dry run: would have failed to trigger: ")
    assert aws_env.alerts() == [] and store.get_run("run-1")["status"] == "CANCELLED"


def test_a_pipeline_without_dry_run_is_triggered_as_before(aws_env):
    job = glue_job()
    config = {"type": "glue", "jobName": job}
    register(config, dry_run=None)
    pending_run()
    assert fire(config)["status"] == "running"
    assert len(boto3.client("glue").get_job_runs(JobName=job)["JobRuns"]) == 1
    assert would_trigger() == []
