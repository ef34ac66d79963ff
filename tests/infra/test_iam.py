"""IAM: every policy passes parliament, no wildcard action, each role has exactly what DESIGN §4 allows."""

from __future__ import annotations

import json

import parliament
import pytest

from tests.infra.conftest import ACCOUNT, FULL_CONFIG, actions_of, policies, statements

TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/team-a"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:team-a-alerts"
MACHINE_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:team-a-pipeline"
EVALUATOR_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:team-a-evaluator"
KEY_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}
SEND_TASK_RESULT = {"states:SendTaskSuccess", "states:SendTaskFailure"}
EXECUTIONS_ARNS = [
    f"arn:aws:states:us-east-1:{ACCOUNT}:execution:team-a-pipeline:*",
    f"arn:aws:states:us-east-1:{ACCOUNT}:express:team-a-pipeline:*:*",
]
TOPIC_PUBLISHERS = ("team-a-orchestrator", "team-a-trigger", "team-a-reconciler", "team-a-watchdog", "team-a-states")
TRIGGER_ACTIONS = {
    "glue:StartJobRun",
    "glue:GetJobRun",
    "elasticmapreduce:AddJobFlowSteps",
    "elasticmapreduce:DescribeStep",
    "emr-serverless:StartJobRun",
    "emr-serverless:GetJobRun",
    "iam:PassRole",
    "states:DescribeExecution",
    "lambda:InvokeFunction",
}


def by_role(run) -> dict[str, dict]:
    """Policy documents keyed by role name (a policy's `role` input is the role's id = its name)."""
    return {
        resource.inputs["role"]: json.loads(resource.inputs["policy"])
        for resource in run.of_type("aws:iam/rolePolicy:RolePolicy")
    }


def parliament_findings(document: dict) -> list:
    """parliament's findings but one: its IAM data lists no resource type for SendTaskSuccess/SendTaskFailure (it
    asks for "*"), while IAM authorises a callback token's answer against the state machine that issued it, the ARN
    the grant names (DESIGN §10.1; test_answering_a_waiting_run_is_granted_on_this_stacks_machine_only)."""
    return [
        finding
        for finding in parliament.analyze_policy_string(json.dumps(document)).findings
        if not (finding.issue == "RESOURCE_MISMATCH" and {d["action"] for d in finding.detail} <= SEND_TASK_RESULT)
    ]


def resources_of(document: dict) -> set[str]:
    found = set()
    for statement in statements(document):
        found |= {statement["Resource"]} if isinstance(statement["Resource"], str) else set(statement["Resource"])
    return found


@pytest.mark.parametrize("run_name", ["default_run", "full_run"])
def test_parliament_finds_nothing_and_no_action_is_a_wildcard(run_name, request):
    run = request.getfixturevalue(run_name)
    documents = policies(run)
    assert len(documents) == 10  # eight functions, the state machine, the Scheduler
    for name, document in documents.items():
        findings = parliament_findings(document)
        assert findings == [], f"{name}: {[(f.issue, f.detail) for f in findings]}"
        for action in actions_of(document):
            assert "*" not in action, f"{name}: wildcard action {action}"
        for statement in statements(document):
            assert statement["Effect"] == "Allow" and "NotAction" not in statement


def test_parliament_would_flag_a_bad_document():
    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": TOPIC_ARN}],
    }
    assert parliament_findings(bad)
    answer_and_start = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": [*sorted(SEND_TASK_RESULT), "states:StartExecution"], "Resource": TOPIC_ARN}
        ],
    }
    assert parliament_findings(answer_and_start), "only the SendTask* resource finding is set aside"


def test_resource_star_only_for_log_delivery(full_run):
    for role, document in by_role(full_run).items():
        for statement in statements(document):
            if statement["Resource"] == "*":
                assert role == "team-a-states" and all(a.startswith("logs:") for a in statement["Action"])


def test_trust_policies_name_one_service_and_this_account(full_run):
    services = {}
    for role in full_run.of_type("aws:iam/role:Role"):
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Action"] == "sts:AssumeRole" and trust["Effect"] == "Allow"
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
        services[role.inputs["name"]] = trust["Principal"]["Service"]
    assert services == {
        **{
            f"team-a-{kind}": "lambda.amazonaws.com"
            for kind in (
                "orchestrator",
                "evaluator",
                "trigger",
                "run-checker",
                "stream-router",
                "reconciler",
                "job-events",
                "watchdog",
            )
        },
        "team-a-states": "states.amazonaws.com",
        "team-a-scheduler": "scheduler.amazonaws.com",
    }


