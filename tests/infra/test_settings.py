"""Typed configuration: Pulumi.yaml declares every key; every invalid value is reported, naming key and allowed."""

from __future__ import annotations

import ipaddress

import pytest

from components import stack_settings as config
from components.stack import function_environment
from components.stack_settings import ConfigurationError, load_settings
from handlers.interlock.durations import parse_duration
from tests.infra.harness import run_program_full


def problems_for(values: dict) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"projectName": "team-a", **values})
    return caught.value.problems


def test_pulumi_yaml_declares_exactly_the_parsed_keys_each_with_a_description():
    declared = config.declared_config()
    assert set(declared) == set(config._KEYS)
    for key, spec in declared.items():
        assert spec.get("description"), key
        assert key == "projectName" or "default" in spec, f"{key} needs a default (only projectName is required)"
        assert spec.get("type") in (None, "string", "integer", "boolean", "array"), key


def test_defaults_come_from_pulumi_yaml():
    settings = load_settings({"projectName": "team-a"})
    assert settings.table_name == "team-a"
    assert settings.sns_topic_name == "team-a-alerts"
    assert (settings.readiness_ttl_seconds, settings.retention_ttl_seconds) == (3600, 168 * 3600)
    assert (settings.lambda_memory, settings.lambda_timeout, settings.log_retention_days) == (256, 60, 7)
    assert (settings.architecture, settings.python_runtime) == ("arm64", "python3.12")
    assert settings.archetype_dir == "/var/task/archetypes"
    assert settings.pipelines_dir == "pipelines"
    assert settings.deletion_protection and settings.point_in_time_recovery
    assert settings.trigger_permissions == config.TriggerPermissions()
    assert settings.schedules == () and settings.alert_subscriptions == () and settings.allowed_networks == ()
    assert settings.lock_lease_seconds == settings.execution_timeout_seconds + 300


def test_values_arrive_as_strings_like_pulumi_hands_them_over():
    settings = load_settings(
        {
            "projectName": "team-b",
            "lambdaMemory": "1024",
            "deletionProtection": "false",
            "allowedNetworks": '["127.0.0.1/32"]',
            "schedules": '[{"name": "s", "pipeline": "p1", "expression": "rate(5 minutes)"}]',
        }
    )
    assert settings.lambda_memory == 1024 and settings.deletion_protection is False
    assert settings.allowed_networks == ("127.0.0.1/32",)
    assert settings.schedules == (config.Schedule("s", "p1", "daily", "rate(5 minutes)", "UTC"),)


def test_every_invalid_value_is_reported_at_once_naming_key_and_what_is_allowed():
    found = problems_for(
        {
            "readinessTtl": "an hour",
            "lambdaMemory": 64,
            "lambdaTimeout": 901,
            "logRetentionDays": 10,
            "architecture": "arm",
            "pythonRuntime": "python2.7",
            "evaluatorBaseUrl": "ftp://x",
            "dataBucketName": "Bad_Bucket",
            "kmsKeyArn": "alias/mine",
            "logLevel": "TRACE",
            "secretArns": ["not-an-arn"],
            "allowedNetworks": ["10.0.0.1/8"],
            "pollInterval": "500ms",
            "maxPollAttempts": 0,
            "archetypeDir": "relative/dir",
            "pipelinesDir": "../elsewhere",
            "evaluatorBucketArns": ["arn:aws:s3:::bucket/key"],
        }
    )
    text = "\n".join(found)
    expectations = {
        "readinessTtl": "Go-style duration",
        "lambdaMemory": "from 128 to 10240",
        "lambdaTimeout": "from 1 to 900",
        "logRetentionDays": "1, 3, 5, 7, 14",
        "architecture": "arm64, x86_64",
        "pythonRuntime": "python3.12",
        "evaluatorBaseUrl": "http(s)://",
        "dataBucketName": "S3 bucket name",
        "kmsKeyArn": "KMS key ARN",
        "logLevel": "DEBUG, INFO",
        "secretArns": "Secrets Manager",
        "allowedNetworks": "CIDR",
        "pollInterval": "whole number of seconds",
        "maxPollAttempts": "from 1 to 10000",
        "archetypeDir": "absolute path",
        "pipelinesDir": "relative to the project",
        "evaluatorBucketArns": "S3 bucket ARN",
    }
    assert len(found) == len(expectations), text
    for key, allowed in expectations.items():
        assert any(problem.startswith(f"interlock:{key}:") and allowed in problem for problem in found), key


def test_project_name_is_required_and_shaped():
    with pytest.raises(ConfigurationError) as caught:
        load_settings({})
    assert caught.value.problems[0].startswith("interlock:projectName: required")
    assert problems_for({"projectName": "Team_A"})[0].startswith("interlock:projectName: 'Team_A' is not allowed")


