"""The machine's abnormal execution ends -> reconciler: an EventBridge rule on Step Functions "Execution Status
Change" (ABORTED, TIMED_OUT, FAILED of this stack's state machine), its Lambda target and the permission that lets
EventBridge invoke the function from that rule only (`rule_to_function`, also used by JobEvents)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .function_records import RECONCILER
from .functions import FunctionsArgs, LambdaFunction, LambdaFunctionArgs

ABNORMAL_ENDS = ("ABORTED", "TIMED_OUT", "FAILED")


def execution_end_pattern(state_machine_arn: str) -> str:
    return json.dumps(
        {
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"status": list(ABNORMAL_ENDS), "stateMachineArn": [state_machine_arn]},
        },
        sort_keys=True,
    )


@dataclass
class RuleToFunctionArgs:
    rule_name: str
    description: str
    event_pattern: pulumi.Input[str]
    function: LambdaFunction  # receives the whole event


def rule_to_function(name: str, args: RuleToFunctionArgs, parent: pulumi.Resource) -> aws.cloudwatch.EventRule:
    """A rule on the default bus, its Lambda target, and the permission for EventBridge to invoke the function
    from this rule only; children `<name>-rule`, `-permission`, `-target` of `parent`."""
    child = pulumi.ResourceOptions(parent=parent)
    rule = aws.cloudwatch.EventRule(
        f"{name}-rule",
        name=args.rule_name,
        description=args.description,
        event_pattern=args.event_pattern,
        opts=child,
    )
    permission = aws.lambda_.Permission(
        f"{name}-permission",
        action="lambda:InvokeFunction",
        function=args.function.name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
        opts=child,
    )
    aws.cloudwatch.EventTarget(
        f"{name}-target",
        rule=rule.name,
        arn=args.function.arn,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[permission]),
    )
    return rule


@dataclass
class ExecutionEventsArgs:
    functions: FunctionsArgs
    state_machine_arn: pulumi.Input[str]


class ExecutionEvents(pulumi.ComponentResource):
    """The reconciler function and the rule that delivers the machine's abnormal execution ends to it."""

    def __init__(self, name: str, args: ExecutionEventsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:ExecutionEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.function = LambdaFunction(f"{name}-function", LambdaFunctionArgs(RECONCILER, args.functions), child)
        self.rule_name = f"{args.functions.project_name}-execution-ends"
        self.rule = rule_to_function(
            name,
            RuleToFunctionArgs(
                rule_name=self.rule_name,
                description="Abnormal ends (ABORTED, TIMED_OUT, FAILED) of the pipeline state machine's executions",
                event_pattern=pulumi.Output.from_input(args.state_machine_arn).apply(execution_end_pattern),
                function=self.function,
            ),
            self,
        )
        self.register_outputs({"functionName": self.function.name, "ruleArn": self.rule.arn})