def test_each_function_writes_only_its_own_log_group(default_run):
    for role, document in by_role(default_run).items():
        log_statements = [s for s in statements(document) if "logs:PutLogEvents" in s["Action"]]
        if role in ("team-a-states", "team-a-scheduler"):
            assert not log_statements
            continue
        (statement,) = log_statements
        assert statement["Resource"] == [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/{role}:*"]


def test_least_privilege_per_role_by_default(default_run):
    roles = by_role(default_run)
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert actions_of(roles["team-a-evaluator"]) == logs | {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"}
    assert actions_of(roles["team-a-run-checker"]) == logs | SEND_TASK_RESULT | {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    }
    assert actions_of(roles["team-a-job-events"]) == logs | SEND_TASK_RESULT | {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    assert actions_of(roles["team-a-trigger"]) == logs | KEY_ACTIONS | {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "sns:Publish",
    }
    assert actions_of(roles["team-a-orchestrator"]) == logs | KEY_ACTIONS | {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
        "states:DescribeExecution",
        "lambda:InvokeFunction",
    }
    assert actions_of(roles["team-a-reconciler"]) == logs | KEY_ACTIONS | {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
    }
    assert actions_of(roles["team-a-stream-router"]) == logs | {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "states:StartExecution",
        "sqs:SendMessage",
    }
    assert actions_of(roles["team-a-scheduler"]) == {"dynamodb:PutItem", "lambda:InvokeFunction"}
    assert resources_of(roles["team-a-scheduler"]) == {
        TABLE_ARN,
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:team-a-watchdog",
    }
    for role, document in roles.items():
        if role in ("team-a-states", "team-a-scheduler"):  # invoke this stack's functions only
            continue
        # the orchestrator and the watchdog look up their own machine's executions only (tests/infra/test_watchdog.py);
        # the orchestrator invokes this stack's evaluator only (below)
        own = {"states:DescribeExecution"} if role in ("team-a-orchestrator", "team-a-watchdog") else set()
        own |= {"lambda:InvokeFunction"} if role == "team-a-orchestrator" else set()
        assert not actions_of(document) & TRIGGER_ACTIONS - own, f"{role}: trigger permissions must be off by default"
        assert "secretsmanager:GetSecretValue" not in actions_of(document)


def test_scoped_to_this_stacks_resources(default_run):
    roles = by_role(default_run)
    (key,) = default_run.of_type("aws:kms/key:Key")
    assert resources_of(roles["team-a-orchestrator"]) - {
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/team-a-orchestrator:*"
    } == {TABLE_ARN, f"{TABLE_ARN}/index/*", TOPIC_ARN, key.outputs["arn"], *EXECUTIONS_ARNS, EVALUATOR_ARN}
    orchestrator = {a: s["Resource"] for s in statements(roles["team-a-orchestrator"]) for a in s["Action"]}
    assert orchestrator["states:DescribeExecution"] == EXECUTIONS_ARNS
    assert orchestrator["lambda:InvokeFunction"] == [EVALUATOR_ARN]  # checkMonitoring asks the evaluator, nothing else
    assert resources_of(roles["team-a-reconciler"]) - {
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/team-a-reconciler:*"
    } == {TABLE_ARN, TOPIC_ARN, key.outputs["arn"]}
    router = {a: s["Resource"] for s in statements(roles["team-a-stream-router"]) for a in s["Action"]}
    assert router["states:StartExecution"] == [MACHINE_ARN]
    assert router["dynamodb:GetRecords"] == [f"{TABLE_ARN}/stream/*"]
    assert router["sqs:SendMessage"] == [f"arn:aws:sqs:us-east-1:{ACCOUNT}:team-a-stream-dlq"]
    states = {a: s["Resource"] for s in statements(roles["team-a-states"]) for a in s["Action"]}
    assert sorted(states["lambda:InvokeFunction"]) == sorted(
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:team-a-{kind}"
        for kind in ("orchestrator", "trigger", "run-checker")  # the evaluator: by the orchestrator only
    )
    assert states["sns:Publish"] == [TOPIC_ARN]
    assert set(states) - {"lambda:InvokeFunction", "sns:Publish", *KEY_ACTIONS} == {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }


def test_trigger_permissions_are_scoped_to_configured_arns(full_run):
    roles = by_role(full_run)
    trigger = {a: s for s in statements(roles["team-a-trigger"]) for a in s["Action"]}
    configured = FULL_CONFIG["triggerPermissions"]
    assert trigger["glue:StartJobRun"]["Resource"] == configured["glue"]
    assert trigger["elasticmapreduce:AddJobFlowSteps"]["Resource"] == configured["emr"]
    assert trigger["emr-serverless:StartJobRun"]["Resource"] == configured["emrServerless"][:1]
    assert trigger["iam:PassRole"]["Resource"] == configured["emrServerless"][1:]
    assert trigger["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}
    }
    assert trigger["states:StartExecution"]["Resource"] == configured["stepFunctions"]
    assert MACHINE_ARN not in trigger["states:StartExecution"]["Resource"]
    assert trigger["lambda:InvokeFunction"]["Resource"] == configured["lambda"]
    checker = {a: s for s in statements(roles["team-a-run-checker"]) for a in s["Action"]}
    assert checker["glue:GetJobRun"]["Resource"] == configured["glue"]
    assert checker["elasticmapreduce:DescribeStep"]["Resource"] == configured["emr"]
    assert checker["emr-serverless:GetJobRun"]["Resource"] == [configured["emrServerless"][0] + "/jobruns/*"]
    assert (
        f"arn:aws:states:us-east-1:{ACCOUNT}:execution:downstream-etl:*"
        in (checker["states:DescribeExecution"]["Resource"])
    )
    assert not {"glue:StartJobRun", "iam:PassRole", "states:StartExecution"} & set(checker)


def test_only_the_evaluator_reads_buckets_and_alerts_are_the_only_writes(default_run, full_run):
    for role, document in by_role(default_run).items():
        assert not {a for a in actions_of(document) if a.startswith("s3:")}, role
    roles = by_role(full_run)
    evaluator = {a: s["Resource"] for s in statements(roles["team-a-evaluator"]) for a in s["Action"]}
    assert evaluator["s3:GetObject"] == ["arn:aws:s3:::team-a-interlock-data/*", "arn:aws:s3:::landing-zone/*"]
    assert evaluator["s3:ListBucket"] == ["arn:aws:s3:::team-a-interlock-data", "arn:aws:s3:::landing-zone"]
    assert "s3:PutObject" not in evaluator
    for role in ("team-a-orchestrator", "team-a-trigger", "team-a-reconciler", "team-a-watchdog"):
        objects = {a: s["Resource"] for s in statements(roles[role]) for a in s["Action"]}
        assert {a: r for a, r in objects.items() if a.startswith("s3:")} == {
            "s3:PutObject": ["arn:aws:s3:::team-a-interlock-data/alerts/*"]
        }
    for role in (
        "team-a-run-checker",
        "team-a-job-events",
        "team-a-stream-router",
        "team-a-states",
        "team-a-scheduler",
    ):
        assert not {a for a in actions_of(roles[role]) if a.startswith("s3:")}, role


def test_secrets_and_customer_key_only_where_needed(full_run):
    roles = by_role(full_run)
    for role, document in roles.items():
        reads_secrets = "secretsmanager:GetSecretValue" in actions_of(document)
        assert reads_secrets == (role in ("team-a-evaluator", "team-a-trigger", "team-a-run-checker")), role
        uses_key = "kms:GenerateDataKey" in actions_of(document)
        assert uses_key == (role in TOPIC_PUBLISHERS), role
        if uses_key:
            (key_statement,) = [s for s in statements(document) if "kms:GenerateDataKey" in s["Action"]]
            assert key_statement["Resource"] == [FULL_CONFIG["kmsKeyArn"]]


def test_topic_publishers_may_use_exactly_the_dedicated_alert_key_by_default(default_run):
    (key,) = default_run.of_type("aws:kms/key:Key")
    for role, document in by_role(default_run).items():
        key_statements = [s for s in statements(document) if set(s["Action"]) & KEY_ACTIONS]
        if role not in TOPIC_PUBLISHERS:
            assert key_statements == [], role
            continue
        (key_statement,) = key_statements
        assert set(key_statement["Action"]) == KEY_ACTIONS, role
        assert key_statement["Resource"] == [key.outputs["arn"]], role


@pytest.mark.parametrize("run_name", ["default_run", "full_run"])
def test_answering_a_waiting_run_is_granted_on_this_stacks_machine_only(run_name, request):
    roles = by_role(request.getfixturevalue(run_name))
    for role, document in roles.items():
        answering = [s for s in statements(document) if set(s["Action"]) & SEND_TASK_RESULT]
        if role not in ("team-a-run-checker", "team-a-job-events"):
            assert answering == [], role
            continue
        (statement,) = answering
        assert set(statement["Action"]) == SEND_TASK_RESULT and statement["Resource"] == [MACHINE_ARN], role
        assert "Condition" not in statement
    job_events = roles["team-a-job-events"]
    assert resources_of(job_events) == {
        TABLE_ARN,
        MACHINE_ARN,
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/team-a-job-events:*",
    }
    (table,) = [s for s in statements(job_events) if s["Resource"] == [TABLE_ARN]]
    assert set(table["Action"]) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
