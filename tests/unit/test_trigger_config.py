"""Trigger config validation (run at pipeline load time) and the type registry."""

import pytest

from handlers.interlock import triggers
from handlers.interlock.triggers import TriggerError, validate


@pytest.mark.parametrize(
    "config",
    [
        {"type": "http", "url": "https://example.com/hook", "body": {"day": "${date}"}, "headers": {"A": "b"}},
        {"type": "airflow", "url": "https://af", "dagID": "d", "apiVersion": "v2"},
        {"type": "glue", "jobName": "j", "arguments": {"--day": "${date}", "--n": 3}},
        {"type": "emr", "clusterId": "j-1", "jobName": "s", "args": ["spark-submit", "x.py"]},
        {
            "type": "emr-serverless",
            "applicationId": "a",
            "executionRoleArn": "arn:aws:iam::1:role/r",
            "jobName": "n",
            "entryPoint": "s3://b/x.py",
        },
        {"type": "step-function", "stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m"},
        {"type": "databricks", "workspaceUrl": "https://w", "jobId": 42},
        {"type": "databricks", "workspaceUrl": "https://w", "body": {"tasks": [{"task_key": "t"}]}},
        {"type": "lambda", "functionName": "f"},
    ],
)
def test_valid_configs_have_no_problems(config):
    assert validate(config) == []


@pytest.mark.parametrize(
    "config, problem",
    [
        ({"type": "command", "command": "rm -rf /"}, "trigger.type: 'command' is not supported"),
        ({"type": "ftp"}, "trigger.type: must be one of"),
        ({"type": "glue"}, "trigger.jobName: required for type glue"),
        (
            {"type": "emr-serverless", "applicationId": "a", "jobName": "n", "entryPoint": "s3://x"},
            "trigger.executionRoleArn: required",
        ),
        (
            {"type": "emr-serverless", "applicationId": "a", "jobName": "n", "executionRoleArn": "r"},
            "trigger.jobDriver: set jobDriver or entryPoint",
        ),
        ({"type": "databricks", "workspaceUrl": "https://w"}, "trigger.jobId: set jobId"),
        ({"type": "http", "url": "https://x", "headers": {"A": {"secret": "x"}}}, "trigger.headers: must be a map"),
        ({"type": "http", "url": "https://x", "timeout": -1}, "timeout must be a positive number"),
        ({"type": "glue", "jobName": "j", "arguments": {"--a": {"b": 1}}}, "arguments.--a must be a string"),
        ("http", "trigger: must be an object"),
    ],
)
def test_invalid_configs_name_the_field(config, problem):
    assert any(problem in p for p in validate(config)), validate(config)


def test_command_and_unknown_types_are_refused_by_the_registry():
    with pytest.raises(TriggerError, match="no shell") as err:
        triggers.module_for("command")
    assert err.value.category == "PERMANENT"
    with pytest.raises(TriggerError, match="unknown trigger type 'nope'"):
        triggers.module_for("nope")


def test_every_type_has_a_module_with_start_and_status():
    for trigger_type in triggers.TRIGGER_TYPES:
        module = triggers.module_for(trigger_type)
        assert callable(module.start) and callable(module.status)


@pytest.mark.parametrize(
    "config, problem",
    [
        (
            {"type": "airflow", "url": "https://af", "dagID": "d", "dagId": "d"},
            "trigger.dagId: unknown field for type airflow (accepted: type, timeout, url, dagID, apiVersion, headers, "
            "body); did you mean 'dagID'?",
        ),
        ({"type": "glue", "jobName": "j", "argument": {"--a": "b"}}, "trigger.argument: unknown field for type glue"),
        ({"type": "glue", "jobName": "j", "headers": {"A": "b"}}, "trigger.headers: unknown field for type glue"),
        (
            {"type": "http", "url": "https://x", "pollInterval": "1m"},
            "trigger.pollInterval: unknown field for type http",
        ),
    ],
)
def test_unknown_fields_are_refused_with_their_path_and_a_close_name(config, problem):
    assert any(p.startswith(problem) for p in validate(config)), validate(config)


def test_a_field_far_from_every_accepted_name_gets_no_guess():
    (problem,) = validate({"type": "glue", "jobName": "j", "zzz": 1})
    assert problem.startswith("trigger.zzz: unknown field for type glue") and "did you mean" not in problem


def test_emr_command_is_refused_with_a_hint_to_use_jar():
    problems = validate({"type": "emr", "clusterId": "j-1", "jobName": "s", "command": "s3://b/job.jar"})
    assert problems == [
        "trigger.command: not a field of type emr; set the step's JAR with jar (default command-runner.jar)"
    ]
    assert validate({"type": "emr", "clusterId": "j-1", "jobName": "s", "jar": "s3://b/job.jar"}) == []


def test_each_type_declares_its_facts_once():
    specs = {t: triggers.spec_of(t) for t in triggers.TRIGGER_TYPES}
    assert {t for t, s in specs.items() if s.idempotent} == {"airflow", "databricks", "emr-serverless", "step-function"}
    assert {t for t, s in specs.items() if s.status_needs_headers} == {"airflow", "databricks"}
    assert triggers.permission_keys() == ("glue", "emr", "emrServerless", "stepFunctions", "lambda")
    for spec in specs.values():
        assert len(set(spec.fields)) == len(spec.fields)
