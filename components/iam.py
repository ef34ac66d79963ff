"""IAM policy documents as plain data (dicts whose leaves may be Outputs), serialised with Output.json_dumps.

Least privilege (DESIGN §4): every statement names its actions (no wildcard action) and the ARNs of this stack's
own resources; trust policies carry an aws:SourceAccount condition against confused deputies.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import pulumi

from .stack_settings import TriggerPermissions

VERSION = "2012-10-17"

TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
TABLE_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")

# What each function may do on the table, and whether it may query the GSI (DESIGN §4, "read-only where enough").
TABLE_ACCESS: dict[str, tuple[tuple[str, ...], bool]] = {
    "orchestrator": (TABLE_READ + TABLE_WRITE, True),
    "evaluator": (("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"), False),
    "trigger": (("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"), False),
    "run-checker": (("dynamodb:GetItem", "dynamodb:Query"), False),
}
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
# Vended-logs delivery for Step Functions: AWS only supports Resource "*" for these actions.
STATES_LOG_DELIVERY = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                       "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                       "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")


def statement(sid: str, actions: Sequence[str], resources: Any, condition: Optional[dict] = None) -> dict:
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
    return pulumi.Output.json_dumps({
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }],
    })


def log_statement(log_group_arn: pulumi.Input[str]) -> dict:
    """Write to the function's own log group only (instead of AWSLambdaBasicExecutionRole's logs:* on *)."""
    return statement("WriteOwnLogs", ("logs:CreateLogStream", "logs:PutLogEvents"),
                     [pulumi.Output.concat(log_group_arn, ":*")])


def table_statements(function: str, table_arn: pulumi.Input[str]) -> list[dict]:
    """The table access of one core function (see TABLE_ACCESS)."""
    actions, uses_index = TABLE_ACCESS[function]
    statements = [statement("Table", actions, [table_arn])]
    if uses_index:
        statements.append(statement("TableIndexes", ("dynamodb:Query",), [pulumi.Output.concat(table_arn, "/index/*")]))
    return statements


def topic_statement(topic_arn: pulumi.Input[str]) -> dict:
    return statement("PublishAlerts", ("sns:Publish",), [topic_arn])


def kms_statement(key_arn: pulumi.Input[str]) -> dict:
    """Publishing to the alert topic needs its customer managed key (also the bucket's key when kmsKeyArn is set)."""
    return statement("UseAlertTopicKey", ("kms:Decrypt", "kms:GenerateDataKey"), [key_arn])


def secrets_statements(secret_arns: Sequence[str]) -> list[dict]:
    if not secret_arns:
        return []
    return [statement("ReadConfiguredSecrets", ("secretsmanager:GetSecretValue",), list(secret_arns))]


def bucket_statements(bucket_arn: Optional[pulumi.Input[str]]) -> list[dict]:
    """Write alert archives under `alerts/` of the data bucket (orchestrator and trigger publish alerts)."""
    if bucket_arn is None:
        return []
    return [statement("ArchiveAlerts", ("s3:PutObject",), [pulumi.Output.concat(bucket_arn, "/alerts/*")])]


def bucket_read_statements(bucket_arns: Sequence[pulumi.Input[str]]) -> list[dict]:
    """Look at and list objects (the evaluator's builtin:s3-object check): HeadObject needs s3:GetObject."""
    if not bucket_arns:
        return []
    return [
        statement("ReadBucketObjects", ("s3:GetObject",),
                  [pulumi.Output.concat(arn, "/*") for arn in bucket_arns]),
        statement("ListBuckets", ("s3:ListBucket",), list(bucket_arns)),
    ]


def trigger_statements(permissions: TriggerPermissions) -> list[dict]:
    """What the trigger function may start: only the configured ARNs, nothing by default."""
    statements = []
    if permissions.glue:
        statements.append(statement("StartGlueJobs", ("glue:StartJobRun",), list(permissions.glue)))
    if permissions.emr:
        statements.append(statement("AddEmrSteps", ("elasticmapreduce:AddJobFlowSteps",), list(permissions.emr)))
    if permissions.emr_serverless:
        statements.append(statement("StartEmrServerlessJobs", ("emr-serverless:StartJobRun",),
                                    list(permissions.emr_serverless)))
        statements.append(statement(
            "PassEmrServerlessExecutionRoles", ("iam:PassRole",), list(permissions.emr_serverless_roles),
            {"StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}}))
    if permissions.step_functions:
        statements.append(statement("StartStateMachines", ("states:StartExecution",),
                                    list(permissions.step_functions)))
    if permissions.lambda_functions:
        statements.append(statement("InvokeFunctions", ("lambda:InvokeFunction",),
                                    list(permissions.lambda_functions)))
    return statements


def run_checker_statements(permissions: TriggerPermissions) -> list[dict]:
    """What the run-checker may poll: the runs of the configured jobs only."""
    statements = []
    if permissions.glue:
        statements.append(statement("PollGlueJobs", ("glue:GetJobRun",), list(permissions.glue)))
    if permissions.emr:
        statements.append(statement("PollEmrSteps", ("elasticmapreduce:DescribeStep",), list(permissions.emr)))
    if permissions.emr_serverless:
        statements.append(statement("PollEmrServerlessJobs", ("emr-serverless:GetJobRun",),
                                    [f"{arn}/jobruns/*" for arn in permissions.emr_serverless]))
    if permissions.step_functions:
        executions = []
        for arn in permissions.step_functions:
            executions.append(arn.replace(":stateMachine:", ":execution:") + ":*")
            executions.append(arn.replace(":stateMachine:", ":express:") + ":*:*")
        statements.append(statement("PollStateMachineExecutions", ("states:DescribeExecution",), executions))
    return statements
