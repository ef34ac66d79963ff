"""Orchestrator Lambda against moto: every action and outcome of DESIGN §6 / §10.0."""

from __future__ import annotations

import datetime as dt
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers import orchestrator
from handlers.interlock import clients, schedule, store
from tests.state_machines import waiting_machine

DATE = "2026-11-27"  # a Friday, one day before "today" in this project's calendar
OWNER = "exec-one"


def pipeline(name: str = "pipe-a", **overrides) -> dict:
    config = {
        "name": name,
        "archetype": "batch-ingestion",
        "traits": {
            "source-freshness": {"evaluator": "freshness", "config": {"maxLagSeconds": 60}},
            "upstream-dependency": {"evaluator": "builtin:upstream-job-log", "ttl": 30},
            "resource-availability": {"evaluator": "capacity"},
            "schema-contract": {"evaluator": "schema"},
        },
        "trigger": {"type": "http", "url": "https://jobs.example.com/run", "body": '{"day": "${date}"}'},
    }
    config.update(overrides)
    config = {k: v for k, v in config.items() if v is not None}
    store.put_pipeline(config)
    return config


def orch(
    action: str,
    payload: dict | None = None,
    *,
    pipeline_id: str = "pipe-a",
    schedule_id: str = "daily",
    date: str = DATE,
) -> dict:
    response = orchestrator.handler(
        {
            "action": action,
            "pipelineID": pipeline_id,
            "scheduleID": schedule_id,
            "date": date,
            "payload": payload or {},
        },
        None,
    )
    assert set(response) == {"action", "result", "payload"} and isinstance(response["payload"], dict)
    assert response["action"] == action
    return response


def new_run(pipeline_id: str = "pipe-a", status: str = "PENDING", date: str = DATE) -> str:
    run_id = str(uuid.uuid4())
    store.create_run(run_id, pipeline_id, schedule_id="daily", date=date)
    path = {
        "PENDING": [],
        "TRIGGERING": ["TRIGGERING"],
        "RUNNING": ["TRIGGERING", "RUNNING"],
        "COMPLETED_MONITORING": ["TRIGGERING", "RUNNING", "COMPLETED_MONITORING"],
        "COMPLETED": ["TRIGGERING", "COMPLETED"],
    }[status]
    for step in path:
        store.transition_run(run_id, step)
    return run_id


def results(**statuses: str) -> list[dict]:
    required = {"source-freshness", "upstream-dependency", "resource-availability"}
    return [
        {
            "traitType": t.replace("_", "-"),
            "status": s,
            "value": None,
            "reason": None,
            "failureCategory": None,
            "required": t.replace("_", "-") in required,
        }
        for t, s in statuses.items()
    ]


ALL_PASS = dict(source_freshness="PASS", upstream_dependency="PASS", resource_availability="PASS")


def iso(moment: dt.datetime) -> str:
    return schedule.rfc3339(moment)


NOW = schedule.now_utc


# --- request validation ----------------------------------------------------------------------------------------


def test_unknown_action_is_an_alerted_error_without_run_log(aws_env):
    out = orch("nonexistent")
    assert out["result"] == "error" and "unknown action" in out["payload"]["error"]
    alerts = aws_env.alerts()
    assert [(a["level"], a["alertType"]) for a in alerts] == [("error", "PIPELINE_ERROR")]
    assert store.get_run_log("pipe-a", DATE) is None


INVALID_IDENTIFIER = {
    "pipelineID": "not a valid pipeline name",
    "scheduleID": "not a valid schedule name",
    "date": "date",
}


@pytest.mark.parametrize(
    "field, value",
    [("pipelineID", "Bad#Name"), ("scheduleID", "daily#x"), ("date", "27-11-2026"), ("date", "2026-02-30")],
)
def test_invalid_identifiers_are_errors(aws_env, field, value):
    event = {
        "action": "checkExclusion",
        "pipelineID": "pipe-a",
        "scheduleID": "daily",
        "date": DATE,
        "payload": {},
        field: value,
    }
    out = orchestrator.handler(event, None)
    assert out["result"] == "error" and INVALID_IDENTIFIER[field] in out["payload"]["error"]


def test_missing_fields_take_defaults(aws_env):
    pipeline()
    out = orchestrator.handler({"action": "checkRunLog", "pipelineID": "pipe-a"}, None)
    assert out == {"action": "checkRunLog", "result": "proceed", "payload": {"attemptNumber": 1}}


# --- checkExclusion --------------------------------------------------------------------------------------------


def test_check_exclusion_proceeds_without_exclusions(aws_env):
    pipeline()
    assert orch("checkExclusion")["result"] == "proceed"


def test_check_exclusion_uses_the_run_date_weekday(aws_env):
    pipeline(exclusions={"days": ["Friday"]})
    out = orch("checkExclusion")
    assert out["result"] == "skip" and "friday" in out["payload"]["reason"]
    assert orch("checkExclusion", date="2026-11-30")["result"] == "proceed"  # a Monday


def test_check_exclusion_reads_named_calendars(aws_env):
    pipeline(exclusions={"calendar": "us-holidays-2026"})
    assert orch("checkExclusion", date="2026-11-26")["result"] == "skip"  # Thanksgiving
    assert orch("checkExclusion", date="2026-11-27")["result"] == "proceed"


def test_check_exclusion_unknown_calendar_is_an_error(aws_env):
    pipeline(exclusions={"calendar": "no-such-calendar"})
    out = orch("checkExclusion")
    assert out["result"] == "error" and "no-such-calendar" in out["payload"]["error"]


def test_check_exclusion_unknown_pipeline_errors_and_alerts_but_writes_no_run_log(aws_env):
    out = orch("checkExclusion", pipeline_id="ghost")
    assert out["result"] == "error" and out["payload"]["error"] == 'pipeline "ghost" not found'
    assert [a["pipelineID"] for a in aws_env.alerts()] == ["ghost"]
    assert store.get_run_log("ghost", DATE) is None


# --- locks -----------------------------------------------------------------------------------------------------


