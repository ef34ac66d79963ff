"""Shared runs of the real program: built once per session (the first run builds the dependency layer)."""

from __future__ import annotations

import json
import os
import shutil
import uuid

import pytest

from components.stack_settings import PROJECT_ROOT
from tests.infra.harness import ProgramRun, run_program_full

ACCOUNT = "123456789012"
# The shipped pipelines name evaluators by path, so a stack deploying them needs a base URL (checked at preview).
REQUIRED = {"projectName": "team-a", "evaluatorBaseUrl": "https://evaluators.example.com"}
FULL_CONFIG = {
    **REQUIRED,
    "dataBucketName": "team-a-interlock-data",
    "kmsKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "allowedNetworks": ["10.0.0.0/8", "127.0.0.1/32"],
    "secretArns": [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:team-a/api-AbCdEf"],
    "evaluatorBucketArns": ["arn:aws:s3:::landing-zone"],
    "schedules": [
        {
            "name": "ingest-daily",
            "pipeline": "sales-raw-ingest",
            "scheduleID": "daily",
            "expression": "cron(0 6 * * ? *)",
            "timezone": "Europe/London",
        },
        {"name": "features-hourly", "pipeline": "customer-features", "expression": "rate(1 hour)"},
    ],
    "alertSubscriptions": [
        {"protocol": "email", "endpoint": "oncall@example.com"},
        {"protocol": "https", "endpoint": "https://hooks.example.com/interlock"},
        {"protocol": "sqs", "endpoint": f"arn:aws:sqs:us-east-1:{ACCOUNT}:alert-archive"},
        {"protocol": "lambda", "endpoint": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:pager"},
    ],
    "triggerPermissions": {
        "glue": [f"arn:aws:glue:us-east-1:{ACCOUNT}:job/sales-ingest"],
        "emr": [f"arn:aws:elasticmapreduce:us-east-1:{ACCOUNT}:cluster/j-ABC123"],
        "emrServerless": [
            f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/00abc",
            f"arn:aws:iam::{ACCOUNT}:role/emr-job-runner",
        ],
        "stepFunctions": [f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:downstream-etl"],
        "lambda": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:start-job"],
    },
}


@pytest.fixture(scope="session")
def default_run() -> ProgramRun:
    """Only the required keys set: every other value from Pulumi.yaml's defaults."""
    return run_program_full(REQUIRED)


@pytest.fixture(scope="session")
def full_run() -> ProgramRun:
    """Every optional feature switched on."""
    return run_program_full(FULL_CONFIG)


def policies(run: ProgramRun) -> dict[str, dict]:
    """Role policy documents by logical name, parsed."""
    return {
        resource.name: json.loads(resource.inputs["policy"])
        for resource in run.of_type("aws:iam/rolePolicy:RolePolicy")
    }


def statements(document: dict) -> list[dict]:
    return document["Statement"]


def actions_of(document: dict) -> set[str]:
    return {action for statement in statements(document) for action in statement["Action"]}


@pytest.fixture
def pipelines_dir():
    """A scratch pipelines dir inside the project (pipelinesDir is relative), removed afterwards."""
    relative = f"build/test-pipelines-{uuid.uuid4().hex[:8]}"
    path = os.path.join(PROJECT_ROOT, relative)
    os.makedirs(path)
    yield relative, path
    shutil.rmtree(path, ignore_errors=True)
