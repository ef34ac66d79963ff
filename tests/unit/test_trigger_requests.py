"""What each trigger type's start would send, built without sending it (what a dry run records): the target, the
templated parameters or body, headers with their secret references, all as JSON data."""

import json

import pytest

from handlers.interlock import triggers
from handlers.interlock.triggers import RunContext, TriggerError

RUN = RunContext(pipeline_id="sales", schedule_id="h07", date="2026-03-03", run_id="run-1")
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:job"
AUTH = {"Authorization": "Bearer {{secret:prod/api#token}}"}

CASES = [
    (
        {"type": "http", "url": "https://jobs.example/run", "headers": AUTH, "body": {"day": "${date}"}},
        {"target": "POST https://jobs.example/run", "headers": AUTH, "body": {"day": "2026-03-03"}},
    ),
    (
        {"type": "airflow", "url": "https://af.example/", "dagID": "etl", "body": {"hour": "${hour}"}},
        {
            "target": "POST https://af.example/api/v1/dags/etl/dagRuns",
            "headers": {},
            "body": {"dag_run_id": "interlock__run-1", "conf": {"hour": "07"}},
        },
    ),
    (
        {"type": "databricks", "workspaceUrl": "https://dbc.example", "jobId": 7, "arguments": {"d": "${date}"}},
        {
            "target": "POST https://dbc.example/api/2.1/jobs/run-now",
            "headers": {},
            "body": {"job_id": 7, "job_parameters": {"d": "2026-03-03"}, "idempotency_token": "run-1"},
        },
    ),
    (
        {"type": "glue", "jobName": " etl ", "arguments": {"--day": "${date}"}},
        {"target": "glue:StartJobRun", "parameters": {"JobName": "etl", "Arguments": {"--day": "2026-03-03"}}},
    ),
    (
        {"type": "emr", "clusterId": "j-1", "jobName": "step", "args": ["spark-submit"], "arguments": {"b": 2, "a": 1}},
        {
            "target": "emr:AddJobFlowSteps",
            "parameters": {
                "JobFlowId": "j-1",
                "Steps": [
                    {
                        "Name": "step",
                        "ActionOnFailure": "CONTINUE",
                        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "a=1", "b=2"]},
                    }
                ],
            },
        },
    ),
    (
        {
            "type": "emr-serverless",
            "applicationId": "app",
            "executionRoleArn": "arn:aws:iam::1:role/r",
            "jobName": "n",
            "entryPoint": "s3://b/e.py",
        },
        {
            "target": "emr-serverless:StartJobRun",
            "parameters": {
                "applicationId": "app",
                "executionRoleArn": "arn:aws:iam::1:role/r",
                "name": "n",
                "jobDriver": {"sparkSubmit": {"entryPoint": "s3://b/e.py"}},
                "clientToken": "run-1",
            },
        },
    ),
    (
        {"type": "step-function", "stateMachineArn": ARN, "arguments": {"day": "${date}"}},
        {
            "target": "stepfunctions:StartExecution",
            "parameters": {"stateMachineArn": ARN, "name": "interlock-run-1", "input": '{"day": "2026-03-03"}'},
        },
    ),
    (
        {"type": "lambda", "functionName": "fn", "body": {"day": "${date}"}},
        {
            "target": "lambda:Invoke",
            "parameters": {
                "FunctionName": "fn",
                "InvocationType": "RequestResponse",
                "Payload": '{"day": "2026-03-03"}',
            },
        },
    ),
]


@pytest.mark.parametrize("config, described", CASES, ids=[case[0]["type"] for case in CASES])
def test_each_type_describes_the_request_its_start_sends(config, described):
    assert triggers.validate(config) == []
    request = triggers.request(config, RUN)
    assert request.describe() == described
    json.dumps(request.describe())  # what the event stores


@pytest.mark.parametrize(
    "config, message",
    [
        ({"type": "http", "url": "https://x.example", "method": "TRACE"}, "method 'TRACE' is not one of"),
        ({"type": "glue", "jobName": " "}, "jobName is required"),
        ({"type": "lambda", "functionName": "fn", "invocationType": "DryRun"}, "invocationType must be one of"),
    ],
)
def test_a_request_that_cannot_be_built_fails_as_the_start_would(config, message):
    with pytest.raises(TriggerError, match=message):
        triggers.request(config, RUN)