def test_lock_contention_between_two_owners(aws_env):
    first = orch("acquireLock", {"owner": "exec-one", "leaseSeconds": 600})
    second = orch("acquireLock", {"owner": "exec-two", "leaseSeconds": 600})
    assert first["result"] == "proceed"
    assert second["result"] == "skip" and second["payload"]["heldBy"] == "exec-one"
    assert orch("acquireLock", {"owner": "exec-one", "leaseSeconds": 600})["result"] == "proceed"  # re-entrant


def test_lock_is_per_schedule(aws_env):
    assert orch("acquireLock", {"owner": "a", "leaseSeconds": 60})["result"] == "proceed"
    assert orch("acquireLock", {"owner": "b", "leaseSeconds": 60}, schedule_id="h14")["result"] == "proceed"


def test_expired_lease_is_taken_over(aws_env, monkeypatch):
    assert orch("acquireLock", {"owner": "exec-one", "leaseSeconds": 60})["result"] == "proceed"
    start = store.clock()
    monkeypatch.setattr(store, "clock", lambda: start + 61)  # DynamoDB may not have deleted it yet
    out = orch("acquireLock", {"owner": "exec-two", "leaseSeconds": 60})
    assert out["result"] == "proceed"
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-two"


def test_release_by_a_non_owner_keeps_the_lock(aws_env):
    orch("acquireLock", {"owner": "exec-one", "leaseSeconds": 600})
    out = orch("releaseLock", {"owner": "exec-two"})
    assert out["result"] == "proceed" and out["payload"]["released"] is False
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-one"
    assert orch("releaseLock", {"owner": "exec-one"})["payload"] == {"released": True}
    assert store.get_lock("pipe-a", "daily") is None
    assert orch("acquireLock", {"owner": "exec-two", "leaseSeconds": 600})["result"] == "proceed"


def test_release_without_owner_never_errors(aws_env):
    out = orch("releaseLock", {})
    assert out["result"] == "proceed" and out["payload"]["released"] is False


def test_acquire_without_owner_is_an_error(aws_env):
    out = orch("acquireLock", {"leaseSeconds": 60})
    assert out["result"] == "error" and "owner" in out["payload"]["error"]
    assert store.get_lock("pipe-a", "daily") is None


@pytest.mark.parametrize("lease", [None, 0, -5, "600", True])
def test_a_missing_or_invalid_lease_is_a_request_error(aws_env, lease):
    out = orch("acquireLock", {"owner": OWNER} if lease is None else {"owner": OWNER, "leaseSeconds": lease})
    assert out["result"] == "error" and "leaseSeconds" in out["payload"]["error"]
    assert store.get_lock("pipe-a", "daily") is None and store.get_run_log("pipe-a", DATE) is None


def machine_with_execution(name: str = "exec-one") -> tuple[str, str]:
    """A state machine of this stack (moto) with one RUNNING execution; returns (machine ARN, execution ARN)."""
    sfn = boto3.client("stepfunctions")
    machine = waiting_machine(sfn, "team-a-pipeline", seconds=600, role="team-a-states")
    return machine, sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]


def wait_payload(owner: str, machine: str, waits: int = 0) -> dict:
    return {
        "owner": owner,
        "leaseSeconds": 600,
        "stateMachine": machine,
        "waits": waits,
        "waitSeconds": 5,
        "waitWindowSeconds": 12,
    }


def test_a_lock_held_by_a_running_execution_is_waited_for_twice_then_refused_with_an_alert(aws_env):
    machine, _ = machine_with_execution("exec-one")
    assert orch("acquireLock", wait_payload("exec-one", machine))["result"] == "proceed"
    first = orch("acquireLock", wait_payload("exec-two", machine))
    assert first["result"] == "skip" and first["payload"]["deferred"] is True and first["payload"]["waits"] == 1
    assert first["payload"]["heldBy"] == "exec-one" and aws_env.alerts() == []
    second = orch("acquireLock", wait_payload("exec-two", machine, waits=1))
    assert second["payload"]["deferred"] is True and second["payload"]["waits"] == 2
    refused = orch("acquireLock", wait_payload("exec-two", machine, waits=2))  # 12 s window / 5 s = 2 waits
    assert (
        refused["result"] == "skip" and refused["payload"]["refused"] is True and "deferred" not in refused["payload"]
    )
    (alert,) = aws_env.alerts()
    assert alert["alertType"] == "REQUEST_REFUSED" and "exec-one" in alert["message"]
    assert alert["details"]["execution"] == "exec-two"
    (busy,) = [e for e in store.list_events("pipe-a") if e["kind"] == "LOCK_BUSY"]
    assert busy["details"]["heldBy"] == "exec-one" and busy["details"]["waits"] == 2
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-one"


@pytest.mark.parametrize("ended", ["stopped", "never ran"])
def test_a_lock_whose_owner_no_longer_runs_is_taken_over_with_an_event(aws_env, ended):
    machine, execution = machine_with_execution("exec-one")
    assert orch("acquireLock", wait_payload("exec-one", machine))["result"] == "proceed"
    if ended == "stopped":
        boto3.client("stepfunctions").stop_execution(executionArn=execution)
    else:
        store.release_lock("pipe-a", "daily", "exec-one")
        store.acquire_lock("pipe-a", "daily", "exec-gone", 600)
    previous = store.get_lock("pipe-a", "daily")["owner"]
    out = orch("acquireLock", wait_payload("exec-two", machine))
    assert out["result"] == "proceed" and out["payload"]["takenOverFrom"] == previous
    schedule.parse_timestamp(out["payload"]["acquiredAt"])  # the taken-over run's evaluation window starts here
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-two"
    (event,) = [e for e in store.list_events("pipe-a") if e["kind"] == "LOCK_TAKEN_OVER"]
    assert event["details"]["previousOwner"] == previous and event["details"]["owner"] == "exec-two"


