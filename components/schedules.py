"""The stack's EventBridge Scheduler group: the schedules that write MARKER items straight into the table (no Lambda
in between) and the watchdog's schedule, all through one Scheduler role allowed PutItem on the table and
InvokeFunction on the watchdog only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from handlers.interlock import store

from . import iam
from .service_role import ServiceRoleArgs, service_role
from .stack_settings import Schedule

PUT_ITEM_TARGET = "arn:aws:scheduler:::aws-sdk:dynamodb:putItem"


def marker_put_item(table_name: str, schedule: Schedule) -> str:
    """The putItem request a schedule sends: the store's scheduled MARKER item for its pipeline."""
    item = store.scheduled_marker_item(
        schedule.pipeline, schedule.name, schedule_id=schedule.schedule_id, timezone=schedule.timezone
    )
    return json.dumps({"TableName": table_name, "Item": item}, sort_keys=True)


@dataclass
class SchedulesArgs:
    project_name: str
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]
    schedules: Sequence[Schedule] = field(default_factory=tuple)
    watchdog_arn: pulumi.Input[str] | None = None  # the watchdog function
    watchdog_interval_seconds: int = 0  # 0: no watchdog schedule


def rate_expression(seconds: int) -> str:
    minutes = seconds // 60
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


class Schedules(pulumi.ComponentResource):
    """One schedule group per stack, one schedule per configured entry, the watchdog's schedule, one role."""

    def __init__(self, name: str, args: SchedulesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:Schedules", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.group = aws.scheduler.ScheduleGroup(f"{name}-group", name=args.project_name, opts=child)
        runs_watchdog = bool(args.watchdog_arn and args.watchdog_interval_seconds)
        statements = [iam.statement("WriteMarkers", ("dynamodb:PutItem",), [args.table_arn])]
        if runs_watchdog:
            statements += iam.invoke_function_statements(args.watchdog_arn)
        access = service_role(
            name,
            ServiceRoleArgs(
                role_name=f"{args.project_name}-scheduler",
                service="scheduler.amazonaws.com",
                account_id=args.account_id,
                statements=statements,
            ),
            parent=self,
        )
        self.role, self.policy = access.role, access.policy
        self.schedules = []
        for schedule in args.schedules:
            self.schedules.append(
                aws.scheduler.Schedule(
                    f"{name}-{schedule.name}",
                    name=schedule.name,
                    group_name=self.group.name,
                    schedule_expression=schedule.expression,
                    schedule_expression_timezone=schedule.timezone,
                    flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                    state="ENABLED",
                    target=aws.scheduler.ScheduleTargetArgs(
                        arn=PUT_ITEM_TARGET,
                        role_arn=self.role.arn,
                        input=pulumi.Output.from_input(args.table_name).apply(
                            lambda table, s=schedule: marker_put_item(table, s)
                        ),
                        retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                            maximum_retry_attempts=3, maximum_event_age_in_seconds=3600
                        ),
                    ),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
                )
            )
        self.watchdog = None
        if runs_watchdog:
            self.watchdog = aws.scheduler.Schedule(
                f"{name}-watchdog",
                name=f"{args.project_name}-watchdog",
                group_name=self.group.name,
                schedule_expression=rate_expression(args.watchdog_interval_seconds),
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                state="ENABLED",
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=args.watchdog_arn,
                    role_arn=self.role.arn,
                    input="{}",
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                        maximum_retry_attempts=0, maximum_event_age_in_seconds=60
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
            )
        self.register_outputs({"groupName": self.group.name})
