"""Reconciler Lambda against moto: an abnormal execution end releases the lock it owned, records the run log and
alerts once per execution; ends the state machine handled itself, and redeliveries, change nothing."""

from __future__ import annotations

import json
import uuid

import pytest

from handlers import reconciler
from handlers.interlock import store

DATE = "2026-11-27"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:team-a-pipeline"


def status_change(
    name: str,
    status: str,
    *,
    pipeline_id: str = "pipe-a",
    date: str = DATE,
    error: str = "",
    cause: str = "",
    detail_type: str = "Step Functions Execution Status Change",
) -> dict:
    detail = {
        "executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}",
        "stateMachineArn": MACHINE,
        "name": name,
        "status": status,
        "startDate": 1795737600000,
        "stopDate": 1795737660000,
        "input": json.dumps(
            {
                "pipelineID": pipeline_id,
                "scheduleID": "daily",
                "date": date,
                "source": "manual",
                "markerKey": "MARKER#manual#x#y",
                "replay": False,
            }
        ),
    }
    if error:
        detail.update(error=error, cause=cause)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.states",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [detail["executionArn"]],
        "detail": detail,
    }


def events(kind: str) -> list[dict]:
    return [e for e in store.list_events("pipe-a") if e["kind"] == kind]


@pytest.mark.parametrize(
    "status, category, alert_type, level",
    [
        ("ABORTED", "PERMANENT", "EXECUTION_ABORTED", "warning"),
        ("TIMED_OUT", "TIMEOUT", "EXECUTION_TIMED_OUT", "error"),
        ("FAILED", "PERMANENT", "EXECUTION_FAILED", "error"),
    ],
)
def test_an_end_under_the_lock_releases_it_records_the_attempt_and_alerts(aws_env, status, category, alert_type, level):
    store.put_run_log(
        {
            "pipelineID": "pipe-a",
            "date": DATE,
            "scheduleID": "daily",
            "status": "FAILED",
            "attemptNumber": 1,
            "failureCategory": "TRANSIENT",
            "retryHistory": [{"attempt": 1}],
        }
    )
    store.acquire_lock("pipe-a", "daily", "exec-one", 600)
    error = "States.DataLimitExceeded" if status == "FAILED" else ""
    out = reconciler.handler(status_change("exec-one", status, error=error, cause="too big"), None)
    assert out == {
        "reconciled": True,
        "execution": "exec-one",
        "status": status,
        "handled": False,
        "runLogRecorded": True,
        "lockReleased": True,
        "alerted": True,
    }
    assert store.get_lock("pipe-a", "daily") is None
    entry = store.get_run_log("pipe-a", DATE)
    assert entry["status"] == "FAILED" and entry["failureCategory"] == category and entry["attemptNumber"] == 2
    assert entry["retryHistory"][-1]["execution"] == "exec-one" and len(entry["retryHistory"]) == 2
    assert entry["startedAt"] == "2026-11-27T00:00:00.000Z" and status in entry["failureMessage"]
    (alert,) = aws_env.alerts()
    assert (alert["alertType"], alert["level"]) == (alert_type, level)
    assert alert["date"] == DATE and alert["scheduleID"] == "daily"
    assert alert["details"]["lockReleased"] is True and alert["details"]["execution"] == "exec-one"
    assert error in alert["message"] and len(events(alert_type)) == 1


def test_a_redelivered_event_changes_nothing_more(aws_env):
    store.acquire_lock("pipe-a", "daily", "exec-one", 600)
    event = status_change("exec-one", "ABORTED")
    reconciler.handler(event, None)
    again = reconciler.handler(event, None)
    assert again["runLogRecorded"] is False and again["lockReleased"] is False and again["alerted"] is False
    assert store.get_run_log("pipe-a", DATE)["attemptNumber"] == 1
    assert len(aws_env.alerts()) == 1 and len(events("RUN_STATE_CHANGED")) == 1


def test_a_retry_after_recording_only_releases_the_lock(aws_env, monkeypatch):
    """The invocation failed after recording the attempt; the retry must not count it twice."""
    store.acquire_lock("pipe-a", "daily", "exec-one", 600)
    monkeypatch.setattr(store, "release_lock", lambda *_args: (_ for _ in ()).throw(RuntimeError("throttled")))
    with pytest.raises(RuntimeError):
        reconciler.handler(status_change("exec-one", "TIMED_OUT"), None)
    monkeypatch.undo()
    out = reconciler.handler(status_change("exec-one", "TIMED_OUT"), None)
    assert out["lockReleased"] is True and out["runLogRecorded"] is False and out["alerted"] is True
    assert store.get_run_log("pipe-a", DATE)["attemptNumber"] == 1 and store.get_lock("pipe-a", "daily") is None