def test_an_owner_that_cannot_be_looked_up_counts_as_running(aws_env, monkeypatch):
    machine, execution = machine_with_execution("exec-one")
    assert orch("acquireLock", wait_payload("exec-one", machine))["result"] == "proceed"
    boto3.client("stepfunctions").stop_execution(executionArn=execution)
    sfn = clients.client("stepfunctions")

    def throttled(**_kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DescribeExecution")

    monkeypatch.setattr(sfn, "describe_execution", throttled)
    out = orch("acquireLock", wait_payload("exec-two", machine))
    assert out["result"] == "skip" and out["payload"]["deferred"] is True
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-one"


# --- checkRunLog -----------------------------------------------------------------------------------------------


def run_log(
    status: str, attempt: int, category: str | None = None, updated: dt.datetime | None = None, date: str = DATE
) -> None:
    entry = {
        "pipelineID": "pipe-a",
        "date": date,
        "scheduleID": "daily",
        "status": status,
        "attemptNumber": attempt,
        "runID": "r",
        "updatedAt": iso(updated or NOW() - dt.timedelta(hours=2)),
    }
    if category:
        entry["failureCategory"] = category
    store.put_run_log(entry)


def test_check_run_log_without_entry_proceeds(aws_env):
    pipeline()
    assert orch("checkRunLog", {"replay": False})["payload"] == {"attemptNumber": 1}


def test_check_run_log_skips_a_completed_date(aws_env):
    pipeline()
    run_log("COMPLETED", 1)
    out = orch("checkRunLog", {"replay": False})
    assert out["result"] == "skip" and out["payload"]["reason"] == "already completed"


def test_replay_of_a_past_date_reads_and_writes_that_date(aws_env):
    pipeline()
    past = "2026-11-20"
    run_log("COMPLETED", 1, date=past)
    assert orch("checkRunLog", {"replay": False}, date=past)["result"] == "skip"
    out = orch("checkRunLog", {"replay": True}, date=past)
    assert out["result"] == "proceed" and out["payload"] == {"attemptNumber": 2, "replay": True}
    run_id = new_run(status="RUNNING", date=past)
    logged = orch("logResult", {"status": "COMPLETED", "runID": run_id}, date=past)
    assert logged["payload"]["attemptNumber"] == 2
    assert store.get_run_log("pipe-a", past)["runID"] == run_id
    assert store.get_run_log("pipe-a", schedule.today_utc()) is None  # today untouched


def test_check_run_log_non_retryable_failure_skips(aws_env):
    pipeline()
    run_log("FAILED", 1, "PERMANENT")
    out = orch("checkRunLog", {"replay": False})
    assert out["result"] == "skip" and out["payload"]["reason"] == "non-retryable failure"


def test_check_run_log_max_attempts(aws_env):
    pipeline(retry={"maxAttempts": 2})
    run_log("FAILED", 2, "TRANSIENT")
    out = orch("checkRunLog", {"replay": False})
    assert out["payload"]["reason"] == "max attempts exceeded"


def test_check_run_log_backoff_window(aws_env):
    pipeline(retry={"maxAttempts": 3, "backoffSeconds": 600})
    run_log("FAILED", 1, "TRANSIENT", updated=NOW() - dt.timedelta(seconds=100))
    out = orch("checkRunLog", {"replay": False})
    assert out["result"] == "skip" and out["payload"]["reason"] == "backoff period"
    assert 490 <= out["payload"]["retryAfterSeconds"] <= 500
    run_log("FAILED", 1, "TRANSIENT", updated=NOW() - dt.timedelta(seconds=601))
    assert orch("checkRunLog", {"replay": False})["payload"] == {"attemptNumber": 2}


# --- resolvePipeline -------------------------------------------------------------------------------------------


def test_resolve_pipeline_payload_and_pending_run(aws_env):
    pipeline(watch={"monitoring": {"enabled": True, "duration": "1h"}})
    out = orch("resolvePipeline", schedule_id="h14")
    assert out["result"] == "proceed"
    payload = out["payload"]
    assert [t["traitType"] for t in payload["traits"]] == [
        "source-freshness",
        "upstream-dependency",
        "resource-availability",
        "schema-contract",
    ]
    fresh = payload["traits"][0]
    assert fresh == {
        "pipelineID": "pipe-a",
        "traitType": "source-freshness",
        "evaluator": "freshness",
        "config": {"maxLagSeconds": 60, "scheduleID": "h14", "date": DATE},
        "timeout": 30,
        "ttl": 300,
        "required": True,
    }
    assert payload["traits"][1]["ttl"] == 30 and payload["traits"][3]["required"] is False
    assert uuid.UUID(payload["runID"]).version == 4
    assert payload["trigger"] == {
        "type": "http",
        "url": "https://jobs.example.com/run",
        "body": '{"day": "${date}"}',
    }  # templated later, by the trigger
    assert payload["monitoring"] is True
    run = store.get_run(payload["runID"])
    assert (run["status"], run["version"], run["pipelineID"], run["date"]) == ("PENDING", 1, "pipe-a", DATE)
    assert orch("resolvePipeline")["payload"]["runID"] != payload["runID"]


def test_resolve_without_trigger_is_an_error_with_failed_run_log(aws_env):
    pipeline(trigger=None)
    out = orch("resolvePipeline")
    assert out["result"] == "error" and "no trigger" in out["payload"]["error"]
    log = store.get_run_log("pipe-a", DATE)
    assert (log["status"], log["failureCategory"], log["attemptNumber"]) == ("FAILED", "PERMANENT", 1)
    assert [a["alertType"] for a in aws_env.alerts()] == ["PIPELINE_ERROR"]
    assert orch("checkRunLog", {"replay": False})["payload"]["reason"] == "non-retryable failure"


def test_resolve_unknown_archetype_is_an_error(aws_env):
    pipeline(archetype="no-such-archetype")
    out = orch("resolvePipeline")
    assert out["result"] == "error" and "no-such-archetype" in out["payload"]["error"]


def test_invalid_stored_config_is_an_error_naming_the_field(aws_env):
    store.put_pipeline({"name": "pipe-a", "archetype": "batch-ingestion", "trigger": {"type": "glue"}})
    out = orch("resolvePipeline")
    assert out["result"] == "error" and "trigger.jobName: required for type glue" in out["payload"]["error"]


# --- evaluation SLA, readiness, validation timeout -------------------------------------------------------------


def test_evaluation_sla_not_configured(aws_env):
    pipeline()
    assert orch("checkEvaluationSLA", {"runID": "r1"})["payload"] == {"breached": False}


def test_evaluation_sla_breach_alerts_once_per_run(aws_env):
    pipeline(sla={"evaluationDeadline": "06:00", "completionDeadline": "", "timezone": "America/New_York"})
    first = orch("checkEvaluationSLA", {"runID": "r1"})
    again = orch("checkEvaluationSLA", {"runID": "r1"})
    other_run = orch("checkEvaluationSLA", {"runID": "r2"})
    assert first["payload"]["breached"] and first["payload"]["alerted"] is True
    assert first["payload"]["deadline"] == "2026-11-27T11:00:00.000Z"  # 06:00 EST on the run date
    assert again["payload"]["breached"] and again["payload"]["alerted"] is False
    assert other_run["payload"]["alerted"] is True
    alerts = aws_env.alerts()
    assert [(a["alertType"], a["runID"]) for a in alerts] == [
        ("EVALUATION_SLA_BREACHED", "r1"),
        ("EVALUATION_SLA_BREACHED", "r2"),
    ]


def test_evaluation_sla_not_breached_for_a_future_date(aws_env):
    pipeline(sla={"evaluationDeadline": "06:00", "completionDeadline": ""})
    tomorrow = (NOW() + dt.timedelta(days=2)).date().isoformat()
    assert orch("checkEvaluationSLA", {"runID": "r1"}, date=tomorrow)["payload"]["breached"] is False
    assert aws_env.alerts() == []


def test_readiness_all_required_pass(aws_env):
    pipeline()
    out = orch("checkReadiness", {"runID": "r1", "traitResults": results(**ALL_PASS, schema_contract="FAIL")})
    assert out["result"] == "proceed" and out["payload"]["ready"] is True


def test_readiness_blocks_on_required_failure_or_missing_result(aws_env):
    pipeline()
    out = orch(
        "checkReadiness", {"runID": "r1", "traitResults": results(source_freshness="PASS", upstream_dependency="FAIL")}
    )
    assert out["result"] == "skip" and out["payload"]["reason"] == "not ready"
    assert out["payload"]["blocking"] == ["upstream-dependency", "resource-availability"]


def test_readiness_is_case_exact(aws_env):
    pipeline()
    out = orch(
        "checkReadiness",
        {"traitResults": results(source_freshness="pass", upstream_dependency="PASS", resource_availability="PASS")},
    )
    assert out["payload"]["blocking"] == ["source-freshness"]


def test_readiness_without_results_is_an_error_not_vacuous_success(aws_env):
    pipeline()
    out = orch("checkReadiness", {"runID": "r1"})
    assert out["result"] == "error"
    assert store.get_run_log("pipe-a", DATE)["status"] == "FAILED"


def test_validation_timeout_not_reached(aws_env):
    pipeline()
    out = orch(
        "checkValidationTimeout",
        {
            "runID": "r1",
            "executionStartedAt": iso(NOW()),
            "evaluationWindowSeconds": 3600,
            "blocking": ["source-freshness"],
        },
    )
    assert out["result"] == "proceed" and out["payload"]["validationTimedOut"] is False


def test_validation_times_out_when_the_window_is_exhausted_without_sla(aws_env):
    pipeline()
    started = NOW() - dt.timedelta(seconds=120)
    payload = {
        "runID": "r1",
        "executionStartedAt": started.isoformat(),  # moto style: micros and +00:00
        "evaluationWindowSeconds": 60,
        "blocking": ["source-freshness"],
    }
    out = orch("checkValidationTimeout", payload)
    assert out["payload"]["validationTimedOut"] is True
    assert out["payload"]["reason"] == "evaluation window exhausted"
    assert out["payload"]["blocking"] == ["source-freshness"]
    orch("checkValidationTimeout", payload)
    alerts = aws_env.alerts()
    assert [(a["level"], a["alertType"]) for a in alerts] == [("error", "VALIDATION_TIMEOUT")]
    assert "source-freshness" in alerts[0]["message"]


def test_relative_validation_timeout_counts_from_execution_start(aws_env):
    pipeline(sla={"evaluationDeadline": "", "completionDeadline": "", "validationTimeout": "+30m"})
    started = NOW() - dt.timedelta(minutes=31)
    out = orch(
        "checkValidationTimeout",
        {"runID": "r1", "executionStartedAt": iso(started), "evaluationWindowSeconds": 7200, "blocking": []},
    )
    assert out["payload"]["validationTimedOut"] is True and out["payload"]["reason"] == "validation timeout"
    fresh = orch(
        "checkValidationTimeout",
        {"runID": "r2", "executionStartedAt": iso(NOW()), "evaluationWindowSeconds": 7200, "blocking": []},
    )
    assert fresh["payload"]["validationTimedOut"] is False


def test_the_evaluation_window_counts_from_when_the_lock_was_taken_not_from_the_execution_start(aws_env):
    pipeline(sla={"evaluationDeadline": "", "completionDeadline": "", "validationTimeout": "+5m"})
    out = orch("acquireLock", {"owner": OWNER, "leaseSeconds": 600})
    acquired = schedule.parse_timestamp(out["payload"]["acquiredAt"])
    assert abs((acquired - NOW()).total_seconds()) < 5
    started = acquired - dt.timedelta(minutes=4)  # the execution waited four minutes for the lock
    payload = {
        "runID": "r1",
        "lock": out["payload"],
        "executionStartedAt": iso(started),
        "evaluationWindowSeconds": 180,
        "blocking": ["source-freshness"],
    }
    waited = orch("checkValidationTimeout", payload)
    assert waited["payload"]["validationTimedOut"] is False
    assert schedule.parse_timestamp(waited["payload"]["deadline"]) == acquired + dt.timedelta(seconds=180)
    payload["evaluationWindowSeconds"] = 7200  # "+5m" counts from the lock as well
    assert orch("checkValidationTimeout", payload)["payload"]["deadline"] == iso(acquired + dt.timedelta(minutes=5))
    without_lock = orch("checkValidationTimeout", dict(payload, lock={}, evaluationWindowSeconds=180))
    assert without_lock["payload"]["validationTimedOut"] is True  # falls back to the execution start
    assert without_lock["payload"]["reason"] == "evaluation window exhausted" and aws_env.alerts()[0]["alertType"] == (
        "VALIDATION_TIMEOUT"
    )


# --- logResult -------------------------------------------------------------------------------------------------

LOG_KEYS = {"attemptNumber", "retryable", "retryBackoffSeconds", "loggedAt"}


def test_log_completed_finalizes_run_and_run_log(aws_env):
    pipeline()
    run_id = new_run(status="RUNNING")
    out = orch("logResult", {"status": "COMPLETED", "runID": run_id})
    assert out["result"] == "proceed" and set(out["payload"]) >= LOG_KEYS
    assert (out["payload"]["attemptNumber"], out["payload"]["retryable"], out["payload"]["retryBackoffSeconds"]) == (
        1,
        False,
        0,
    )
    schedule.parse_timestamp(out["payload"]["loggedAt"])
    assert store.get_run(run_id)["status"] == "COMPLETED"
    log = store.get_run_log("pipe-a", DATE)
    assert (log["status"], log["runID"], log["attemptNumber"]) == ("COMPLETED", run_id, 1)
    assert "completedAt" in log
    kinds = [e["kind"] for e in store.list_events("pipe-a")]
    assert "RUN_STATE_CHANGED" in kinds


def test_log_completed_with_monitoring_keeps_watching(aws_env):
    pipeline(watch={"monitoring": {"enabled": True, "duration": "1h"}})
    run_id = new_run(status="RUNNING")
    orch("logResult", {"status": "COMPLETED", "runID": run_id})
    assert store.get_run(run_id)["status"] == "COMPLETED_MONITORING"


def test_log_completed_tolerates_an_already_final_run(aws_env):
    pipeline()
    run_id = new_run(status="COMPLETED")  # a synchronous trigger completed it itself
    out = orch("logResult", {"status": "COMPLETED", "runID": run_id})
    assert out["result"] == "proceed" and store.get_run(run_id)["status"] == "COMPLETED"


def test_log_transient_failure_is_retryable_with_backoff(aws_env):
    pipeline(retry={"maxAttempts": 3, "backoffSeconds": 30, "backoffMultiplier": 2})
    run_id = new_run(status="RUNNING")
    out = orch(
        "logResult", {"status": "FAILED", "runID": run_id, "message": "HTTP 503", "failureCategory": "TRANSIENT"}
    )
    assert (out["payload"]["attemptNumber"], out["payload"]["retryable"], out["payload"]["retryBackoffSeconds"]) == (
        1,
        True,
        30,
    )
    assert store.get_run(run_id)["status"] == "FAILED"
    assert aws_env.alerts() == []
    second = orch(
        "logResult",
        {"status": "FAILED", "runID": new_run(status="RUNNING"), "message": "again", "failureCategory": "TIMEOUT"},
    )
    assert (second["payload"]["attemptNumber"], second["payload"]["retryBackoffSeconds"]) == (2, 60)
    third = orch(
        "logResult",
        {"status": "FAILED", "runID": new_run(status="RUNNING"), "message": "last", "failureCategory": "TRANSIENT"},
    )
    assert (third["payload"]["attemptNumber"], third["payload"]["retryable"]) == (3, False)
    log = store.get_run_log("pipe-a", DATE)
    assert [h["attempt"] for h in log["retryHistory"]] == [1, 2, 3]
    assert [h["failureCategory"] for h in log["retryHistory"]] == ["TRANSIENT", "TIMEOUT", "TRANSIENT"]
    assert [a["alertType"] for a in aws_env.alerts()] == ["RUN_FAILED"]
    kinds = [e["kind"] for e in store.list_events("pipe-a")]
    assert kinds.count("RETRY_SCHEDULED") == 2 and kinds.count("RETRY_EXHAUSTED") == 1


def test_log_permanent_failure_is_not_retried_and_alerts(aws_env):
    pipeline()
    run_id = new_run(status="TRIGGERING")
    out = orch(
        "logResult", {"status": "FAILED", "runID": run_id, "message": "HTTP 400", "failureCategory": "PERMANENT"}
    )
    assert out["payload"]["retryable"] is False and out["payload"]["retryBackoffSeconds"] == 0
    alert = aws_env.alerts()[0]
    assert (alert["alertType"], alert["runID"], alert["details"]["failureCategory"]) == (
        "RUN_FAILED",
        run_id,
        "PERMANENT",
    )
    assert store.get_run_log("pipe-a", DATE)["alertSent"] is True


def test_log_validation_timeout_cancels_the_pending_run(aws_env):
    pipeline()
    run_id = new_run(status="PENDING")
    out = orch(
        "logResult",
        {
            "status": "FAILED",
            "runID": run_id,
            "message": "validation timed out",
            "failureCategory": "VALIDATION_TIMEOUT",
        },
    )
    assert out["payload"]["retryable"] is False
    assert store.get_run(run_id)["status"] == "CANCELLED"  # PENDING -> FAILED is not a transition
    assert aws_env.alerts() == []  # checkValidationTimeout already alerted
    assert store.get_run_log("pipe-a", DATE)["alertSent"] is False  # and here it had not


def test_log_validation_timeout_reports_the_alert_check_validation_timeout_sent(aws_env):
    pipeline()
    run_id = new_run(status="PENDING")
    orch(
        "checkValidationTimeout",
        {
            "runID": run_id,
            "evaluationWindowSeconds": 1,
            "executionStartedAt": "2020-01-01T00:00:00Z",
            "blocking": ["freshness"],
        },
    )
    orch(
        "logResult",
        {
            "status": "FAILED",
            "runID": run_id,
            "message": "validation timed out",
            "failureCategory": "VALIDATION_TIMEOUT",
        },
    )
    assert [a["alertType"] for a in aws_env.alerts()] == ["VALIDATION_TIMEOUT"]
    assert store.get_run_log("pipe-a", DATE)["alertSent"] is True


def test_retryable_failures_are_configurable(aws_env):
    pipeline(retry={"retryableFailures": ["VALIDATION_TIMEOUT"]})
    out = orch("logResult", {"status": "FAILED", "message": "x", "failureCategory": "VALIDATION_TIMEOUT"})
    assert out["payload"]["retryable"] is True
    assert orch("logResult", {"status": "FAILED", "failureCategory": "TRANSIENT"})["payload"]["retryable"] is False


def test_log_result_invalid_status_still_answers_the_contract_keys(aws_env):
    pipeline()
    out = orch("logResult", {"status": "WHATEVER", "runID": "r1"})
    assert out["result"] == "error" and set(out["payload"]) >= LOG_KEYS
    assert out["payload"]["retryable"] is False


def test_log_result_without_pipeline_uses_default_policy(aws_env):
    out = orch("logResult", {"status": "FAILED", "failureCategory": "TRANSIENT"}, pipeline_id="gone")
    assert out["result"] == "proceed" and out["payload"]["retryable"] is True
    assert out["payload"]["retryBackoffSeconds"] == 30


# --- completion SLA, cascade -----------------------------------------------------------------------------------


def test_completion_sla_from_schedule_deadline(aws_env):
    pipeline(schedules=[{"name": "daily", "deadline": "08:00", "timezone": "Europe/Berlin"}])
    out = orch("checkCompletionSLA", {"runID": "r1"})
    assert out["payload"]["breached"] is True and out["payload"]["deadline"] == "2026-11-27T07:00:00.000Z"
    orch("checkCompletionSLA", {"runID": "r1"})
    assert [a["alertType"] for a in aws_env.alerts()] == ["COMPLETION_SLA_BREACHED"]


def test_completion_sla_without_deadline(aws_env):
    pipeline()
    assert orch("checkCompletionSLA", {"runID": "r1"})["payload"] == {"breached": False}


def downstream(name: str, upstream: str = "pipe-a", **trait_config) -> None:
    pipeline(
        name,
        traits={
            "upstream-dependency": {
                "evaluator": "builtin:upstream-job-log",
                "config": {"upstreamPipeline": upstream, **trait_config},
            }
        },
    )


def test_cascade_to_two_downstream_pipelines(aws_env):
    pipeline()
    downstream("pipe-b")
    downstream("pipe-c")
    downstream("pipe-d", upstream="other")
    downstream("pipe-e", upstreamSchedule="h14")
    out = orch("notifyDownstream", {"runID": "run-1"})
    assert out["payload"] == {"notified": ["pipe-b/daily", "pipe-c/daily"]}
    for name in ("pipe-b", "pipe-c"):
        markers = store.list_markers(name)
        assert len(markers) == 1
        marker = markers[0]
        assert marker["SK"].startswith("MARKER#cascade#")
        assert (
            marker["scheduleID"],
            marker["date"],
            marker["source"],
            marker["upstreamPipeline"],
            marker["replay"],
        ) == ("daily", DATE, "cascade", "pipe-a", False)
    assert store.list_markers("pipe-d") == [] and store.list_markers("pipe-e") == []
    assert store.list_markers("pipe-a") == []


def test_cascade_follows_every_page_of_pipelines(aws_env, monkeypatch):
    monkeypatch.setattr(store, "PAGE_SIZE", 2)
    pipeline()
    for i in range(5):
        pipeline(f"filler-{i}")
    downstream("zz-last")  # sorts after every filler: only reachable past the first pages
    assert orch("notifyDownstream", {})["payload"]["notified"] == ["zz-last/daily"]


def test_no_downstream_is_an_empty_list(aws_env):
    pipeline()
    assert orch("notifyDownstream", {"runID": "r"})["payload"] == {"notified": []}


# --- monitoring ------------------------------------------------------------------------------------------------


def test_no_drift(aws_env):
    out = orch("checkDrift", {"runID": "r1", "baseline": results(**ALL_PASS), "traitResults": results(**ALL_PASS)})
    assert out["payload"] == {"driftDetected": False, "drifted": []}
    assert aws_env.alerts() == []


def test_drift_when_a_trait_status_changed(aws_env):
    now = dict(ALL_PASS, upstream_dependency="FAIL")
    out = orch("checkDrift", {"runID": "r1", "baseline": results(**ALL_PASS), "traitResults": results(**now)})
    assert out["payload"]["driftDetected"] is True and out["payload"]["drifted"] == ["upstream-dependency"]
    assert out["payload"]["changes"] == [{"traitType": "upstream-dependency", "from": "PASS", "to": "FAIL"}]
    alert = aws_env.alerts()[0]
    assert (alert["alertType"], alert["level"], alert["details"]["drifted"]) == (
        "TRAIT_DRIFT",
        "warning",
        ["upstream-dependency"],
    )
    assert any(e["kind"] == "MONITORING_DRIFT_DETECTED" for e in store.list_events("pipe-a"))


def test_handle_late_arrival_requests_a_rerun_and_frees_the_lock(aws_env):
    pipeline(watch={"monitoring": {"enabled": True, "duration": "1h"}})
    run_id = new_run(status="COMPLETED_MONITORING")
    orch("acquireLock", {"owner": OWNER, "leaseSeconds": 600})
    out = orch(
        "handleLateArrival", {"runID": run_id, "drifted": ["source-freshness", "schema-contract", 7], "owner": OWNER}
    )
    assert out["result"] == "proceed"
    assert out["payload"]["lateArrivalHandled"] is True and out["payload"]["lockReleased"] is True
    late = store.list_late_arrivals("pipe-a", DATE)
    assert sorted(a["traitType"] for a in late) == ["schema-contract", "source-freshness"]
    reruns = store.list_reruns("pipe-a")
    assert [(r["rerunID"], r["originalRunID"], r["originalDate"], r["status"]) for r in reruns] == [
        (f"rerun-{run_id}", run_id, DATE, "PENDING")
    ]
    assert store.get_run(run_id)["status"] == "COMPLETED"
    markers = store.list_markers("pipe-a")
    assert len(markers) == 1 and markers[0]["replay"] is True and markers[0]["source"] == "late-arrival"
    assert markers[0]["SK"] == out["payload"]["markerKey"]
    assert store.get_lock("pipe-a", "daily") is None
    assert orch("releaseLock", {"owner": OWNER})["payload"]["released"] is False


def test_monitoring_not_configured_is_expired(aws_env):
    pipeline()
    assert orch("checkMonitoringExpired", {"runID": "r", "monitoringStartedAt": iso(NOW())})["payload"] == {
        "expired": True
    }


def test_monitoring_window(aws_env):
    pipeline(watch={"monitoring": {"enabled": True, "duration": "2h"}})
    run_id = new_run(status="COMPLETED_MONITORING")
    recent = orch("checkMonitoringExpired", {"runID": run_id, "monitoringStartedAt": iso(NOW())})
    assert recent["payload"]["expired"] is False
    assert store.get_run(run_id)["status"] == "COMPLETED_MONITORING"
    old = orch("checkMonitoringExpired", {"runID": run_id, "monitoringStartedAt": iso(NOW() - dt.timedelta(hours=3))})
    assert old["payload"]["expired"] is True
    assert store.get_run(run_id)["status"] == "COMPLETED"


def test_monitoring_start_falls_back_to_the_run_log(aws_env):
    pipeline(watch={"monitoring": {"enabled": True, "duration": "2h"}})
    assert orch("checkMonitoringExpired", {"runID": "r", "monitoringStartedAt": None})["result"] == "error"
    store.put_run_log(
        {
            "pipelineID": "pipe-a",
            "date": DATE,
            "scheduleID": "daily",
            "status": "COMPLETED",
            "attemptNumber": 1,
            "completedAt": iso(NOW() - dt.timedelta(hours=3)),
        }
    )
    assert orch("checkMonitoringExpired", {"runID": "r"})["payload"]["expired"] is True


def test_error_after_completion_does_not_overwrite_the_completed_run_log(aws_env):
    pipeline(watch={"monitoring": {"enabled": True, "duration": "2h"}})
    store.put_run_log(
        {"pipelineID": "pipe-a", "date": DATE, "scheduleID": "daily", "status": "COMPLETED", "attemptNumber": 1}
    )
    store.put_pipeline(
        {
            "name": "pipe-a",
            "archetype": "batch-ingestion",
            "trigger": {"type": "http", "url": "https://x.example.com"},
            "watch": {"monitoring": {"enabled": True, "duration": "soon"}},
        }
    )
    out = orch("checkMonitoringExpired", {"runID": "r", "monitoringStartedAt": iso(NOW())})
    assert out["result"] == "error"
    assert store.get_run_log("pipe-a", DATE)["status"] == "COMPLETED"
    assert any(e["kind"] == "ACTION_ERROR" for e in store.list_events("pipe-a"))


# --- environment failures ----------------------------------------------------------------------------------------


def test_a_broken_environment_raises(aws_env):
    pipeline()
    boto3.client("dynamodb").delete_table(TableName=aws_env.table_name)
    with pytest.raises(ClientError) as raised:
        orch("checkRunLog", {"replay": False})
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


# --- structured logs -------------------------------------------------------------------------------------------


def test_logs_are_json_with_identifiers_and_no_payloads(aws_env, captured_logs):
    import json

    pipeline(
        trigger={
            "type": "http",
            "url": "https://jobs.example.com/run",
            "headers": {"Authorization": "Bearer SECRET-TOKEN-123"},
        }
    )
    orch("resolvePipeline")
    orch("checkReadiness", {"runID": "run-9", "traitResults": "not a list"}, schedule_id="h14")
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines() if line.startswith("{")]
    failure = next(line for line in lines if line["message"] == "orchestrator action failed")
    assert (failure["pipelineID"], failure["scheduleID"], failure["runID"], failure["action"], failure["level"]) == (
        "pipe-a",
        "h14",
        "run-9",
        "checkReadiness",
        "ERROR",
    )
    assert "SECRET-TOKEN-123" not in captured_logs.getvalue()
    assert "payload" not in failure and "not a list" not in captured_logs.getvalue()


