"""Watchdog Lambda against moto with a fixed clock: each alert goes out once however often it runs, nothing is
alerted for a completed, excluded or on-time date, and a dead owner's lock is released as the reconciler would."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest

from handlers import watchdog as watchdog_handler
from handlers.interlock import settings, store
from handlers.interlock.actions.common import Request, sla_outcome
from handlers.interlock.alerts import AlertType
from handlers.interlock.watchdog_pass import StackSchedule, encode_schedules

DATE = "2026-03-03"  # a Tuesday
PIPELINE = {
    "name": "pipe-a",
    "archetype": "batch-ingestion",
    "traits": {"source-freshness": {"evaluator": "https://example.com/fresh"}},
    "trigger": {"type": "http", "url": "https://example.com/run"},
    "sla": {"completionDeadline": "10:00", "warnBefore": "30m"},
}
DAILY_AT_NINE = StackSchedule("pipe-a-daily", "pipe-a", "daily", "cron(0 9 * * ? *)", "UTC")


def at(clock: str, date: str = DATE) -> str:
    return f"{date}T{clock}:00Z"


@pytest.fixture
def watched(aws_env, monkeypatch):
    sfn = boto3.client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/states"
    machine = sfn.create_state_machine(
        name="team-a-pipeline",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn=role,
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", machine)
    monkeypatch.setenv("EXECUTION_TIMEOUT_SECONDS", "3600")
    monkeypatch.setenv("WATCHDOG_SCHEDULES", encode_schedules([DAILY_AT_NINE]))
    settings.reset()
    store.put_pipeline(PIPELINE)
    return machine


def run(now: str) -> dict:
    return watchdog_handler.handler({"now": now}, None)


def missed(report: dict) -> list[tuple[str, str]]:
    return [(a["alertType"], a["date"]) for a in report["alerts"] if a["alertType"] == "SCHEDULE_MISSED"]


def sent(aws_env, alert_type: str) -> list[dict]:
    return [a for a in aws_env.alerts() if a["alertType"] == alert_type]


def test_a_schedule_that_never_fires_is_alerted_once(watched, aws_env):
    assert missed(run(at("09:10"))) == [("SCHEDULE_MISSED", "2026-03-02")]  # yesterday's; today's within the grace
    assert missed(run(at("09:16"))) == [("SCHEDULE_MISSED", DATE)]
    for clock in ("09:21", "09:26", "09:40"):
        assert missed(run(at(clock))) == []
    (alert,) = [a for a in sent(aws_env, "SCHEDULE_MISSED") if a["date"] == DATE]
    assert (alert["pipelineID"], alert["scheduleID"], alert["date"]) == ("pipe-a", "daily", DATE)
    assert alert["details"]["scheduledAt"] == "2026-03-03T09:00:00.000Z"
    assert alert["level"] == "error"


def test_a_marker_the_schedule_wrote_counts_as_arrived(watched, aws_env):
    item = store.scheduled_marker_item("pipe-a", "pipe-a-daily", schedule_id="daily", timezone="UTC")
    written = json.loads(json.dumps(item).replace(store.SCHEDULED_TIME, "2026-03-03T09:00:00Z"))
    boto3.client("dynamodb").put_item(TableName=aws_env.table_name, Item=written)
    assert missed(run(at("09:30"))) == []  # the latest firing is the one looked at


def test_another_schedules_marker_does_not_count(watched, aws_env):
    item = store.scheduled_marker_item("pipe-a", "other", schedule_id="daily", timezone="UTC")
    written = json.loads(json.dumps(item).replace(store.SCHEDULED_TIME, "2026-03-03T09:00:00Z"))
    boto3.client("dynamodb").put_item(TableName=aws_env.table_name, Item=written)
    assert missed(run(at("09:30"))) == [("SCHEDULE_MISSED", DATE)]


def test_a_deadline_passing_with_no_run_is_a_breach_once_shared_with_the_in_execution_check(watched, aws_env):
    for clock in ("10:05", "10:10", "13:00"):
        run(at(clock))
    (breach,) = sent(aws_env, "COMPLETION_SLA_BREACHED")
    assert breach["details"]["deadline"] == "2026-03-03T10:00:00.000Z"
    # a run of the date that starts later and completes late does not alert the breach again
    late = Request("checkCompletionSLA", "pipe-a", "daily", DATE, {"runID": "run-late"})
    outcome = sla_outcome(
        late, dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC), "completion", AlertType.COMPLETION_SLA_BREACHED, "late"
    )
    assert outcome.payload == {"breached": True, "deadline": "2026-03-03T10:00:00.000Z", "alerted": False}
    assert [a["date"] for a in sent(aws_env, "COMPLETION_SLA_BREACHED")] == [DATE]


def test_a_run_that_reached_the_run_log_leaves_the_breach_to_the_execution(watched, aws_env):
    store.put_run_log({"pipelineID": "pipe-a", "date": DATE, "scheduleID": "daily", "status": "FAILED"})
    today = [a["alertType"] for a in run(at("10:30"))["alerts"] if a["date"] == DATE]
    assert today == ["SCHEDULE_MISSED"]


def test_a_warning_goes_out_before_the_deadline_once_unless_completed(watched, aws_env):
    assert [a for a in run(at("09:29"))["alerts"] if a["alertType"] == "SLA_WARNING"] == []
    assert [a["alertType"] for a in run(at("09:31"))["alerts"] if a["alertType"] == "SLA_WARNING"] == ["SLA_WARNING"]
    run(at("09:45"))
    assert len(sent(aws_env, "SLA_WARNING")) == 1
    store.put_run_log({"pipelineID": "pipe-a", "date": "2026-03-04", "scheduleID": "daily", "status": "COMPLETED"})
    assert [a for a in run(at("09:40", "2026-03-04"))["alerts"] if a["alertType"] == "SLA_WARNING"] == []


def test_an_excluded_day_or_a_paused_pipeline_expects_nothing(watched, aws_env):
    store.put_pipeline({**PIPELINE, "exclusions": {"days": ["monday", "tuesday"]}})
    assert run(at("10:30"))["alerts"] == []
    store.put_pipeline(PIPELINE)
    store.pause_pipeline("pipe-a", reason="maintenance")
    assert {a["alertType"] for a in run(at("10:30"))["alerts"]} == {"SCHEDULE_MISSED"}


def test_a_date_the_pipeline_does_not_include_expects_nothing(watched, aws_env):
    store.put_pipeline({**PIPELINE, "inclusions": {"calendar": "month-end"}})
    assert run(at("10:30"))["alerts"] == []  # 3 March: not a month-end
    report = run(at("10:30", "2026-03-31"))
    assert sorted(a["alertType"] for a in report["alerts"]) == ["COMPLETION_SLA_BREACHED", "SCHEDULE_MISSED"]
    store.put_pipeline({**PIPELINE, "inclusions": {"dates": ["2026-04-01"]}, "exclusions": {"days": ["wednesday"]}})
    assert run(at("10:30", "2026-04-01"))["alerts"] == []  # included, and excluded: excluded wins


def running(run_id: str, date: str = DATE) -> str:
    """A run that was triggered now and is RUNNING; its `triggeredAt`."""
    store.create_run(run_id, "pipe-a", schedule_id="daily", date=date)
    triggered = store.transition_run(run_id, "TRIGGERING")["triggeredAt"]
    assert store.transition_run(run_id, "RUNNING", metadata={"jobRunId": "jr"})["triggeredAt"] == triggered
    return triggered


def moment(text: str, minutes: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) + dt.timedelta(minutes=minutes)


def after(text: str, minutes: int) -> str:
    return moment(text, minutes).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def about_runs(report: dict) -> list[tuple[str, str]]:
    """The report's alerts about runs (the stack schedule's SCHEDULE_MISSED of the real date aside)."""
    kinds = ("MAX_DURATION_EXCEEDED", "RUN_STUCK")
    return [(a["alertType"], a["date"]) for a in report["alerts"] if a["alertType"] in kinds]


def test_a_run_past_its_max_duration_is_alerted_once_and_not_as_stuck(watched, aws_env):
    store.put_pipeline({**PIPELINE, "sla": {"maxDuration": "20m"}})
    triggered = running("run-long")
    assert about_runs(run(after(triggered, 19))) == []
    assert about_runs(run(after(triggered, 21))) == [("MAX_DURATION_EXCEEDED", DATE)]
    for minutes in (25, 40, 59):
        assert about_runs(run(after(triggered, minutes))) == []  # claimed; not stuck before the timeout (1h)
    (alert,) = sent(aws_env, "MAX_DURATION_EXCEEDED")
    assert (alert["runID"], alert["date"], alert["level"]) == ("run-long", DATE, "warning")
    assert alert["details"]["triggeredAt"] == triggered
    assert alert["details"]["elapsedSeconds"] >= 1260 and alert["details"]["maxDuration"] == "20m"
    assert about_runs(run(after(triggered, 61))) == [("RUN_STUCK", DATE)]


def test_durations_written_with_a_plus_sign_work_as_the_parser_accepts_them(watched, aws_env):
    sla = {"completionDeadline": "10:00", "warnBefore": "+30m", "maxDuration": "+20m"}
    store.put_pipeline({**PIPELINE, "sla": sla})
    triggered = running("run-plus")
    assert about_runs(run(after(triggered, 21))) == [("MAX_DURATION_EXCEEDED", DATE)]
    assert "SLA_WARNING" in {a["alertType"] for a in run(at("09:45"))["alerts"]}


def test_a_run_not_yet_triggered_or_without_a_limit_is_not_measured(watched, aws_env):
    store.put_pipeline({**PIPELINE, "sla": {"maxDuration": "20m"}})
    created = store.create_run("run-pending", "pipe-a", schedule_id="daily", date=DATE)["createdAt"]
    assert about_runs(run(after(created, 30))) == []  # PENDING: evaluating, not triggered
    store.put_pipeline(PIPELINE)
    assert about_runs(run(after(running("run-unlimited", "2026-03-04"), 30))) == []


def test_the_completion_step_alerts_a_run_that_ended_past_its_max_duration_once(watched, aws_env):
    from handlers.interlock import pipelines, run_duration

    config = pipelines.parse_pipeline({**PIPELINE, "sla": {"maxDuration": "20m"}})
    triggered = running("run-done")
    finished = store.transition_run("run-done", "COMPLETED")
    assert finished["triggeredAt"] == triggered
    assert run_duration.alert_overrun(config, finished, moment(triggered, 20)) is None
    sent_now = run_duration.alert_overrun(config, finished, moment(triggered, 21))
    assert sent_now is not None and sent_now["status"] == "COMPLETED" and sent_now["published"] is True
    assert run_duration.alert_overrun(config, finished, moment(triggered, 30)) is None  # claimed
    assert [a["runID"] for a in sent(aws_env, "MAX_DURATION_EXCEEDED")] == ["run-done"]


def test_a_run_stuck_past_the_execution_timeout_is_alerted_once_with_its_execution(watched, aws_env):
    now = dt.datetime.now(dt.UTC)
    store.create_run("run-1", "pipe-a", schedule_id="daily", date=DATE)
    store.acquire_lock("pipe-a", "daily", "exec-gone", 7200)
    later = (now + dt.timedelta(minutes=59)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [a for a in run(later)["alerts"] if a["alertType"] == "RUN_STUCK"] == []
    stuck = (now + dt.timedelta(minutes=61)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = run(stuck)
    assert [a["alertType"] for a in report["alerts"] if a["alertType"] == "RUN_STUCK"] == ["RUN_STUCK"]
    run(stuck)
    (alert,) = sent(aws_env, "RUN_STUCK")
    assert alert["details"]["runID"] == "run-1" and alert["details"]["status"] == "PENDING"


def test_a_lock_whose_owner_no_longer_exists_is_released_after_the_grace(watched, aws_env):
    store.acquire_lock("pipe-a", "daily", "exec-gone", 7200)
    now = dt.datetime.now(dt.UTC)
    soon = (now + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run(soon)["locksReleased"] == []
    later = (now + dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = run(later)
    assert report["locksReleased"] == [
        {"pipelineID": "pipe-a", "scheduleID": "daily", "owner": "exec-gone", "executionStatus": "DOES_NOT_EXIST"}
    ]
    assert store.get_lock("pipe-a", "daily") is None
    assert run(later)["locksReleased"] == []


def test_a_lock_of_an_aborted_execution_is_reconciled_and_one_of_a_running_one_kept(watched, aws_env):
    sfn = boto3.client("stepfunctions")
    execution_input = json.dumps({"pipelineID": "pipe-a", "scheduleID": "daily", "date": DATE})
    stopped = sfn.start_execution(stateMachineArn=watched, name="exec-stopped", input=execution_input)
    sfn.stop_execution(executionArn=stopped["executionArn"])
    store.acquire_lock("pipe-a", "daily", "exec-stopped", 7200)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = run(later)
    assert [(r["owner"], r["executionStatus"]) for r in report["locksReleased"]] == [("exec-stopped", "ABORTED")]
    assert store.get_run_log("pipe-a", DATE, "daily")["failureCategory"] == "PERMANENT"
    assert [a["details"]["execution"] for a in sent(aws_env, "EXECUTION_ABORTED")] == ["exec-stopped"]


def test_a_now_that_is_not_a_timestamp_runs_nothing(watched):
    assert "error" in watchdog_handler.handler({"now": "soon"}, None)


@pytest.mark.parametrize("by", ["pipeline", "stack"])
def test_a_pipeline_in_dry_run_gets_no_deadline_alerts_but_its_missed_schedule(watched, aws_env, monkeypatch, by):
    if by == "stack":
        monkeypatch.setenv("INTERLOCK_DRY_RUN", "true")
        settings.reset()
    else:
        store.put_pipeline({**PIPELINE, "dryRun": True})
    assert [a["alertType"] for a in run(at("09:45"))["alerts"]] == ["SCHEDULE_MISSED"]  # no SLA_WARNING
    assert run(at("10:30"))["alerts"] == []  # no COMPLETION_SLA_BREACHED: a dry run never completes a date
    assert sent(aws_env, "SLA_WARNING") == sent(aws_env, "COMPLETION_SLA_BREACHED") == []