def test_the_claimed_attempt_of_this_execution_is_recorded_and_kept_for_reconciling(aws_env):
    run_id = str(uuid.uuid4())
    store.create_run(run_id, "pipe-a", schedule_id="daily", date=DATE)
    store.transition_run(run_id, "TRIGGERING")
    store.transition_run(run_id, "RUNNING")
    in_flight = {
        "attempt": 3,
        "runID": run_id,
        "execution": "exec-one",
        "claimedAt": "2026-11-28T00:00:30Z",
        "triggerType": "airflow",
        "metadata": {"dag_run_id": "interlock__x"},
    }
    store.put_run_log(
        {
            "pipelineID": "pipe-a",
            "date": DATE,
            "scheduleID": "daily",
            "status": "FAILED",
            "attemptNumber": 2,
            "failureCategory": "TRANSIENT",
        }
    )
    store.claim_attempt("pipe-a", DATE, "daily", {k: v for k, v in in_flight.items() if k != "metadata"})
    store.record_job("pipe-a", DATE, "daily", run_id, in_flight["metadata"])
    store.acquire_lock("pipe-a", "daily", "exec-one", 600)
    reconciler.handler(status_change("exec-one", "ABORTED"), None)
    entry = store.get_run_log("pipe-a", DATE)
    assert entry["attemptNumber"] == 3 and entry["runID"] == run_id and entry["inFlight"] == in_flight
    assert store.get_run(run_id)["status"] == "RUNNING"  # its job may still run: the next execution adopts it


def test_a_completed_date_is_not_rewritten(aws_env):
    store.put_run_log(
        {"pipelineID": "pipe-a", "date": DATE, "scheduleID": "daily", "status": "COMPLETED", "attemptNumber": 1}
    )
    store.acquire_lock("pipe-a", "daily", "exec-one", 600)
    out = reconciler.handler(status_change("exec-one", "ABORTED"), None)
    assert out["lockReleased"] is True and out["runLogRecorded"] is False
    assert store.get_run_log("pipe-a", DATE)["status"] == "COMPLETED"


def test_an_execution_without_the_lock_is_alerted_but_records_nothing(aws_env):
    store.acquire_lock("pipe-a", "daily", "exec-other", 600)
    out = reconciler.handler(status_change("exec-one", "ABORTED"), None)
    assert out["lockReleased"] is False and out["runLogRecorded"] is False and out["alerted"] is True
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-other"
    assert store.get_run_log("pipe-a", DATE) is None
    (alert,) = aws_env.alerts()
    assert "held no lock" in alert["message"]


def test_a_failure_the_state_machine_handled_itself_is_left_alone(aws_env):
    store.acquire_lock("pipe-a", "daily", "exec-other", 600)
    out = reconciler.handler(status_change("exec-one", "FAILED", error="Interlock.LockBusy"), None)
    assert out["handled"] is True and out["alerted"] is False
    assert aws_env.alerts() == [] and store.get_lock("pipe-a", "daily")["owner"] == "exec-other"


@pytest.mark.parametrize(
    "event",
    [
        status_change("exec-one", "SUCCEEDED"),
        status_change("exec-one", "ABORTED", detail_type="Glue Job State Change"),
        status_change("exec-one", "ABORTED", pipeline_id="Not A Pipeline"),
        status_change("exec-one", "ABORTED", date="2026-13-45"),
        {"detail": "nonsense"},
        None,
    ],
)
def test_other_events_are_not_reconciled(aws_env, event):
    out = reconciler.handler(event, None)
    assert out["reconciled"] is False and out["reason"]
    assert aws_env.alerts() == []


def test_an_input_without_date_uses_the_execution_start_date(aws_env):
    event = status_change("exec-one", "ABORTED")
    event["detail"]["input"] = json.dumps({"pipelineID": "pipe-a"})  # started 2026-11-27T00:00:00Z
    store.acquire_lock("pipe-a", "daily", "exec-one", 600)
    reconciler.handler(event, None)
    assert store.get_run_log("pipe-a", "2026-11-27")["status"] == "FAILED"