def test_logs_carry_the_execution_name_the_state_machine_sends(aws_env, captured_logs):
    import json

    execution = "pipe-a_daily_2026-11-27_feedc0de"
    orchestrator.handler(
        {
            "action": "checkExclusion",
            "pipelineID": "pipe-unknown",
            "scheduleID": "daily",
            "date": DATE,
            "execution": execution,
            "payload": {},
        },
        None,
    )
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines() if line.startswith("{")]
    assert lines and all(line.get("execution") == execution for line in lines)


# --- a lifecycle walked the way the state machine calls the actions --------------------------------------------


def test_retry_loop_then_completion_and_cascade(aws_env):
    pipeline(retry={"maxAttempts": 3, "backoffSeconds": 0})
    downstream("pipe-b")
    owner = "pipe-a_daily_2026-11-27_0123456789abcdef"
    assert orch("checkExclusion")["result"] == "proceed"
    assert orch("acquireLock", {"owner": owner, "leaseSeconds": 3600})["result"] == "proceed"
    run_ids = []
    for attempt, outcome in ((1, "FAILED"), (2, "COMPLETED")):
        gate = orch("checkRunLog", {"replay": False})
        assert gate["result"] == "proceed" and gate["payload"]["attemptNumber"] == attempt
        resolved = orch("resolvePipeline")["payload"]
        run_id = resolved["runID"]
        run_ids.append(run_id)
        assert orch("checkEvaluationSLA", {"runID": run_id})["payload"]["breached"] is False
        ready = orch("checkReadiness", {"runID": run_id, "traitResults": results(**ALL_PASS)})
        assert ready["result"] == "proceed"
        store.transition_run(run_id, "TRIGGERING")  # what the trigger Lambda does
        store.transition_run(run_id, "RUNNING")
        if outcome == "FAILED":
            logged = orch(
                "logResult",
                {"status": "FAILED", "runID": run_id, "message": "poll: FAILED", "failureCategory": "TRANSIENT"},
            )
            assert logged["payload"]["retryable"] is True and logged["payload"]["retryBackoffSeconds"] == 0
        else:
            assert orch("checkCompletionSLA", {"runID": run_id})["payload"]["breached"] is False
            logged = orch("logResult", {"status": "COMPLETED", "runID": run_id})
            assert logged["payload"]["attemptNumber"] == 2
            assert orch("notifyDownstream", {"runID": run_id})["payload"]["notified"] == ["pipe-b/daily"]
    assert orch("releaseLock", {"owner": owner})["payload"]["released"] is True
    assert [store.get_run(r)["status"] for r in run_ids] == ["FAILED", "COMPLETED"]
    log = store.get_run_log("pipe-a", DATE)
    assert (log["status"], log["attemptNumber"], log["runID"]) == ("COMPLETED", 2, run_ids[1])
    assert [h["runID"] for h in log["retryHistory"]] == [run_ids[0]]
    assert orch("checkRunLog", {"replay": False})["payload"]["reason"] == "already completed"
    assert aws_env.alerts() == []


