"""The CloudWatch dashboard: a widget for each Interlock metric and for the machinery (every function record, the
state machine, the stream mapping, the dead-letter queue), over the real names; its URL is a stack output."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from pulumi.runtime import MockResourceArgs

from components.function_records import FUNCTIONS
from emulator.mocks import EmulatorMocks
from tests.infra.conftest import ACCOUNT, REQUIRED
from tests.infra.harness import run_program_full

MACHINE_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:team-a-pipeline"


def dashboard_widgets(run) -> dict[str, dict]:
    (dashboard,) = run.of_type("aws:cloudwatch/dashboard:Dashboard")
    return {
        widget["properties"]["title"]: widget for widget in json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    }


def lines(widget: dict) -> list[list]:
    return widget["properties"]["metrics"]


def test_the_dashboard_is_named_after_the_project_under_its_component(default_run):
    (dashboard,) = default_run.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == "team-a"
    assert default_run.named(dashboard.parent).type == "interlock:index:Dashboard"


@pytest.mark.parametrize(
    "title, metric, stat",
    [
        ("Lambda errors", "Errors", "Sum"),
        ("Lambda throttles", "Throttles", "Sum"),
        ("Lambda duration (p99, ms)", "Duration", "p99"),
    ],
)
def test_every_function_record_has_a_line_in_each_lambda_widget(default_run, title, metric, stat):
    assert lines(dashboard_widgets(default_run)[title]) == [
        ["AWS/Lambda", metric, "FunctionName", f"team-a-{record.kind}", {"stat": stat, "label": record.kind}]
        for record in FUNCTIONS
    ]


def test_execution_outcomes_of_the_machine(default_run):
    widget = dashboard_widgets(default_run)["Executions by outcome"]
    assert [(line[0], line[1], line[2], line[3]) for line in lines(widget)] == [
        ("AWS/States", metric, "StateMachineArn", MACHINE_ARN)
        for metric in ("ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
    ]


def test_stream_iterator_age_and_dead_letters_name_the_real_resources(default_run):
    widgets = dashboard_widgets(default_run)
    (queue,) = default_run.of_type("aws:sqs/queue:Queue")
    assert lines(widgets["Stream iterator age (max, ms)"]) == [
        ["AWS/Lambda", "IteratorAge", "FunctionName", "team-a-stream-router", {"stat": "Maximum"}]
    ]
    assert lines(widgets["Dead letters (visible messages)"]) == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue.outputs["name"], {"stat": "Maximum"}]
    ]
    assert queue.outputs["name"] == "team-a-stream-dlq"


@pytest.mark.parametrize(
    "title, metric, by",
    [
        ("Runs completed per pipeline", "RunsCompleted", "pipeline"),
        ("Runs failed per pipeline", "RunsFailed", "pipeline"),
        ("Runs skipped per pipeline", "RunsSkipped", "pipeline"),
        ("SLA breaches per pipeline", "SlaBreaches", "pipeline"),
        ("Trigger failures by category", "TriggerFailures", "category"),
    ],
)
def test_interlock_metrics_are_searched_for_this_project_only(default_run, title, metric, by):
    (line,) = lines(dashboard_widgets(default_run)[title])
    assert line == [
        {
            "expression": f'SEARCH(\'{{Interlock,service,{by}}} service="team-a" '
            f"MetricName=\"{metric}\"', 'Sum', 300)",
            "id": "lines",
            "label": "",
        }
    ]


def test_widgets_tile_the_grid_without_overlap(default_run):
    (dashboard,) = default_run.of_type("aws:cloudwatch/dashboard:Dashboard")
    cells = set()
    for widget in json.loads(dashboard.inputs["dashboardBody"])["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        cell = (widget["x"], widget["y"])
        assert cell not in cells
        cells.add(cell)
    assert len(cells) == 11


def test_the_url_output_and_widgets_use_the_providers_region():
    run = run_program_full({**REQUIRED, "projectName": "team-b"}, region="eu-west-1")
    assert run.exports["dashboardUrl"] == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=team-b"
    )
    assert {widget["properties"]["region"] for widget in dashboard_widgets(run).values()} == {"eu-west-1"}


def test_the_emulator_creates_the_dashboard_in_moto():
    with mock_aws():
        mocks = EmulatorMocks(lambda service: boto3.client(service, region_name="us-east-1"))
        body = json.dumps({"widgets": []})
        resource_id, outputs = mocks.new_resource(
            MockResourceArgs(
                "aws:cloudwatch/dashboard:Dashboard",
                "d",
                {"dashboardName": "team-a", "dashboardBody": body},
                custom=True,
            )
        )
        stored = boto3.client("cloudwatch", region_name="us-east-1").get_dashboard(DashboardName="team-a")
    assert resource_id == "team-a" and stored["DashboardBody"] == body
    assert outputs["dashboardArn"] == stored["DashboardArn"] and mocks.skipped == []
