"""CloudWatch alarms that publish to the alert topic: function errors, failed and timed-out executions,
stream iterator age, dead-letter queue depth and EventBridge rules that gave up delivering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

PERIOD_SECONDS = 300
ITERATOR_AGE_THRESHOLD_MS = 5 * 60 * 1000


@dataclass
class AlarmsArgs:
    project_name: str
    topic_arn: pulumi.Input[str]
    function_names: Mapping[str, pulumi.Input[str]]  # kind -> function name
    stream_router_name: pulumi.Input[str]
    state_machine_arn: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]
    rule_names: Sequence[str]  # the stack's EventBridge rules invoking its functions


class Alarms(pulumi.ComponentResource):
    """Every alarm notifies the alert topic once per breach (missing data is not a breach)."""

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:Alarms", name, None, opts)
        self._name = name
        self._args = args
        for kind, function_name in args.function_names.items():
            self._alarm(
                f"{kind}-errors",
                "AWS/Lambda",
                "Errors",
                "Sum",
                1,
                {"FunctionName": function_name},
                f"{kind} raised errors (a broken environment: permissions, throttling, timeouts)",
            )
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            self._alarm(
                f"pipeline-{metric.lower()}",
                "AWS/States",
                metric,
                "Sum",
                1,
                {"StateMachineArn": args.state_machine_arn},
                f"lifecycle executions: {metric}",
            )
        self._alarm(
            "stream-iterator-age",
            "AWS/Lambda",
            "IteratorAge",
            "Maximum",
            ITERATOR_AGE_THRESHOLD_MS,
            {"FunctionName": args.stream_router_name},
            "stream-router is falling behind the table stream",
        )
        self._alarm(
            "stream-dlq-depth",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            1,
            {"QueueName": args.dead_letter_queue_name},
            "stream batches ended in the dead-letter queue",
        )
        for rule_name in args.rule_names:
            self._alarm(
                f"{rule_name.removeprefix(args.project_name + '-')}-failed-deliveries",
                "AWS/Events",
                "FailedInvocations",
                "Sum",
                1,
                {"RuleName": rule_name},
                f"EventBridge gave up delivering events of {rule_name} to its function (permission, throttling)",
            )
        self.register_outputs({})

    def _alarm(
        self,
        suffix: str,
        namespace: str,
        metric: str,
        statistic: str,
        threshold: float,
        dimensions: Mapping[str, pulumi.Input[str]],
        description: str,
    ) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}",
            name=f"{self._args.project_name}-{suffix}",
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            statistic=statistic,
            dimensions=dict(dimensions),
            period=PERIOD_SECONDS,
            evaluation_periods=1,
            threshold=threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self._args.topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
        )