# --- the run log ledger: claims, adoption, reruns, the error path -----------------------------------------------------


def orch_as(execution: str, action: str, payload: dict | None = None) -> dict:
    return orchestrator.handler(
        {
            "action": action,
            "pipelineID": "pipe-a",
            "scheduleID": "daily",
            "date": DATE,
            "execution": execution,
            "payload": payload or {},
        },
        None,
    )


def claim(run_id: str, metadata: dict | None = None, attempt: int = 1) -> None:
    held, fresh = store.claim_attempt(
        "pipe-a", DATE, "daily", {"attempt": attempt, "runID": run_id, "execution": "exec-gone", "triggerType": "http"}
    )
    assert fresh and held["runID"] == run_id
    if metadata:
        assert store.record_job("pipe-a", DATE, "daily", run_id, metadata)


def test_an_open_claim_is_adopted_with_its_run_id_and_trigger(aws_env):
    pipeline()
    run_id = new_run(status="RUNNING")
    claim(run_id, {"http_status": 200})
    out = orch("checkRunLog")
    assert out["result"] == "proceed"
    assert out["payload"] == {"attemptNumber": 1, "adopt": {"runID": run_id, "trigger": pipeline()["trigger"]}}
    assert [e["kind"] for e in store.list_events("pipe-a")] == ["RUN_ADOPTED"]


