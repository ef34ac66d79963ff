"""Run outcomes as CloudWatch embedded metric format lines: each captured line is checked against the EMF
specification (the `_aws` envelope, every dimension a top-level string, every metric a top-level number) and for
its namespace, dimensions and value."""

from __future__ import annotations

import json

from handlers import trigger
from outbound_aws import pending_run, trigger_event
from test_orchestrator import new_run, orch, pipeline, results, run_log

SERVICE = "interlock-test"  # POWERTOOLS_SERVICE_NAME of the aws_env fixture


def emf_records(output: str) -> list[dict]:
    """The EMF lines of the captured output, validated as CloudWatch Logs would before extracting metrics."""
    records = []
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        envelope = record["_aws"]
        assert isinstance(envelope["Timestamp"], int) and envelope["Timestamp"] > 1_700_000_000_000
        (directive,) = envelope["CloudWatchMetrics"]
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(record[name], str) and record[name], f"dimension {name} missing in {record}"
        for metric in directive["Metrics"]:
            assert isinstance(record[metric["Name"]], (int, float)) and metric["Unit"] == "Count"
        records.append(record)
    return records


def only_metric(records: list[dict]) -> tuple[str, dict]:
    (record,) = records
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    (metric,) = directive["Metrics"]
    assert directive["Namespace"] == "Interlock"
    return metric["Name"], record


def test_a_completed_run_counts_once_per_pipeline_and_schedule(aws_env, capsys):
    pipeline()
    orch("logResult", {"status": "COMPLETED", "runID": new_run(status="RUNNING")})
    name, record = only_metric(emf_records(capsys.readouterr().out))
    assert name == "RunsCompleted" and record["RunsCompleted"] == 1
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["service", "pipeline"],
        ["service", "pipeline", "schedule"],
    ]
    assert (record["service"], record["pipeline"], record["schedule"]) == (SERVICE, "pipe-a", "daily")


def test_a_failure_counts_only_once_no_retry_is_left(aws_env, capsys):
    pipeline(retry={"maxAttempts": 2, "backoffSeconds": 30})
    orch(
        "logResult",
        {"status": "FAILED", "runID": new_run(status="RUNNING"), "message": "HTTP 503", "failureCategory": "TRANSIENT"},
    )
    assert emf_records(capsys.readouterr().out) == []  # retried: not (yet) a failed run
    orch(
        "logResult",
        {"status": "FAILED", "runID": new_run(status="RUNNING"), "message": "HTTP 503", "failureCategory": "TRANSIENT"},
    )
    name, record = only_metric(emf_records(capsys.readouterr().out))
    assert (name, record["RunsFailed"], record["pipeline"]) == ("RunsFailed", 1, "pipe-a")
    assert (record["category"], record["attempt"]) == ("TRANSIENT", 2)


def test_skips_that_end_the_execution_count_and_not_ready_does_not(aws_env, capsys):
    pipeline()
    run_log("COMPLETED", 1)
    orch("checkRunLog", {"replay": False})
    name, record = only_metric(emf_records(capsys.readouterr().out))
    assert (name, record["RunsSkipped"], record["reason"], record["action"]) == (
        "RunsSkipped",
        1,
        "already completed",
        "checkRunLog",
    )
    out = orch("checkReadiness", {"runID": "r1", "traitResults": results(source_freshness="FAIL")})
    assert out["result"] == "skip"
    assert emf_records(capsys.readouterr().out) == []


def test_an_sla_breach_counts_once_per_run_with_its_stage(aws_env, capsys):
    pipeline(sla={"evaluationDeadline": "06:00", "completionDeadline": "", "timezone": "UTC"})
    orch("checkEvaluationSLA", {"runID": "r1"})
    orch("checkEvaluationSLA", {"runID": "r1"})
    name, record = only_metric(emf_records(capsys.readouterr().out))
    assert (name, record["SlaBreaches"], record["stage"], record["runID"]) == ("SlaBreaches", 1, "evaluation", "r1")
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "pipeline"], ["service", "stage"]]


def test_a_trigger_failure_counts_by_category(aws_env, capsys):
    pending_run()
    trigger.handler(trigger_event({"type": "glue", "jobName": "no-such-job"}), None)
    name, record = only_metric(emf_records(capsys.readouterr().out))
    assert (name, record["TriggerFailures"], record["category"], record["triggerType"]) == (
        "TriggerFailures",
        1,
        "PERMANENT",
        "glue",
    )
    assert (record["pipeline"], record["schedule"]) == ("sales", "h07")
    assert ["service", "category"] in record["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
