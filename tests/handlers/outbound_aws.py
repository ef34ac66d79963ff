"""Shared setup for the trigger and run-checker tests: a run as resolvePipeline leaves it, and AWS job resources."""

from __future__ import annotations

import io
import json
import zipfile

import boto3

from handlers.interlock import store

DATE = "2026-11-28"
ACCOUNT = "123456789012"
OUTPUT_KEYS = {"runID", "status", "metadata", "error", "failureCategory", "completion"}
API_TOKEN = "s3cr3t-token-value"  # a job API's bearer token, kept in Secrets Manager by the api_token fixture


def pending_run(run_id: str = "run-1", pipeline_id: str = "sales", schedule_id: str = "h07") -> dict:
    return store.create_run(run_id, pipeline_id, schedule_id=schedule_id, date=DATE)


def trigger_event(
    trigger: dict | None, run_id: str = "run-1", pipeline_id: str = "sales", schedule_id: str = "h07"
) -> dict:
    return {"pipelineID": pipeline_id, "scheduleID": schedule_id, "date": DATE, "trigger": trigger, "runID": run_id}


def role_arn(name: str = "job-role") -> str:
    iam = boto3.client("iam")
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def glue_job(name: str = "nightly-etl") -> str:
    boto3.client("glue").create_job(
        Name=name, Role=role_arn(), Command={"Name": "glueetl", "ScriptLocation": "s3://b/x.py"}
    )
    return name


def emr_cluster() -> str:
    return boto3.client("emr").run_job_flow(
        Name="analytics",
        ReleaseLabel="emr-7.0.0",
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
    )["JobFlowId"]


def emr_serverless_app() -> str:
    return boto3.client("emr-serverless").create_application(name="spark", releaseLabel="emr-7.0.0", type="SPARK")[
        "applicationId"
    ]


def state_machine(name: str = "downstream") -> str:
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    return boto3.client("stepfunctions").create_state_machine(
        name=name, definition=definition, roleArn=role_arn("sfn-role")
    )["stateMachineArn"]


def lambda_function(name: str = "refresh-cache") -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn(),
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
    )["FunctionArn"]
