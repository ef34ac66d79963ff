"""The watchdog in the program: its function, the schedule running it every watchdogInterval from the stack's
group through the stack's one Scheduler role (PutItem on the table for markers, InvokeFunction on the watchdog
only), the function's least privilege and environment, and the interval's validation."""

from __future__ import annotations

import json

import pytest

from components.stack_settings import ConfigurationError, load_settings
from components.watchdog_function import SCHEDULES_BUDGET, watchdog_schedules
from handlers.interlock.watchdog_pass import decode_schedules
from tests.infra.conftest import ACCOUNT, REQUIRED, actions_of, statements
from tests.infra.harness import run_program_full
from tests.infra.test_iam import EXECUTIONS_ARNS, KEY_ACTIONS, TABLE_ARN, TOPIC_ARN, by_role, resources_of

FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:team-a-watchdog"


def watchdog_schedule(run) -> list:
    return [s for s in run.of_type("aws:scheduler/schedule:Schedule") if s.inputs["name"] == "team-a-watchdog"]


def test_the_schedule_invokes_the_function_every_interval_from_the_stacks_group(default_run):
    (schedule,) = watchdog_schedule(default_run)
    (group,) = default_run.of_type("aws:scheduler/scheduleGroup:ScheduleGroup")
    assert schedule.inputs["groupName"] == group.inputs["name"] == "team-a"
    assert schedule.inputs["scheduleExpression"] == "rate(5 minutes)"
    assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule.inputs["target"]
    assert target["arn"] == FUNCTION_ARN and json.loads(target["input"]) == {}
    assert target["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/team-a-scheduler"


def test_the_scheduler_role_writes_markers_and_invokes_the_watchdog_only(default_run):
    document = by_role(default_run)["team-a-scheduler"]
    granted = {a: s["Resource"] for s in statements(document) for a in s["Action"]}
    assert granted == {"dynamodb:PutItem": [TABLE_ARN], "lambda:InvokeFunction": [FUNCTION_ARN]}


def test_the_watchdog_reads_the_table_claims_alerts_releases_locks_and_describes_own_executions(default_run):
    document = by_role(default_run)["team-a-watchdog"]
    (key,) = default_run.of_type("aws:kms/key:Key")
    assert actions_of(document) == KEY_ACTIONS | {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
        "states:DescribeExecution",
    }
    assert resources_of(document) - {f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/team-a-watchdog:*"} == {
        TABLE_ARN,
        f"{TABLE_ARN}/index/*",
        TOPIC_ARN,
        key.outputs["arn"],
        *EXECUTIONS_ARNS,
    }
    described = {a: s["Resource"] for s in statements(document) for a in s["Action"]}
    assert described["states:DescribeExecution"] == EXECUTIONS_ARNS


def test_the_function_knows_the_stacks_schedules_and_execution_timeout(full_run):
    (function,) = [f for f in full_run.of_type("aws:lambda/function:Function") if f.inputs["name"] == "team-a-watchdog"]
    env = function.inputs["environment"]["variables"]
    assert env["EXECUTION_TIMEOUT_SECONDS"] == "43200"
    assert env["STATE_MACHINE_ARN"] == f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:team-a-pipeline"
    assert [(s.name, s.pipeline, s.schedule_id, s.timezone) for s in decode_schedules(env["WATCHDOG_SCHEDULES"])] == [
        ("ingest-daily", "sales-raw-ingest", "daily", "Europe/London"),
        ("features-hourly", "customer-features", "daily", "UTC"),
    ]
    assert len(json.dumps(env)) < 4096, "Lambda allows 4 KB of environment"


def test_interval_zero_schedules_no_watchdog_but_keeps_the_function():
    run = run_program_full({**REQUIRED, "watchdogInterval": "0"})
    assert watchdog_schedule(run) == []
    assert actions_of(by_role(run)["team-a-scheduler"]) == {"dynamodb:PutItem"}
    assert "team-a-watchdog" in {f.inputs["name"] for f in run.of_type("aws:lambda/function:Function")}


@pytest.mark.parametrize(("value", "seconds"), [("0", 0), ("1m", 60), ("15m", 900), ("24h", 86400)])
def test_interval_values(value, seconds):
    assert load_settings({"projectName": "team-a", "watchdogInterval": value}).watchdog_interval_seconds == seconds


@pytest.mark.parametrize("value", ["90s", "30s", "25h", "soon", "-5m"])
def test_interval_must_be_whole_minutes_up_to_a_day(value):
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"projectName": "team-a", "watchdogInterval": value})
    assert caught.value.problems[0].startswith("interlock:watchdogInterval:")


def test_too_many_schedules_for_the_watchdogs_environment_are_refused():
    entries = [
        {"name": f"schedule-{n:03d}-with-a-long-name", "pipeline": "pipe-a", "expression": "cron(0 6 * * ? *)"}
        for n in range(60)
    ]
    settings = load_settings({"projectName": "team-a", "schedules": entries})
    with pytest.raises(ConfigurationError) as caught:
        watchdog_schedules(settings.schedules)
    assert f"at most {SCHEDULES_BUDGET}" in caught.value.problems[0]