def test_an_open_claim_is_adopted_after_a_logged_error_while_attempts_remain(aws_env):
    pipeline(retry={"maxAttempts": 2})
    run_id = new_run(status="RUNNING")
    claim(run_id, {"http_status": 200})
    store.acquire_lock("pipe-a", "daily", OWNER, 60)
    logged = orch_as(
        OWNER,
        "logResult",
        {
            "status": "FAILED",
            "afterError": True,
            "owner": OWNER,
            "message": "Sandbox.Timedout: boom",
            "failureCategory": "TRANSIENT",
        },
    )
    assert logged["payload"]["logged"] is True and logged["payload"]["retryable"] is True
    log = store.get_run_log("pipe-a", DATE)
    assert (log["status"], log["runID"], log["inFlight"]["runID"]) == ("FAILED", run_id, run_id)
    assert store.get_run(run_id)["status"] == "RUNNING"  # the job's fate is unknown: its run state is left alone
    assert orch("checkRunLog")["payload"]["adopt"]["runID"] == run_id
    orch_as(
        OWNER,
        "logResult",
        {"status": "FAILED", "afterError": True, "owner": OWNER, "message": "again", "failureCategory": "TRANSIENT"},
    )
    assert orch("checkRunLog")["payload"] == {"reason": "max attempts exceeded", "attemptNumber": 2, "maxAttempts": 2}
    assert [a["alertType"] for a in aws_env.alerts()] == ["RUN_FAILED"]