def test_unknown_keys_are_errors():
    (problem,) = problems_for({"lambdaMemorySize": 512})
    assert problem.startswith("interlock:lambdaMemorySize: unknown key; allowed keys are")


@pytest.mark.parametrize(
    "schedule, message",
    [
        ({"name": "s", "pipeline": "p1", "expression": "cron(0 6 * * *)"}, "expression: 'cron(0 6 * * *)'"),
        ({"name": "s", "pipeline": "p1", "expression": "rate(1 hours)"}, "expression: 'rate(1 hours)'"),
        ({"name": "s", "pipeline": "p1", "expression": "rate(0 minutes)"}, "expression: 'rate(0 minutes)'"),
        ({"name": "s", "pipeline": "p1", "expression": "rate(1 day)", "timezone": "Mars/Olympus"}, "IANA time zone"),
        ({"name": "s", "expression": "rate(1 day)"}, "missing required field 'pipeline'"),
        ({"name": "s", "pipeline": "Sales Ingest", "expression": "rate(1 day)"}, "pipeline: 'Sales Ingest' is not a"),
        (
            {"name": "s", "pipeline": "p1", "scheduleID": "-daily", "expression": "rate(1 day)"},
            "scheduleID: '-daily' is not allowed",
        ),
        ({"name": "s", "pipeline": "p1", "expression": "rate(1 day)", "cron": "x"}, "unknown field 'cron'"),
    ],
)
def test_bad_schedules_name_the_entry_and_field(schedule, message):
    (problem,) = problems_for({"schedules": [schedule]})
    assert problem.startswith("interlock:schedules: [0]") and message in problem, problem


def test_good_schedule_expressions_are_accepted():
    entries = [
        {"name": f"s{i}", "pipeline": "p1", "expression": expression}
        for i, expression in enumerate(
            ["cron(0 6 * * ? *)", "rate(1 day)", "rate(15 minutes)", "at(2026-12-01T06:00:00)"]
        )
    ]
    assert len(load_settings({"projectName": "team-a", "schedules": entries}).schedules) == 4


def test_subscriptions_are_checked_per_protocol():
    (problem,) = problems_for(
        {
            "alertSubscriptions": [
                {"protocol": "sms", "endpoint": "+100"},
                {"protocol": "email", "endpoint": "nobody"},
                {"protocol": "https", "endpoint": "http://insecure.example.com"},
            ]
        }
    )
    assert "[0].protocol: 'sms' is not allowed; allowed are email, https, sqs, lambda" in problem
    assert "[1].endpoint: 'nobody' is not an email address" in problem
    assert "[2].endpoint: 'http://insecure.example.com' is not an https:// URL" in problem


def test_trigger_permissions_reject_unknown_kinds_and_foreign_arns():
    (problem,) = problems_for(
        {"triggerPermissions": {"batch": [], "glue": ["arn:aws:states:us-east-1:123456789012:stateMachine:x"]}}
    )
    assert problem.startswith("interlock:triggerPermissions: unknown trigger kind 'batch'; allowed are glue, emr")
    assert "glue[0]: 'arn:aws:states:us-east-1:123456789012:stateMachine:x' is not a glue ARN" in problem


def test_a_trigger_may_not_start_this_stacks_own_lifecycle():
    (problem,) = problems_for(
        {
            "triggerPermissions": {
                "stepFunctions": ["arn:aws:states:us-east-1:123456789012:stateMachine:team-a-pipeline"]
            }
        }
    )
    assert "is this stack's own lifecycle state machine" in problem
    load_settings(
        {
            "projectName": "team-b",
            "triggerPermissions": {
                "stepFunctions": ["arn:aws:states:us-east-1:123456789012:stateMachine:team-a-pipeline"]
            },
        }
    )


def test_emr_serverless_needs_execution_roles_to_pass():
    (problem,) = problems_for(
        {"triggerPermissions": {"emrServerless": ["arn:aws:emr-serverless:us-east-1:123456789012:/applications/00abc"]}}
    )
    assert "emrServerless: also list the job execution role ARNs" in problem
    settings = load_settings(
        {
            "projectName": "team-a",
            "triggerPermissions": {
                "emrServerless": [
                    "arn:aws:emr-serverless:us-east-1:123456789012:/applications/00abc",
                    "arn:aws:iam::123456789012:role/runner",
                ]
            },
        }
    )
    assert settings.trigger_permissions.emr_serverless_roles == ("arn:aws:iam::123456789012:role/runner",)


