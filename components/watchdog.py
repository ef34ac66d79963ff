"""The watchdog function and the EventBridge Scheduler schedule that runs it every `watchdogInterval`.

The schedule sits in the stack's schedule group and targets the function directly (Lambda ARN target) through a
role allowed only `lambda:InvokeFunction` on it. The function learns the stack's schedules from WATCHDOG_SCHEDULES
(compact JSON, see handlers/interlock/watchdog.py) and the stuck-run limit from EXECUTION_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from handlers.interlock.watchdog import StackSchedule, encode_schedules

from . import iam
from .function_records import WATCHDOG
from .functions import FunctionsArgs, LambdaFunction, LambdaFunctionArgs
from .service_role import ServiceRoleArgs, service_role
from .stack_settings import ConfigurationError, Schedule

# Lambda allows 4 KB of environment per function; the variables every function gets take about 1 KB of it.
SCHEDULES_BUDGET = 2800


def watchdog_schedules(schedules: Sequence[Schedule]) -> str:
    """WATCHDOG_SCHEDULES for the stack's schedules; a list too long for a Lambda environment is refused."""
    encoded = encode_schedules(
        [StackSchedule(s.name, s.pipeline, s.schedule_id, s.expression, s.timezone) for s in schedules]
    )
    if len(encoded) > SCHEDULES_BUDGET:
        raise ConfigurationError(
            [
                f"interlock:schedules: {len(schedules)} schedules take {len(encoded)} characters for the watchdog "
                f"(at most {SCHEDULES_BUDGET} fit its environment); shorten names or split the stack"
            ]
        )
    return encoded


def rate_expression(seconds: int) -> str:
    minutes = seconds // 60
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


@dataclass
class WatchdogArgs:
    functions: FunctionsArgs  # with the state machine's ARN
    group_name: pulumi.Input[str]  # the stack's schedule group
    interval_seconds: int  # 0: no schedule
    execution_timeout_seconds: int
    schedules: Sequence[Schedule] = field(default_factory=tuple)


class Watchdog(pulumi.ComponentResource):
    """The watchdog function, and unless the interval is 0 its schedule and the schedule's role."""

    def __init__(self, name: str, args: WatchdogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:Watchdog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        runtime = args.functions.runtime
        environment = {
            **runtime.environment,
            "EXECUTION_TIMEOUT_SECONDS": str(args.execution_timeout_seconds),
            "WATCHDOG_SCHEDULES": watchdog_schedules(args.schedules),
        }
        functions = dataclasses.replace(args.functions, runtime=dataclasses.replace(runtime, environment=environment))
        self.function = LambdaFunction(f"{name}-function", LambdaFunctionArgs(WATCHDOG, functions), child)
        self.schedule = None
        if args.interval_seconds:
            project = args.functions.project_name
            access = service_role(
                f"{name}-schedule",
                ServiceRoleArgs(
                    role_name=f"{project}-watchdog-scheduler",
                    service="scheduler.amazonaws.com",
                    account_id=runtime.account_id,
                    statements=iam.invoke_function_statements(self.function.arn),
                ),
                parent=self,
            )
            self.schedule = aws.scheduler.Schedule(
                f"{name}-schedule",
                name=f"{project}-watchdog",
                group_name=args.group_name,
                schedule_expression=rate_expression(args.interval_seconds),
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                state="ENABLED",
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=self.function.arn,
                    role_arn=access.role.arn,
                    input="{}",
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                        maximum_retry_attempts=0, maximum_event_age_in_seconds=60
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[access.policy]),
            )
        self.register_outputs({"functionName": self.function.name})
