"""No lock outlives its execution, and no request waits silently: the real stack on the emulator.

An execution stopped or timed out while it holds the lock is reconciled by the reconciler Lambda (EventBridge rule
on the machine's status changes): lock free within seconds, the attempt recorded FAILED, one alert, and the next
marker runs. A lock left by an execution that no longer runs is taken over; a marker that finds the lock held by a
running execution waits for it (then gets its whole evaluation window), and is refused with an alert once the wait
is used up. One emulator per module; its teardown asserts that every AWS call of the handlers was allowed by their
roles.
"""

import datetime
import time

import pytest

from emulator import Emulator, timeline

TODAY = datetime.datetime.now(datetime.UTC).date()
DATES = [(TODAY - datetime.timedelta(days=n)).isoformat() for n in range(3)]
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
WAIT_WINDOW_SECONDS = 15  # evaluationWindow: a marker waits this long (1 s apart) for a busy lock
STACK = {"evaluationWindow": f"{WAIT_WINDOW_SECONDS}s", "maxPollAttempts": 120}


@pytest.fixture(scope="module")
def emu():
    with Emulator(STACK) as emulator:
        yield emulator
        assert emulator.unauthorized_calls() == []


def register(emu, pid, trigger=None):
    traits = {trait: {"evaluator": emu.http.evaluator(f"/{pid}/{trait}")} for trait in TRAITS}
    trigger = trigger or {"type": "http", "method": "POST", "url": emu.http.trigger(f"/{pid}/trigger", 200)}
    emu.register_pipeline(
        {
            "name": pid,
            "archetype": "batch-ingestion",
            "traits": traits,
            "trigger": trigger,
            "retry": {"maxAttempts": 3, "backoffSeconds": 1},
        }
    )


def entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]


def wait_until(condition, timeout_s=30, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what} not met within {timeout_s}s")


def holding_the_lock(emu, pid, date):
    """Start a run whose job keeps running; returns its execution ARN once it holds the lock and polls the job."""
    job = emu.http.job(pid, ["running"])
    register(emu, pid, job.trigger)
    arn = emu.write_marker(pid, date=date)
    name = arn.rsplit(":", 1)[-1]
    wait_until(lambda: (emu.lock(pid) or {}).get("owner") == name and job.polls >= 1, what=f"{pid} polling")
    return arn, job


def alert_types(emu, pid):
    return sorted(a["alertType"] for a in emu.alerts(pid))


@pytest.mark.parametrize(
    "end, category, alert_type",
    [
        ("stop", "PERMANENT", "EXECUTION_ABORTED"),
        ("time out", "TIMEOUT", "EXECUTION_TIMED_OUT"),
    ],
)
def test_an_execution_ended_from_outside_leaves_no_lock_a_run_log_and_an_alert(emu, end, category, alert_type):
    pid = f"rc-{end.replace(' ', '-')}"
    arn, job = holding_the_lock(emu, pid, DATES[0])
    ended_at = time.monotonic()
    if end == "stop":
        emu.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="wrong day")
    else:
        emu.time_out_execution(arn)
    wait_until(lambda: emu.lock(pid) is None, timeout_s=10, what="the lock released")
    assert time.monotonic() - ended_at < 10
    emu.wait_for_events()
    assert emu.wait_for_execution(arn, 30)["status"] == {"stop": "ABORTED", "time out": "TIMED_OUT"}[end]
    log = emu.run_log(pid, DATES[0])
    assert (log["status"], log["failureCategory"], log["attemptNumber"]) == ("FAILED", category, 1)
    assert log["retryHistory"][-1]["execution"] == arn.rsplit(":", 1)[-1]
    assert alert_types(emu, pid) == [alert_type]
    (delivery,) = [
        d for d in emu.event_deliveries("interlock-emu-execution-ends") if d["event"]["detail"]["executionArn"] == arn
    ]
    assert delivery["status"] == "DELIVERED" and delivery["arn"].endswith(":function:interlock-emu-reconciler")
    assert len(job.runs) == 1
    # the pipeline is not blocked: the next marker (another date) takes the lock and runs
    register(emu, pid)
    result = emu.wait_for_execution(emu.write_marker(pid, date=DATES[1]), 90)
    assert result["status"] == "SUCCEEDED" and "WaitForLock" not in entered(result)
    assert emu.run_log(pid, DATES[1])["status"] == "COMPLETED" and emu.lock(pid) is None
    assert alert_types(emu, pid) == [alert_type]


def test_a_lock_left_by_an_execution_that_no_longer_runs_is_taken_over(emu):
    register(emu, "rc-dead-owner")
    emu.store.acquire_lock("rc-dead-owner", "daily", "rc-dead-owner_daily_gone", 3600)
    arn = emu.write_marker("rc-dead-owner", date=DATES[0])
    result = emu.wait_for_execution(arn, 90)
    assert result["status"] == "SUCCEEDED" and "WaitForLock" not in entered(result)
    assert emu.run_log("rc-dead-owner", DATES[0])["status"] == "COMPLETED" and emu.lock("rc-dead-owner") is None
    (event,) = [e for e in emu.store.list_events("rc-dead-owner") if e["kind"] == "LOCK_TAKEN_OVER"]
    assert event["details"]["previousOwner"] == "rc-dead-owner_daily_gone"
    assert event["details"]["owner"] == arn.rsplit(":", 1)[-1]
    assert alert_types(emu, "rc-dead-owner") == []


