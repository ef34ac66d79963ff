"""`interlock status` and `explain` show a pipeline in dry run and what it would have triggered (the event the
trigger Lambda records), against a table in moto."""

import json

import boto3
import pytest
from moto import mock_aws

from handlers import trigger
from handlers.interlock import schema, settings, store
from interlock_cli.main import main
from interlock_cli.operate import status
from interlock_cli.stack import StackRef

TABLE = "interlock-cli-dry-run"
DATE = "2026-03-03"
JOB = {"type": "glue", "jobName": "nightly-etl", "arguments": {"--day": "${date}"}}


@pytest.fixture
def table(monkeypatch):
    for variable in ("AWS_ENDPOINT_URL", "INTERLOCK_TABLE", "INTERLOCK_STATE_MACHINE_ARN", "INTERLOCK_SCHEDULE_GROUP"):
        monkeypatch.delenv(variable, raising=False)
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("RETENTION_TTL_SECONDS", "3600")
        monkeypatch.setenv("INTERLOCK_DRY_RUN", "false")
        settings.reset()
        boto3.client("dynamodb").create_table(**schema.create_table_kwargs(TABLE))
        store.put_pipeline({"name": "sales", "archetype": "batch-ingestion", "trigger": JOB, "dryRun": True})
        store.put_pipeline({"name": "orders", "archetype": "batch-ingestion", "trigger": JOB})
        yield
    settings.reset()


def interlock(capsys, *argv) -> str:
    assert main([*argv, "--table", TABLE, "--region", "us-east-1"]) == 0
    return capsys.readouterr().out


def would_trigger(capsys) -> None:
    """What the trigger Lambda records for a run of the pipeline in dry run (its log line is not the CLI's output)."""
    store.create_run("run-1", "sales", schedule_id="daily", date=DATE)
    event = {"pipelineID": "sales", "scheduleID": "daily", "date": DATE, "trigger": JOB, "runID": "run-1"}
    assert trigger.handler(event, None)["status"] == "dryRun"
    capsys.readouterr()


def test_status_shows_the_dry_run_and_the_last_would_trigger(table, capsys):
    rows = {row["pipeline"]: row for row in json.loads(interlock(capsys, "status", "--json"))}
    assert (rows["sales"]["dryRun"], rows["sales"]["lastWouldTrigger"]) == ("pipeline", None)
    assert (rows["orders"]["dryRun"], rows["orders"]["lastWouldTrigger"]) == (None, None)
    would_trigger(capsys)
    last = {row["pipeline"]: row for row in json.loads(interlock(capsys, "status", "--json"))}["sales"]
    assert {k: v for k, v in last["lastWouldTrigger"].items() if k != "timestamp"} == {
        "date": DATE,
        "scheduleID": "daily",
        "dryRunBy": "pipeline",
        "target": "glue:StartJobRun",
        "error": None,
    }
    text = interlock(capsys, "status")
    header, *lines = text.splitlines()
    assert header.split()[:5] == ["PIPELINE", "SCHEDULE", "PAUSED", "DRY", "RUN"]
    assert any(line.split()[:4] == ["sales", "daily", "no", "pipeline"] for line in lines)
    assert any(line.split()[:4] == ["orders", "daily", "no", "no"] for line in lines)
    (summary,) = [line for line in lines if line.startswith("sales: ")]
    assert summary.startswith(f"sales: dry run (pipeline); last would-trigger {DATE} (daily) at ")
    assert summary.endswith(": glue:StartJobRun")


def test_explain_shows_what_the_date_would_have_triggered(table, capsys):
    would_trigger(capsys)
    document = json.loads(interlock(capsys, "explain", "sales", DATE, "--json"))
    assert document["dryRun"] == "pipeline" and document["runLog"] is None
    (would,) = document["wouldTrigger"]
    assert (would["target"], would["date"], would["dryRunBy"]) == ("glue:StartJobRun", DATE, "pipeline")
    (event,) = [e for e in document["events"] if e["kind"] == "DRY_RUN_WOULD_TRIGGER"]
    assert event["details"]["request"]["parameters"] == {"JobName": "nightly-etl", "Arguments": {"--day": DATE}}
    text = interlock(capsys, "explain", "sales", DATE)
    assert "DRY RUN (pipeline): runs record what they would trigger; no job, no run log" in text
    assert "would trigger (pipeline) at " in text and ": glue:StartJobRun" in text
    other_schedule = json.loads(interlock(capsys, "explain", "sales", DATE, "--schedule", "h07", "--json"))
    assert other_schedule["wouldTrigger"] == []


def test_a_stack_known_to_be_in_dry_run_puts_every_pipeline_in_it(table):
    rows = {row["pipeline"]: row["dryRun"] for row in status(StackRef(table=TABLE, region="us-east-1", dry_run=True))}
    assert rows == {"sales": "stack", "orders": "stack"}


def test_a_served_emulator_in_dry_run_puts_the_stack_in_dry_run(monkeypatch):
    from interlock_cli import stack

    served = {"table": TABLE, "state_machine_arn": "", "topic_arn": "", "region": "us-east-1", "dry_run": True}
    monkeypatch.setattr(stack, "from_emulator", lambda url: served)
    for variable in stack.ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8455")
    ref = stack.resolve({"endpoint_url": "http://127.0.0.1:8455"}, None, ".")
    assert (ref.table, ref.dry_run) == (TABLE, True)
