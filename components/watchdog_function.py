"""The watchdog function. The schedule that runs it every `watchdogInterval` is created with the stack's other
schedules (components/schedules.py), through the stack's one Scheduler role. The function learns the stack's
schedules from WATCHDOG_SCHEDULES (compact JSON, see handlers/interlock/watchdog_pass.py) and the stuck-run limit from
EXECUTION_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from handlers.interlock.watchdog_pass import StackSchedule, encode_schedules

from .function_records import WATCHDOG
from .functions import FunctionsArgs, LambdaFunction, LambdaFunctionArgs
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


@dataclass
class WatchdogArgs:
    functions: FunctionsArgs  # with the state machine's ARN
    execution_timeout_seconds: int
    schedules: Sequence[Schedule] = field(default_factory=tuple)


class Watchdog(pulumi.ComponentResource):
    """The watchdog function; its schedule lives with the stack's other schedules (components/schedules.py)."""

    def __init__(self, name: str, args: WatchdogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:Watchdog", name, None, opts)
        runtime = args.functions.runtime
        environment = {
            **runtime.environment,
            "EXECUTION_TIMEOUT_SECONDS": str(args.execution_timeout_seconds),
            "WATCHDOG_SCHEDULES": watchdog_schedules(args.schedules),
        }
        functions = dataclasses.replace(args.functions, runtime=dataclasses.replace(runtime, environment=environment))
        self.function = LambdaFunction(
            f"{name}-function", LambdaFunctionArgs(WATCHDOG, functions), pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"functionName": self.function.name})
