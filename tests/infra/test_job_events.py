"""JobEvents: one rule per job service the stack may start jobs of, scoped to those jobs and their terminal states,
delivering to the job-events function from that rule only."""

from __future__ import annotations

import json

import pytest

from components.job_end_rules import JOB_SERVICES, PATTERN_LIMIT, job_end_patterns
from components.stack_settings import ConfigurationError, load_settings
from tests.infra.conftest import ACCOUNT, FULL_CONFIG, REQUIRED
from tests.infra.harness import run_program_full

JOB_EVENTS_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:team-a-job-events"
FULL_PATTERNS = {
    "team-a-job-ends-glue": {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": ["sales-ingest"], "state": ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"]},
    },
    "team-a-job-ends-emr": {
        "source": ["aws.emr"],
        "detail-type": ["EMR Step Status Change"],
        "detail": {"clusterId": ["j-ABC123"], "state": ["COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"]},
    },
    "team-a-job-ends-emr-serverless": {
        "source": ["aws.emr-serverless"],
        "detail-type": ["EMR Serverless Job Run State Change"],
        "detail": {"applicationId": ["00abc"], "state": ["SUCCESS", "FAILED", "CANCELLED"]},
    },
    "team-a-job-ends-step-functions": {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:downstream-etl"],
            "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
        },
    },
}


def job_rules(run) -> dict[str, object]:
    return {
        rule.inputs["name"]: rule
        for rule in run.of_type("aws:cloudwatch/eventRule:EventRule")
        if rule.inputs["name"].startswith("team-a-job-ends-")
    }


def test_the_function_exists_without_rules_when_the_stack_may_start_no_job(default_run):
    (function,) = [f for f in default_run.of_type("aws:lambda/function:Function") if f.outputs["arn"] == JOB_EVENTS_ARN]
    assert function.inputs["handler"] == "handlers.job_events.handler"
    assert job_rules(default_run) == {}
    targets = default_run.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert JOB_EVENTS_ARN not in {target.inputs["arn"] for target in targets}
    assert "team-a-job-events" not in {
        p.inputs["function"] for p in default_run.of_type("aws:lambda/permission:Permission")
    }


def test_each_permitted_service_gets_one_rule_scoped_to_its_jobs_and_terminal_states(full_run):
    rules = job_rules(full_run)
    assert {name: json.loads(rule.inputs["eventPattern"]) for name, rule in rules.items()} == FULL_PATTERNS
    for rule in rules.values():
        assert rule.inputs.get("state", "ENABLED") == "ENABLED" and "scheduleExpression" not in rule.inputs
        assert "eventBusName" not in rule.inputs, "the job services announce on the default bus"


def test_each_rule_invokes_job_events_and_only_from_itself(full_run):
    rules = job_rules(full_run)
    targets = {t.inputs["rule"]: t for t in full_run.of_type("aws:cloudwatch/eventTarget:EventTarget")}
    permissions = {
        p.inputs["sourceArn"]: p
        for p in full_run.of_type("aws:lambda/permission:Permission")
        if p.inputs["function"] == "team-a-job-events"
    }
    assert set(permissions) == {rule.outputs["arn"] for rule in rules.values()}
    for name, rule in rules.items():
        target = targets[name]
        assert target.inputs["arn"] == JOB_EVENTS_ARN
        assert not {"input", "inputPath", "inputTransformer"} & set(target.inputs), "the function reads the event"
        permission = permissions[rule.outputs["arn"]]
        assert (permission.inputs["action"], permission.inputs["principal"]) == (
            "lambda:InvokeFunction",
            "events.amazonaws.com",
        )
        assert permission.name in target.dependencies, "the target must not deliver before the permission exists"


def test_a_rule_that_gives_up_delivering_alarms(full_run):
    alarms = {
        a.inputs["dimensions"].get("RuleName"): a.inputs
        for a in full_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:team-a-alerts"
    for name in job_rules(full_run):
        alarm = alarms[name]
        assert alarm["name"] == f"{name}-failed-deliveries"
        assert (alarm["namespace"], alarm["metricName"], alarm["threshold"]) == ("AWS/Events", "FailedInvocations", 1)
        assert alarm["alarmActions"] == [topic]


def test_a_service_without_permissions_gets_no_rule():
    glue = [f"arn:aws:glue:us-east-1:{ACCOUNT}:job/orders-load", f"arn:aws:glue:us-east-1:{ACCOUNT}:job/orders.v2"]
    run = run_program_full(
        {**REQUIRED, "triggerPermissions": {"glue": glue, "lambda": FULL_CONFIG["triggerPermissions"]["lambda"]}}
    )
    rules = job_rules(run)
    assert list(rules) == ["team-a-job-ends-glue"], "a lambda trigger answers synchronously: no rule"
    detail = json.loads(rules["team-a-job-ends-glue"].inputs["eventPattern"])["detail"]
    assert detail["jobName"] == ["orders-load", "orders.v2"]


def test_jobs_that_do_not_fit_one_pattern_go_to_further_rules():
    machines = [f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:nightly-load-{n:03d}" for n in range(60)]
    run = run_program_full({**REQUIRED, "triggerPermissions": {"stepFunctions": machines}})
    rules = job_rules(run)
    assert list(rules) == [
        "team-a-job-ends-step-functions",
        "team-a-job-ends-step-functions-2",
        "team-a-job-ends-step-functions-3",
    ]
    named = []
    for rule in rules.values():
        assert len(rule.inputs["eventPattern"]) <= PATTERN_LIMIT
        named += json.loads(rule.inputs["eventPattern"])["detail"]["stateMachineArn"]
    assert named == machines


def test_patterns_name_each_job_once_in_the_configured_order():
    (glue,) = [service for service in JOB_SERVICES if service.slug == "glue"]
    arns = [f"arn:aws:glue:us-east-1:{ACCOUNT}:job/{name}" for name in ("b", "a", "b")]
    (pattern,) = job_end_patterns(glue, arns)
    assert json.loads(pattern)["detail"]["jobName"] == ["b", "a"]
    assert job_end_patterns(glue, []) == []


@pytest.mark.parametrize(
    "kind, arn",
    [
        ("glue", f"arn:aws:glue:us-east-1:{ACCOUNT}:job/sales-*"),
        ("emr", f"arn:aws:elasticmapreduce:us-east-1:{ACCOUNT}:cluster/*"),
        ("emrServerless", f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/*"),
        ("stepFunctions", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:*"),
    ],
)
def test_a_wildcard_arn_is_refused_so_every_rule_names_its_jobs_exactly(kind, arn):
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"projectName": "team-a", "triggerPermissions": {kind: [arn]}})
    (problem,) = caught.value.problems
    assert f"{kind}[0]: {arn!r} is not a {kind} ARN" in problem