def test_execution_timeout_must_cover_evaluation_and_polling():
    (problem,) = problems_for(
        {"executionTimeout": "1h", "evaluationWindow": "30m", "pollInterval": "1m", "maxPollAttempts": 60}
    )
    assert problem.startswith("interlock:executionTimeout: 3600s is shorter than evaluationWindow")


@pytest.mark.parametrize(
    "values, interval, checks",
    [
        ({}, 900, 9),  # defaults: 15m waits within 60s x 120 = 2h: checks at 0, 15m, ..., 2h
        ({"completionCheckInterval": "7m"}, 420, 18),
        ({"pollInterval": "10s", "maxPollAttempts": 6}, 60, 2),  # capped at the poll budget (1m)
        ({"completionCheckInterval": "60s"}, 60, 121),  # as often as polling: one check more (the first, at once)
    ],
)
def test_a_job_awaited_by_event_is_checked_within_the_poll_budget(values, interval, checks):
    settings = load_settings({"projectName": "team-a", **values})
    assert (settings.completion_check_interval_seconds, settings.max_completion_checks) == (interval, checks)
    assert (checks - 1) * interval <= settings.poll_interval_seconds * settings.max_poll_attempts


def test_a_job_awaited_by_event_is_not_asked_more_often_than_one_polled():
    (problem,) = problems_for({"completionCheckInterval": "30s"})
    assert problem.startswith("interlock:completionCheckInterval: 30s is shorter than pollInterval (60s)")


@pytest.mark.parametrize(
    "text, seconds", [("90s", 90), ("15m", 900), ("1h30m", 5400), ("168h", 604800), ("1.5h", 5400), ("250ms", 0.25)]
)
def test_go_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "1d", "1h 30m", "-5s", "5s1"])
def test_bad_go_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_the_program_stops_before_creating_anything_on_invalid_config():
    with pytest.raises(ConfigurationError) as caught:
        run_program_full({"projectName": "team-a", "lambdaMemory": 99999, "bogus": "x"})
    assert len(caught.value.problems) == 2
    assert "interlock:lambdaMemory" in str(caught.value) and "interlock:bogus: unknown key" in str(caught.value)


def test_the_dev_stack_file_is_valid():
    import yaml

    from components.stack_settings import PROJECT_ROOT

    with open(f"{PROJECT_ROOT}/Pulumi.dev.yaml", encoding="utf-8") as handle:
        values = yaml.safe_load(handle)["config"]
    interlock = {key.split(":", 1)[1]: value for key, value in values.items() if key.startswith("interlock:")}
    settings = load_settings(interlock)
    assert settings.schedules and settings.alert_subscriptions and not settings.deletion_protection
    assert settings.poll_interval_seconds <= 60 and "aws:region" in values
    run = run_program_full(values, stack="dev", region=values["aws:region"])
    assert run.exports["stateMachineArn"].startswith(f"arn:aws:states:{values['aws:region']}:")
    assert len(run.of_type("aws:scheduler/schedule:Schedule")) == len(settings.schedules) + 1  # + the watchdog's


@pytest.mark.parametrize(
    "network", ["0.0.0.0/0", "::/0", "169.254.0.0/16", "169.254.169.254/32", "fd00:ec2::/64", "::ffff:169.254.0.0/112"]
)
def test_allowed_networks_refuse_everything_and_the_metadata_address(network):
    (problem,) = problems_for({"allowedNetworks": ["127.0.0.0/8", network]})
    assert problem.startswith("interlock:allowedNetworks: ")
    assert repr(str(ipaddress.ip_network(network))) in problem  # named as the program normalized it


def test_the_execution_timeout_covers_a_wait_for_the_lock_as_well_as_the_evaluation():
    accepted = {"executionTimeout": "5h", "evaluationWindow": "2h", "pollInterval": "1m", "maxPollAttempts": 60}
    assert load_settings({"projectName": "team-a", **accepted}).execution_timeout_seconds == 5 * 3600
    (problem,) = problems_for({**accepted, "executionTimeout": "4h"})
    assert "= 18000s" in problem and "a wait for the lock, then the evaluation" in problem


def test_a_stack_in_dry_run_tells_every_function():
    assert load_settings({"projectName": "team-a"}).dry_run is False
    assert load_settings({"projectName": "team-a", "dryRun": "true"}).dry_run is True
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"projectName": "team-a", "dryRun": "sometimes"})
    assert caught.value.problems == ["interlock:dryRun: 'sometimes' is not a boolean (true or false)"]
    environment = function_environment(load_settings({"projectName": "team-a", "dryRun": True}), "t", "a", "")
    assert environment["INTERLOCK_DRY_RUN"] == "true"