def test_the_error_path_logs_nothing_without_the_lock_or_over_a_completed_date(aws_env):
    pipeline()
    payload = {"status": "FAILED", "afterError": True, "owner": OWNER, "message": "x", "failureCategory": "TRANSIENT"}
    out = orch_as(OWNER, "logResult", payload)
    assert out["payload"]["logged"] is False and store.get_run_log("pipe-a", DATE) is None
    store.acquire_lock("pipe-a", "daily", OWNER, 60)
    run_id = new_run(status="COMPLETED")
    orch("logResult", {"status": "COMPLETED", "runID": run_id})
    assert orch_as(OWNER, "logResult", payload)["payload"]["logged"] is False
    assert store.get_run_log("pipe-a", DATE)["status"] == "COMPLETED"


def test_log_result_closes_the_claim_of_its_run(aws_env):
    pipeline()
    run_id = new_run(status="RUNNING")
    claim(run_id, {"http_status": 200})
    orch("logResult", {"status": "COMPLETED", "runID": run_id})
    log = store.get_run_log("pipe-a", DATE)
    assert log["status"] == "COMPLETED" and "inFlight" not in log
    assert orch("checkRunLog")["result"] == "skip"


def test_replays_of_a_date_are_bounded_by_max_reruns(aws_env):
    pipeline(retry={"maxReruns": 2})
    store.put_run_log(
        {"pipelineID": "pipe-a", "date": DATE, "scheduleID": "daily", "status": "COMPLETED", "attemptNumber": 1}
    )
    for execution in ("replay-1", "replay-2"):
        assert orch_as(execution, "checkRunLog", {"replay": True})["result"] == "proceed"
        assert orch_as(execution, "checkRunLog", {"replay": True})["result"] == "proceed"  # its retry loop: once
    refused = orch_as("replay-3", "checkRunLog", {"replay": True})
    assert refused["result"] == "skip" and refused["payload"] == {
        "reason": "rerun limit reached",
        "maxReruns": 2,
        "rerunCount": 2,
    }
    [alert] = aws_env.alerts()
    assert (alert["alertType"], alert["level"], alert["date"]) == ("RERUN_LIMIT_REACHED", "error", DATE)
    assert "RERUN_LIMIT_REACHED" in [e["kind"] for e in store.list_events("pipe-a")]
    assert store.get_run_log("pipe-a", DATE)["rerunCount"] == 2


@pytest.mark.parametrize("value, problem", [(-1, ">= 0"), (11, "<= 10"), ("3", "integer")])
def test_max_reruns_is_validated(value, problem):
    from handlers.interlock.models import ConfigError
    from handlers.interlock.pipelines import parse_pipeline

    with pytest.raises(ConfigError, match=f"retry.maxReruns: .*{problem}"):
        parse_pipeline(
            {
                "name": "pipe-a",
                "archetype": "batch-ingestion",
                "retry": {"maxReruns": value},
                "trigger": {"type": "http", "url": "https://jobs.example.com/run"},
            }
        )


def test_text_from_outside_is_capped_in_the_answer(aws_env):
    pipeline()
    out = orch("logResult", {"status": "NOPE" * 1000})
    assert len(out["payload"]["error"]) <= 1024 and out["payload"]["error"].endswith("more characters cut]")
