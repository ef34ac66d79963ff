"""A service's role with its inline policy `least-privilege` and, where the service logs, its log group.

Children are created under the calling component and named `<name>-logs`, `<name>-role`, `<name>-policy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import iam


@dataclass
class ServiceRoleArgs:
    role_name: str
    service: str  # the trusted principal, e.g. "lambda.amazonaws.com"
    account_id: pulumi.Input[str]  # trust is limited to this account (aws:SourceAccount)
    statements: Sequence[dict]
    log_group_name: str = ""  # also create this log group
    log_retention_days: int = 0
    writes_own_logs: bool = False  # the role writes to that group itself (a Lambda function does)


@dataclass
class ServiceRole:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup | None


def service_role(name: str, args: ServiceRoleArgs, parent: pulumi.Resource) -> ServiceRole:
    child = pulumi.ResourceOptions(parent=parent)
    statements = list(args.statements)
    log_group = None
    if args.log_group_name:
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=args.log_group_name, retention_in_days=args.log_retention_days, opts=child
        )
        if args.writes_own_logs:
            statements.insert(0, iam.log_statement(log_group.arn))
    role = aws.iam.Role(
        f"{name}-role",
        name=args.role_name,
        assume_role_policy=iam.assume_role_policy(args.service, args.account_id),
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-policy", name="least-privilege", role=role.id, policy=iam.policy_json(statements), opts=child
    )
    return ServiceRole(role, policy, log_group)