def test_a_marker_during_a_held_lock_waits_and_runs_once_the_lock_frees(emu):
    job = emu.http.job("rc-deferred", ["running", "running", "succeeded"])
    register(emu, "rc-deferred", job.trigger)
    first = emu.write_marker("rc-deferred", date=DATES[0])
    wait_until(lambda: emu.lock("rc-deferred") is not None, what="the first run holding the lock")
    second = emu.write_marker("rc-deferred", date=DATES[1])
    results = [emu.wait_for_execution(arn, 90) for arn in (first, second)]
    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    waits = entered(results[1]).count("WaitForLock")
    assert 1 <= waits < WAIT_WINDOW_SECONDS
    assert entered(results[1]).count("PrepareRun") == waits + 1
    assert [emu.run_log("rc-deferred", d)["status"] for d in DATES[:2]] == ["COMPLETED", "COMPLETED"]
    assert emu.lock("rc-deferred") is None and alert_types(emu, "rc-deferred") == []


def validation_checks(emu, arn):
    """(entered at, checkEvaluation's payload) of each CheckEvaluation so far that checked the validation timeout."""
    return [
        (step.started, step.outputs[-1]["payload"])
        for step in timeline.steps(emu.history(arn))
        if step.state == "CheckEvaluation" and step.outputs and "validationTimedOut" in step.outputs[-1]["payload"]
    ]


def test_a_run_that_waited_for_the_lock_still_gets_its_whole_evaluation_window(emu):
    pid = "rc-deferred-window"
    holder, _job = holding_the_lock(emu, pid, DATES[0])
    for trait in TRAITS:  # the deferred run's traits are not ready until the test says so
        emu.http.evaluator(f"/{pid}/{trait}", "FAIL")
    deferred = emu.write_marker(pid, date=DATES[1])
    window = datetime.timedelta(seconds=WAIT_WINDOW_SECONDS)
    started = emu.client("stepfunctions").describe_execution(executionArn=deferred)["startDate"]
    wait_until(
        lambda: entered({"history": emu.history(deferred)}).count("WaitForLock") > WAIT_WINDOW_SECONDS // 2,
        what="half the evaluation window spent waiting for the lock",
    )
    emu.client("stepfunctions").stop_execution(executionArn=holder)
    # still evaluating after a window counted from the execution start would have ended
    wait_until(
        lambda: (
            any(at > started + window for at, _ in validation_checks(emu, deferred))
            or emu.client("stepfunctions").describe_execution(executionArn=deferred)["status"] != "RUNNING"
        ),
        timeout_s=60,
        what="a readiness check past the execution start's window",
    )
    for trait in TRAITS:
        emu.http.evaluator(f"/{pid}/{trait}", "PASS")
    emu.http.job(pid, ["succeeded"])  # the deferred run's job (the holder's kept running)
    result = emu.wait_for_execution(deferred, 90)
    assert result["status"] == "SUCCEEDED" and emu.run_log(pid, DATES[1])["status"] == "COMPLETED"
    acquired_at = next(
        s.outputs[-1]["acquireLock"]["payload"]["acquiredAt"]
        for s in timeline.steps(result["history"])
        if s.state == "PrepareRun" and s.outputs[-1]["acquireLock"]["result"] == "proceed"
    )
    acquired = datetime.datetime.fromisoformat(acquired_at)
    # more than half the window's waits were entered before the holder stopped: at least that many whole seconds
    assert acquired - started >= datetime.timedelta(seconds=WAIT_WINDOW_SECONDS // 2)
    checks = validation_checks(emu, deferred)
    assert any(at > started + window for at, _ in checks)
    assert {payload["validationTimedOut"] for _, payload in checks} == {False}
    assert {datetime.datetime.fromisoformat(payload["deadline"]) for _, payload in checks} == {acquired + window}
    emu.wait_for_events()
    assert alert_types(emu, pid) == ["EXECUTION_ABORTED"]  # the holder's; no VALIDATION_TIMEOUT


def test_a_marker_refused_after_waiting_for_the_whole_window_is_alerted(emu):
    holder, _job = holding_the_lock(emu, "rc-refused", DATES[0])
    refused = emu.wait_for_execution(emu.write_marker("rc-refused", date=DATES[2]), 90)
    assert refused["status"] == "FAILED" and refused["error"] == "Interlock.LockBusy"
    assert entered(refused).count("WaitForLock") == WAIT_WINDOW_SECONDS and entered(refused)[-1] == "LockBusy"
    assert emu.run_log("rc-refused", DATES[2]) is None
    (busy,) = [e for e in emu.store.list_events("rc-refused") if e["kind"] == "LOCK_BUSY"]
    assert busy["details"]["heldBy"] == holder.rsplit(":", 1)[-1] and busy["details"]["waits"] == WAIT_WINDOW_SECONDS
    emu.wait_for_events()
    assert alert_types(emu, "rc-refused") == ["REQUEST_REFUSED"]  # the reconciler leaves the handled failure alone
    (alert,) = emu.alerts("rc-refused")
    assert alert["date"] == DATES[2] and alert["details"]["heldBy"] == holder.rsplit(":", 1)[-1]
    emu.client("stepfunctions").stop_execution(executionArn=holder)
    wait_until(lambda: emu.lock("rc-refused") is None, timeout_s=10, what="the holder's lock released")
    emu.wait_for_events()
    assert alert_types(emu, "rc-refused") == ["EXECUTION_ABORTED", "REQUEST_REFUSED"]
