"""The stack's CloudWatch dashboard: Interlock's run outcomes (the orchestrator's and trigger's EMF metrics, see
handlers/interlock/metrics.py) next to the AWS metrics of the state machine, every function, the stream mapping
and its dead-letter queue. Its console address is `url`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from handlers.interlock import metrics

from .function_records import FUNCTIONS

PERIOD_SECONDS = 300
WIDTH, HEIGHT, COLUMNS = 8, 6, 3  # the dashboard grid is 24 units wide
EXECUTION_OUTCOMES = ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")


@dataclass
class DashboardArgs:
    dashboard_name: str
    region: pulumi.Input[str]
    service: str  # the `service` dimension of the Interlock metrics
    function_names: Mapping[str, pulumi.Input[str]]  # kind -> function name, one per function record
    state_machine_arn: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]


class Dashboard(pulumi.ComponentResource):
    """One dashboard; a function added to function_records.FUNCTIONS gets its lines without a change here."""

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:Dashboard", name, None, opts)
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.dashboard_name,
            dashboard_body=pulumi.Output.json_dumps({"widgets": _layout(widgets(args))}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.url = pulumi.Output.concat(
            "https://",
            args.region,
            ".console.aws.amazon.com/cloudwatch/home?region=",
            args.region,
            "#dashboards:name=",
            self.dashboard.dashboard_name,
        )
        self.register_outputs({"name": self.dashboard.dashboard_name, "url": self.url})


def widgets(args: DashboardArgs) -> list[dict]:
    """The widgets in reading order: run outcomes first, then the machinery behind them."""
    per_function = {record.kind: args.function_names[record.kind] for record in FUNCTIONS}
    stream_router = per_function["stream-router"]

    def lambda_metric(metric: str, stat: str) -> list[list]:
        return [
            ["AWS/Lambda", metric, "FunctionName", function_name, {"stat": stat, "label": kind}]
            for kind, function_name in per_function.items()
        ]

    return [
        *(
            _search(f"Runs {outcome} per pipeline", metric, "pipeline", args)
            for outcome, metric in (
                ("completed", metrics.RUNS_COMPLETED),
                ("failed", metrics.RUNS_FAILED),
                ("skipped", metrics.RUNS_SKIPPED),
            )
        ),
        _search("SLA breaches per pipeline", metrics.SLA_BREACHES, "pipeline", args),
        _search("Trigger failures by category", metrics.TRIGGER_FAILURES, "category", args),
        _graph(
            "Executions by outcome",
            args.region,
            [
                ["AWS/States", metric, "StateMachineArn", args.state_machine_arn, {"stat": "Sum", "label": metric}]
                for metric in EXECUTION_OUTCOMES
            ],
        ),
        _graph("Lambda errors", args.region, lambda_metric("Errors", "Sum")),
        _graph("Lambda throttles", args.region, lambda_metric("Throttles", "Sum")),
        _graph("Lambda duration (p99, ms)", args.region, lambda_metric("Duration", "p99")),
        _graph(
            "Stream iterator age (max, ms)",
            args.region,
            [["AWS/Lambda", "IteratorAge", "FunctionName", stream_router, {"stat": "Maximum"}]],
        ),
        _graph(
            "Dead letters (visible messages)",
            args.region,
            [
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    args.dead_letter_queue_name,
                    {"stat": "Maximum"},
                ]
            ],
        ),
    ]


def _search(title: str, metric: str, by: str, args: DashboardArgs) -> dict:
    """One line per value of `by` (every pipeline or category that ever reported, none listed at deploy time)."""
    query = f'{{{metrics.NAMESPACE},service,{by}}} service="{args.service}" MetricName="{metric}"'
    return _graph(
        title,
        args.region,
        [[{"expression": f"SEARCH('{query}', 'Sum', {PERIOD_SECONDS})", "id": "lines", "label": ""}]],
    )


def _graph(title: str, region: pulumi.Input[str], lines: list[list]) -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stacked": False,
            "period": PERIOD_SECONDS,
            "metrics": lines,
        },
    }


def _layout(items: list[dict]) -> list[dict]:
    return [
        {**item, "x": (index % COLUMNS) * WIDTH, "y": (index // COLUMNS) * HEIGHT, "width": WIDTH, "height": HEIGHT}
        for index, item in enumerate(items)
    ]
