"""IAM policy documents as plain data (dicts whose leaves may be Outputs), serialised with Output.json_dumps.

Least privilege (DESIGN §4): every statement names its actions (no wildcard action) and the ARNs of this stack's
own resources; trust policies carry an aws:SourceAccount condition against confused deputies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

if TYPE_CHECKING:
    from .stack_settings import TriggerPermissions

VERSION = "2012-10-17"

TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
SEND_TASK_RESULT = ("states:SendTaskSuccess", "states:SendTaskFailure")
# Vended-logs delivery for Step Functions: AWS only supports Resource "*" for these actions.
STATES_LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)


def statement(sid: str, actions: Sequence[str], resources: Any, condition: dict | None = None) -> dict:
    """One Allow statement; `resources` is a list of ARNs (str or Output) or "*"."""
    result: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        result["Condition"] = condition
    return result


def policy_json(statements: Sequence[dict]) -> pulumi.Output[str]:
    """Serialise a policy document whose leaves may be Outputs."""
    return pulumi.Output.json_dumps({"Version": VERSION, "Statement": list(statements)})


def assume_role_policy(service: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """Trust policy for an AWS service principal, limited to this account (confused-deputy protection)."""
    return pulumi.Output.json_dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )


def tls_only_bucket_policy(bucket_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """Bucket policy refusing every request to the bucket or its objects that is not made over TLS."""
    return pulumi.Output.json_dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def log_statement(log_group_arn: pulumi.Input[str]) -> dict:
    """Write to the function's own log group only (instead of AWSLambdaBasicExecutionRole's logs:* on *)."""
    return statement(
        "WriteOwnLogs", ("logs:CreateLogStream", "logs:PutLogEvents"), [pulumi.Output.concat(log_group_arn, ":*")]
    )


def table_statements(actions: Sequence[str], queries_index: bool, table_arn: pulumi.Input[str]) -> list[dict]:
    """`actions` on the table and, with `queries_index`, Query on its indexes; nothing without actions."""
    if not actions:
        return []
    statements = [statement("Table", actions, [table_arn])]
    if queries_index:
        statements.append(statement("TableIndexes", ("dynamodb:Query",), [pulumi.Output.concat(table_arn, "/index/*")]))
    return statements


def topic_statement(topic_arn: pulumi.Input[str]) -> dict:
    return statement("PublishAlerts", ("sns:Publish",), [topic_arn])


def kms_statement(key_arn: pulumi.Input[str]) -> dict:
    """Publishing to the alert topic needs its customer managed key (also the bucket's key when kmsKeyArn is set)."""
    return statement("UseAlertTopicKey", ("kms:Decrypt", "kms:GenerateDataKey"), [key_arn])


def _sibling_arn(table_arn: pulumi.Input[str], service: str, resource: str) -> pulumi.Output[str]:
    """The ARN of a resource of this stack in the table's partition, region and account."""

    def arn_of(arn: str) -> str:
        partition, _service, region, account = arn.split(":")[1:5]
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"

    return pulumi.Output.from_input(table_arn).apply(arn_of)


def own_state_machine(table_arn: pulumi.Input[str], machine_name: str) -> pulumi.Output[str]:
    """The ARN of this stack's state machine `machine_name`: the machine's own ARN cannot be used by a function
    the machine calls."""
    return _sibling_arn(table_arn, "states", f"stateMachine:{machine_name}")


def own_function(table_arn: pulumi.Input[str], function_name: str) -> pulumi.Output[str]:
    """The ARN of this stack's function `function_name`, for a function whose policy is built before it."""
    return _sibling_arn(table_arn, "lambda", f"function:{function_name}")


def own_state_machine_executions(table_arn: pulumi.Input[str], machine_name: str) -> pulumi.Output[list[str]]:
    """The executions of this stack's state machine `machine_name` (see `_state_machine_executions`)."""
    return own_state_machine(table_arn, machine_name).apply(_state_machine_executions)


def resume_waiting_runs_statement(machine_arn: pulumi.Input[str]) -> dict:
    """Answer the task tokens of the machine's executions waiting for a job. The Service Authorization Reference
    lists no resource type for these actions, yet IAM authorises a callback token's answer against the state
    machine that issued it (DESIGN §10.1), so the grant names that machine instead of "*"."""
    return statement("ResumeWaitingRuns", SEND_TASK_RESULT, [machine_arn])


def invoke_function_statements(function_arn: pulumi.Input[str]) -> list[dict]:
    """What a schedule's role needs to run one function (the watchdog's schedule): InvokeFunction on it only."""
    return [statement("InvokeFunction", ("lambda:InvokeFunction",), [function_arn])]


def secrets_statements(secret_arns: Sequence[str]) -> list[dict]:
    if not secret_arns:
        return []
    return [statement("ReadConfiguredSecrets", ("secretsmanager:GetSecretValue",), list(secret_arns))]


def bucket_statements(bucket_arn: pulumi.Input[str] | None) -> list[dict]:
    """Write alert archives under `alerts/` of the data bucket (orchestrator and trigger publish alerts)."""
    if bucket_arn is None:
        return []
    return [statement("ArchiveAlerts", ("s3:PutObject",), [pulumi.Output.concat(bucket_arn, "/alerts/*")])]


def bucket_read_statements(bucket_arns: Sequence[pulumi.Input[str]]) -> list[dict]:
    """Look at and list objects (the evaluator's builtin:s3-object check): HeadObject needs s3:GetObject."""
    if not bucket_arns:
        return []
    return [
        statement("ReadBucketObjects", ("s3:GetObject",), [pulumi.Output.concat(arn, "/*") for arn in bucket_arns]),
        statement("ListBuckets", ("s3:ListBucket",), list(bucket_arns)),
    ]


@dataclass(frozen=True)
class JobAccess:
    """What the trigger may do to start one kind of job and what the run-checker may do to poll its runs."""

    permissions: str  # the TriggerPermissions field listing the configured ARNs
    start_sid: str
    start_action: str
    poll_sid: str = ""  # empty: the trigger's answer is final, nothing to poll
    poll_action: str = ""
    poll_resources: Callable[[str], list[str]] = lambda arn: [arn]


def _state_machine_executions(arn: str) -> list[str]:
    # IAM names a standard machine's executions `execution:` and an express one's `express:`; DescribeExecution
    # is defined on both (parliament requires both)
    return [arn.replace(":stateMachine:", ":execution:") + ":*", arn.replace(":stateMachine:", ":express:") + ":*:*"]


JOB_ACCESS = (
    JobAccess("glue", "StartGlueJobs", "glue:StartJobRun", "PollGlueJobs", "glue:GetJobRun"),
    JobAccess(
        "emr", "AddEmrSteps", "elasticmapreduce:AddJobFlowSteps", "PollEmrSteps", "elasticmapreduce:DescribeStep"
    ),
    JobAccess(
        "emr_serverless",
        "StartEmrServerlessJobs",
        "emr-serverless:StartJobRun",
        "PollEmrServerlessJobs",
        "emr-serverless:GetJobRun",
        lambda arn: [f"{arn}/jobruns/*"],
    ),
    JobAccess(
        "step_functions",
        "StartStateMachines",
        "states:StartExecution",
        "PollStateMachineExecutions",
        "states:DescribeExecution",
        _state_machine_executions,
    ),
    JobAccess("lambda_functions", "InvokeFunctions", "lambda:InvokeFunction"),
)


def trigger_statements(permissions: TriggerPermissions) -> list[dict]:
    """What the trigger function may start: only the configured ARNs, nothing by default."""
    statements = []
    for access in JOB_ACCESS:
        arns = getattr(permissions, access.permissions)
        if arns:
            statements.append(statement(access.start_sid, (access.start_action,), list(arns)))
        if arns and access.permissions == "emr_serverless":
            statements.append(
                statement(
                    "PassEmrServerlessExecutionRoles",
                    ("iam:PassRole",),
                    list(permissions.emr_serverless_roles),
                    {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
                )
            )
    return statements


def run_checker_statements(permissions: TriggerPermissions) -> list[dict]:
    """What the run-checker may poll: the runs of the configured jobs only."""
    statements = []
    for access in JOB_ACCESS:
        arns = getattr(permissions, access.permissions)
        if arns and access.poll_action:
            resources = [resource for arn in arns for resource in access.poll_resources(arn)]
            statements.append(statement(access.poll_sid, (access.poll_action,), resources))
    return statements


def chatbot_statements(alarm_arn_prefix: pulumi.Input[str]) -> list[dict]:
    """What AWS Chatbot's channel role needs to render this stack's alarm notifications, read-only: the alarms
    (`<prefix>*`, i.e. this project's) and their metric graph (GetMetricWidgetImage has no resource type)."""
    return [
        statement("DescribeOwnAlarms", ("cloudwatch:DescribeAlarms",), [pulumi.Output.concat(alarm_arn_prefix, "*")]),
        statement("RenderAlarmGraphs", ("cloudwatch:GetMetricWidgetImage",), "*"),
    ]
