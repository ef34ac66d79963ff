"""The merged lifecycle calls (prepareRun, checkEvaluation, completeRun, checkMonitoring) against moto: the route
each answers, what it leaves in the table, the lock released on every `done`, and the config read once per call."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import pytest
from moto.awslambda.models import LambdaFunction

from handlers import orchestrator
from handlers.interlock import schedule, settings, store
from handlers.interlock.actions import gate
from handlers.interlock.evaluator_function import EvaluatorFailed
from tests.handlers.outbound_aws import lambda_function
from tests.handlers.test_orchestrator import (
    ALL_PASS,
    DATE,
    claim,
    iso,
    machine_with_execution,
    new_run,
    pipeline,
    results as evaluator_results,
)

STACK = {
    "settings": {
        "pollIntervalSeconds": 5,
        "maxPollAttempts": 3,
        "evaluationIntervalSeconds": 5,
        "evaluationWindowSeconds": 12,
        "monitoringIntervalSeconds": 5,
        "lockLeaseSeconds": 600,
    },
    "pollResult": {"state": "pending", "attempt": 0},
}
INPUT = {
    "pipelineID": "pipe-a",
    "scheduleID": "daily",
    "date": DATE,
    "source": "manual",
    "markerKey": "",
    "replay": False,
}
REQUIRED = ["source-freshness", "upstream-dependency", "resource-availability"]


def prepare(
    execution: str = "exec-one", state: dict | None = None, given: dict | None = None, machine: str = ""
) -> dict:
    given = INPUT if given is None else given
    payload = {"input": given, "state": given if state is None else state, "stack": STACK, "stateMachine": machine}
    return orchestrator.handler({"action": "prepareRun", "execution": execution, "payload": payload}, None)


def call(action: str, payload: dict, execution: str = "exec-one") -> dict:
    event = {"action": action, "pipelineID": "pipe-a", "scheduleID": "daily", "date": DATE, "execution": execution}
    return orchestrator.handler({**event, "payload": payload}, None)


@pytest.fixture
def config_reads(monkeypatch):
    """How often the pipeline config was read from the table."""
    reads = []
    real = store.get_pipeline

    def counting(pipeline_id):
        reads.append(pipeline_id)
        return real(pipeline_id)

    monkeypatch.setattr(store, "get_pipeline", counting)
    return reads


# --- prepareRun --------------------------------------------------------------------------------------------------


def test_prepare_answers_the_whole_state_document_and_evaluates(aws_env, config_reads):
    pipeline()
    config_reads.clear()  # writing a config reads the one it replaces (its downstream edges)
    out = prepare(given={"pipelineID": "pipe-a", "date": DATE})  # scheduleID, source, markerKey, replay: defaults
    assert out["prepare"]["result"] == "evaluate" and out["prepare"]["payload"]["lockHeld"] is True
    assert {k: out[k] for k in INPUT} == INPUT
    assert (out["settings"], out["pollResult"]) == (STACK["settings"], STACK["pollResult"])
    assert out["acquireLock"]["payload"]["owner"] == "exec-one" and out["acquireLock"]["payload"]["acquiredAt"]
    assert out["checkRunLog"]["payload"]["attemptNumber"] == 1
    resolved = out["resolvePipeline"]["payload"]
    assert set(resolved) == {"runID", "trigger", "monitoring"} and resolved["trigger"]["type"] == "http"
    assert store.get_run(resolved["runID"])["status"] == "PENDING"
    pending = out["evaluation"]["payload"]["pending"]
    assert [t["traitType"] for t in pending] == [*REQUIRED, "schema-contract"] and out["evaluation"]["payload"][
        "results"
    ] == []
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-one"
    assert config_reads == ["pipe-a"]  # exclusion, run log and resolve share one read


def test_an_empty_date_is_resolved_once_for_the_whole_execution(aws_env):
    pipeline()
    out = prepare(given={"pipelineID": "pipe-a"})
    assert out["date"] == schedule.today_utc() and out["scheduleID"] == "daily" and out["source"] == "manual"


def test_an_excluded_day_skips_without_taking_the_lock(aws_env):
    weekday = dt.date.fromisoformat(DATE).strftime("%A").lower()
    pipeline(exclusions={"days": [weekday]})
    out = prepare()
    assert (out["prepare"]["result"], out["prepare"]["payload"]["lockHeld"]) == ("skip", False)
    assert "acquireLock" not in out and store.get_lock("pipe-a", "daily") is None


def test_an_unknown_pipeline_is_an_error_with_a_complete_document(aws_env):
    out = prepare(given={"pipelineID": "nobody"})
    assert (out["prepare"]["result"], out["prepare"]["payload"]["lockHeld"]) == ("error", False)
    assert out["pipelineID"] == "nobody" and out["settings"] == STACK["settings"]
    assert [a["alertType"] for a in aws_env.alerts()] == ["PIPELINE_ERROR"]


def test_an_invalid_input_is_an_error_the_state_machine_can_still_read(aws_env):
    out = prepare(given={"pipelineID": 7, "replay": "yes"})
    assert out["prepare"]["result"] == "error" and "not a valid pipeline name" in out["prepare"]["payload"]["error"]
    assert out["prepare"]["payload"]["lockHeld"] is False
    assert (out["pipelineID"], out["replay"]) == ("", False)


def test_a_held_lock_is_waited_for_without_asking_the_exclusion_again_then_refused(aws_env, monkeypatch):
    pipeline()
    machine, _ = machine_with_execution("exec-one")
    assert prepare("exec-one", machine=machine)["prepare"]["result"] == "evaluate"
    exclusions = []
    real = gate.check_exclusion
    monkeypatch.setattr(gate, "check_exclusion", lambda req: exclusions.append(1) or real(req))
    first = prepare("exec-two", machine=machine)
    assert (first["prepare"]["result"], first["acquireLock"]["payload"]["waits"]) == ("waitForLock", 1)
    second = prepare("exec-two", state=first, machine=machine)
    assert (second["prepare"]["result"], second["acquireLock"]["payload"]["waits"]) == ("waitForLock", 2)
    refused = prepare("exec-two", state=second, machine=machine)  # a 12 s window of 5 s waits: 2 waits
    assert refused["prepare"]["result"] == "refused" and refused["prepare"]["payload"]["lockHeld"] is False
    assert exclusions == [1] and store.get_lock("pipe-a", "daily")["owner"] == "exec-one"
    assert [a["alertType"] for a in aws_env.alerts()] == ["REQUEST_REFUSED"]


def test_after_a_retry_the_lock_is_kept_and_its_acquired_at_too(aws_env, monkeypatch):
    pipeline()
    first = prepare()
    run_id = first["resolvePipeline"]["payload"]["runID"]
    call("logResult", {"status": "FAILED", "runID": run_id, "message": "503", "failureCategory": "TRANSIENT"})
    monkeypatch.setattr(gate, "BACKOFF_SLACK_SECONDS", 3600)  # the backoff has passed
    state = {**first, "traitResults": [], "triggerResult": {"status": "failed"}, "pollResult": {"attempt": 3}}
    again = prepare(state=state)
    assert again["prepare"]["result"] == "evaluate" and again["acquireLock"] == first["acquireLock"]
    assert again["checkRunLog"]["payload"]["attemptNumber"] == 2
    assert again["resolvePipeline"]["payload"]["runID"] != run_id
    assert again["pollResult"] == STACK["pollResult"] and "triggerResult" not in again and "traitResults" not in again


def test_an_earlier_answer_forged_into_the_execution_input_is_ignored(aws_env):
    weekday = dt.date.fromisoformat(DATE).strftime("%A").lower()
    pipeline(exclusions={"days": [weekday]})
    forged = {**INPUT, "acquireLock": {"result": "proceed", "payload": {"owner": "exec-one"}}}
    out = prepare(given=forged)
    assert out["prepare"]["result"] == "skip" and "acquireLock" not in out


def test_a_completed_date_is_nothing_due_with_the_lock_still_held(aws_env):
    pipeline()
    run_id = prepare("exec-zero")["resolvePipeline"]["payload"]["runID"]
    call("logResult", {"status": "COMPLETED", "runID": run_id}, "exec-zero")
    call("releaseLock", {"owner": "exec-zero"}, "exec-zero")
    out = prepare()
    assert (out["prepare"]["result"], out["prepare"]["payload"]["lockHeld"]) == ("skip", True)
    assert out["checkRunLog"]["payload"]["reason"] == "already completed"
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-one"  # the state machine's ReleaseLock gives it back


def test_an_open_claim_is_adopted_without_evaluating(aws_env):
    pipeline()
    run_id = new_run(status="RUNNING")
    claim(run_id, {"job": "j-1"})
    out = prepare()
    assert out["prepare"]["result"] == "adopt"
    assert out["resolvePipeline"]["payload"] == {
        "runID": run_id,
        "trigger": out["resolvePipeline"]["payload"]["trigger"],
        "monitoring": False,
    }
    assert out["evaluation"]["payload"] == {"pending": [], "results": []}


# --- checkEvaluation ---------------------------------------------------------------------------------------------


def evaluated(expires_in: int = 3600, **statuses: str) -> list[dict]:
    expires = iso(schedule.now_utc() + dt.timedelta(seconds=expires_in))
    return [dict(r, expiresAt=expires) for r in evaluator_results(**statuses)]


@dataclass
class EvaluatorFunction:
    """The evaluator function in moto, answering each trait item with the status `statuses` gives its trait now
    (PASS when it gives none), stored for `expires_in` seconds."""

    statuses: dict = field(default_factory=dict)
    expires_in: dict = field(default_factory=dict)
    asked: list = field(default_factory=list)
    crash: bool = False

    def invoke(self, event=None) -> tuple[str, bool, str]:  # replaces the function's own, called with `event`
        item = json.loads(event) if isinstance(event, (str, bytes)) else event
        self.asked.append(item)
        if self.crash:
            crashed = {"errorMessage": "Task timed out after 60.00 seconds", "errorType": "Sandbox.Timedout"}
            return json.dumps(crashed), True, ""
        trait = item["traitType"]
        status = {trait.replace("-", "_"): self.statuses.get(trait, "PASS")}
        (answer,) = evaluated(self.expires_in.get(trait, 3600), **status)
        return json.dumps(answer), False, ""

    def asked_for(self) -> list[str]:
        return sorted(item["traitType"] for item in self.asked)


@pytest.fixture
def evaluator(aws_env, monkeypatch) -> EvaluatorFunction:
    function = EvaluatorFunction()
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", function.invoke)
    lambda_function("interlock-evaluator")
    monkeypatch.setenv("EVALUATOR_FUNCTION", "interlock-evaluator")
    settings.reset()
    return function


def trait_items(traits=REQUIRED) -> list[dict]:
    return [
        {"pipelineID": "pipe-a", "traitType": trait, "evaluator": "builtin:test", "timeout": 30} for trait in traits
    ]


class LambdaContext:
    def __init__(self, seconds_left: float) -> None:
        self.seconds_left = seconds_left

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds_left * 1000)


def evaluation(pending=None, previous_results=(), *, acquired=None, window=3600) -> dict:
    return {
        "runID": new_run(),
        "previous": {"pending": trait_items() if pending is None else pending, "results": list(previous_results)},
        "lock": {"acquiredAt": iso(acquired or schedule.now_utc())},
        "executionStartedAt": iso(schedule.now_utc()),
        "settings": {**STACK["settings"], "evaluationWindowSeconds": window},
    }


def test_ready_evaluates_every_pending_trait_and_answers_trigger(evaluator, config_reads):
    pipeline()
    config_reads.clear()  # writing a config reads the one it replaces (its downstream edges)
    out = call("checkEvaluation", evaluation())
    assert out["result"] == "trigger" and out["payload"]["pending"] == []
    assert evaluator.asked_for() == sorted(REQUIRED)  # each pending item once, all at once
    assert sorted(r["traitType"] for r in out["payload"]["results"]) == sorted(REQUIRED)
    assert sorted(r["traitType"] for r in out["payload"]["traitResults"]) == sorted(REQUIRED)  # shown in history
    assert config_reads == ["pipe-a"]  # SLA and readiness share one read


def test_not_ready_re_evaluates_all_but_the_fresh_pass_results(evaluator, config_reads):
    pipeline()
    config_reads.clear()  # writing a config reads the one it replaces (its downstream edges)
    evaluator.statuses["upstream-dependency"] = "FAIL"
    out = call("checkEvaluation", evaluation())
    assert out["result"] == "reevaluate" and out["payload"]["blocking"] == ["upstream-dependency"]
    assert [t["traitType"] for t in out["payload"]["pending"]] == ["upstream-dependency", "schema-contract"]
    assert out["payload"]["reused"] == ["resource-availability", "source-freshness"]
    assert out["payload"]["validationTimedOut"] is False
    assert config_reads == ["pipe-a"]  # SLA, readiness, validation timeout and the next pass share one read
    # the next pass asks only the pending traits; the reused PASS results still count
    evaluator.statuses.clear()
    evaluator.asked.clear()
    again = call("checkEvaluation", evaluation(out["payload"]["pending"], out["payload"]["results"]))
    assert evaluator.asked_for() == ["schema-contract", "upstream-dependency"]
    assert again["result"] == "trigger"
    assert {r["traitType"]: r["status"] for r in again["payload"]["results"]} == {
        **dict.fromkeys(REQUIRED, "PASS"),
        "schema-contract": "PASS",
    }


def test_a_pass_that_expires_before_the_next_check_is_evaluated_again(evaluator):
    pipeline()
    evaluator.statuses["upstream-dependency"] = "FAIL"
    evaluator.expires_in["source-freshness"] = 20  # < interval 5 s + timeout 30 s
    out = call("checkEvaluation", evaluation())
    assert next(t["traitType"] for t in out["payload"]["pending"]) == "source-freshness"
    assert "source-freshness" not in out["payload"]["reused"]


def test_an_expired_earlier_pass_does_not_count(evaluator):
    pipeline()
    stale = evaluated(expires_in=-1, source_freshness="PASS")
    pending = trait_items(["upstream-dependency", "resource-availability"])
    out = call("checkEvaluation", evaluation(pending, stale))
    assert out["result"] == "reevaluate" and out["payload"]["blocking"] == ["source-freshness"]


def test_a_timed_out_evaluation_is_logged_and_alerted_once(aws_env, evaluator):
    pipeline()
    evaluator.statuses["upstream-dependency"] = "FAIL"
    payload = evaluation(acquired=schedule.now_utc() - dt.timedelta(seconds=60), window=30)
    out = call("checkEvaluation", payload)
    assert out["result"] == "timedOut" and out["payload"]["blocking"] == ["upstream-dependency"]
    log = store.get_run_log("pipe-a", DATE, "daily")
    assert (log["status"], log["failureCategory"]) == ("FAILED", "VALIDATION_TIMEOUT")
    assert store.get_run(payload["runID"])["status"] == "CANCELLED"
    assert [a["alertType"] for a in aws_env.alerts()] == ["VALIDATION_TIMEOUT"]


def test_a_broken_evaluator_fails_the_evaluation_for_the_state_machine_to_catch(evaluator):
    pipeline()
    evaluator.crash = True
    with pytest.raises(EvaluatorFailed, match=r"Sandbox\.Timedout"):
        call("checkEvaluation", evaluation())
    assert store.get_run_log("pipe-a", DATE, "daily") is None  # nothing judged, nothing logged


def test_pending_items_that_are_not_a_list_of_items_are_an_error(evaluator):
    pipeline()
    out = call("checkEvaluation", evaluation(pending="source-freshness"))
    assert out["result"] == "error" and "payload.previous.pending" in out["payload"]["error"]
    assert evaluator.asked == []


def test_an_execution_started_before_checkevaluation_evaluated_sends_its_results(aws_env):
    pipeline()
    out = call("checkEvaluation", {**evaluation(), "traitResults": evaluated(**ALL_PASS)})
    assert out["result"] == "trigger"


def test_results_that_are_not_a_list_are_an_error_not_a_vacuous_pass(aws_env):
    pipeline()
    out = call("checkEvaluation", {**evaluation([]), "traitResults": "PASS"})
    assert out["result"] == "error" and "traitResults" in out["payload"]["error"]


# --- completeRun -------------------------------------------------------------------------------------------------


def running_with_lock(execution: str = "exec-one") -> str:
    """A run whose job is running, this execution holding the lock."""
    assert call("acquireLock", {"owner": execution, "leaseSeconds": 600}, execution)["result"] == "proceed"
    return new_run(status="RUNNING")


def test_complete_without_monitoring_logs_cascades_and_releases(aws_env, config_reads):
    pipeline()
    pipeline("pipe-b", traits={"upstream-dependency": {"evaluator": "x", "config": {"upstreamPipeline": "pipe-a"}}})
    run_id = running_with_lock()
    config_reads.clear()
    out = call("completeRun", {"runID": run_id, "monitoring": False, "owner": "exec-one"})
    assert out["result"] == "done" and out["payload"]["lockReleased"] is True and out["payload"]["loggedAt"]
    assert "pipe-b/daily" in out["payload"]["cascade"]["payload"]["notified"]
    assert store.get_run_log("pipe-a", DATE, "daily")["status"] == "COMPLETED"
    assert store.get_run(run_id)["status"] == "COMPLETED" and store.get_lock("pipe-a", "daily") is None
    assert config_reads.count("pipe-a") == 1  # the SLA and the run log share one read (the cascade lists all)


def ending_after(monkeypatch, minutes: int) -> tuple[str, dt.datetime]:
    """A running run of a pipeline with `sla.maxDuration` 10m, the clock `minutes` after its trigger: its ID and
    when it was triggered."""
    pipeline(sla={"maxDuration": "10m"})
    run_id = running_with_lock()
    triggered = schedule.parse_timestamp(store.get_run(run_id)["triggeredAt"])
    monkeypatch.setattr(schedule, "now_utc", lambda: triggered + dt.timedelta(minutes=minutes))
    return run_id, triggered


def test_complete_alerts_a_run_that_ended_past_its_max_duration_once(aws_env, monkeypatch):
    run_id, _triggered = ending_after(monkeypatch, minutes=11)
    out = call("completeRun", {"runID": run_id, "monitoring": False, "owner": "exec-one"})
    assert out["result"] == "done" and out["payload"]["maxDurationExceeded"] is True
    (alert,) = [a for a in aws_env.alerts() if a["alertType"] == "MAX_DURATION_EXCEEDED"]
    assert alert["runID"] == run_id and alert["details"]["status"] == "COMPLETED"
    from handlers.interlock import pipelines, run_duration

    config = pipelines.parse_pipeline(store.get_pipeline("pipe-a"))
    assert run_duration.alert_overrun(config, store.get_run(run_id), schedule.now_utc()) is None  # one per date


def test_complete_within_max_duration_or_without_one_does_not_alert(aws_env, monkeypatch):
    run_id, triggered = ending_after(monkeypatch, minutes=9)
    out = call("completeRun", {"runID": run_id, "monitoring": False, "owner": "exec-one"})
    assert out["payload"]["maxDurationExceeded"] is False
    pipeline()
    monkeypatch.setattr(schedule, "now_utc", lambda: triggered + dt.timedelta(days=2))
    other = running_with_lock("exec-two")
    out = call("completeRun", {"runID": other, "monitoring": False, "owner": "exec-two"}, "exec-two")
    assert out["result"] == "done" and out["payload"]["maxDurationExceeded"] is False
    assert not [a for a in aws_env.alerts() if a["alertType"] == "MAX_DURATION_EXCEEDED"]


def test_complete_with_monitoring_keeps_the_lock_and_answers_the_traits(aws_env):
    pipeline(watch={"monitoring": {"enabled": True, "duration": "1h"}})
    run_id = running_with_lock()
    out = call("completeRun", {"runID": run_id, "monitoring": True, "owner": "exec-one"})
    assert out["result"] == "monitor" and out["payload"]["loggedAt"]
    assert [t["traitType"] for t in out["payload"]["traits"]][:3] == REQUIRED
    assert store.get_run(run_id)["status"] == "COMPLETED_MONITORING"
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-one"


def test_a_failing_cascade_never_fails_the_completed_run(aws_env, monkeypatch):
    pipeline()
    run_id = running_with_lock()

    def broken(req):
        raise RuntimeError("DynamoDB unreachable")

    from handlers.interlock.actions import completion

    monkeypatch.setattr(completion, "notify_downstream", broken)
    out = call("completeRun", {"runID": run_id, "monitoring": False, "owner": "exec-one"})
    assert out["result"] == "done" and out["payload"]["cascade"]["result"] == "error"
    assert store.get_run_log("pipe-a", DATE, "daily")["status"] == "COMPLETED"
    assert store.get_lock("pipe-a", "daily") is None


# --- checkMonitoring ---------------------------------------------------------------------------------------------


def monitored(duration: str = "1h") -> tuple[str, str]:
    pipeline(watch={"monitoring": {"enabled": True, "duration": duration}})
    run_id = running_with_lock()
    completed = call("completeRun", {"runID": run_id, "monitoring": True, "owner": "exec-one"})
    return run_id, completed["payload"]["loggedAt"]


def monitoring(run_id: str, started: str) -> dict:
    return {
        "runID": run_id,
        "baseline": evaluated(**ALL_PASS),
        "traits": trait_items(),
        "monitoringStartedAt": started,
        "owner": "exec-one",
    }


def test_monitoring_evaluates_the_traits_and_goes_on_while_nothing_drifted(evaluator):
    run_id, started = monitored()
    out = call("checkMonitoring", monitoring(run_id, started))
    assert (
        out["result"] == "monitor" and out["payload"]["driftDetected"] is False and out["payload"]["expired"] is False
    )
    by_trait = sorted(evaluator.asked, key=lambda item: item["traitType"])  # asked all at once
    assert by_trait == sorted(trait_items(), key=lambda item: item["traitType"])  # as they are (no context: no cap)
    assert out["payload"]["traitResults"] == [
        {"traitType": trait, "status": "PASS", "failureCategory": None} for trait in REQUIRED
    ]
    assert store.get_lock("pipe-a", "daily")["owner"] == "exec-one"


def test_no_trait_is_given_longer_than_the_invocation_has_left(evaluator):
    run_id, started = monitored()
    event = {"action": "checkMonitoring", "pipelineID": "pipe-a", "scheduleID": "daily", "date": DATE}
    orchestrator.handler({**event, "execution": "exec-one", "payload": monitoring(run_id, started)}, LambdaContext(22))
    # 22 s left, 5 s kept for the steps after the evaluation, 5 s for the evaluator's own storing
    assert [item["timeout"] for item in evaluator.asked] == [12, 12, 12]
    evaluator.asked.clear()
    orchestrator.handler({**event, "execution": "exec-one", "payload": monitoring(run_id, started)}, LambdaContext(900))
    assert [item["timeout"] for item in evaluator.asked] == [30, 30, 30]


def test_monitoring_ends_when_its_window_is_over_and_releases_the_lock(evaluator):
    run_id, _started = monitored("1s")
    long_ago = iso(schedule.now_utc() - dt.timedelta(seconds=10))
    out = call("checkMonitoring", monitoring(run_id, long_ago))
    assert out["result"] == "done" and out["payload"]["expired"] is True and out["payload"]["lockReleased"] is True
    assert store.get_run(run_id)["status"] == "COMPLETED" and store.get_lock("pipe-a", "daily") is None
    assert [e["kind"] for e in store.list_events("pipe-a") if e["kind"] == "MONITORING_COMPLETED"]


def test_a_drift_reruns_the_date_after_releasing_the_lock(aws_env, evaluator):
    run_id, started = monitored()
    evaluator.statuses["source-freshness"] = "FAIL"
    out = call("checkMonitoring", monitoring(run_id, started))
    assert out["result"] == "done" and out["payload"]["drifted"] == ["source-freshness"]
    assert out["payload"]["lockReleased"] is True and store.get_lock("pipe-a", "daily") is None
    assert any(m.get("replay") for m in store.list_markers("pipe-a"))
    assert [a["alertType"] for a in aws_env.alerts()] == ["TRAIT_DRIFT"]


def test_a_broken_evaluator_fails_the_call_for_the_state_machine_to_catch(evaluator):
    run_id, started = monitored()
    evaluator.crash = True
    with pytest.raises(EvaluatorFailed, match=r"Sandbox\.Timedout"):
        call("checkMonitoring", monitoring(run_id, started))
    # nothing judged: no drift, no rerun; the lock stays for the Catch path's ReleaseLockAfterError
    assert store.list_reruns("pipe-a") == [] and store.get_lock("pipe-a", "daily")["owner"] == "exec-one"


def test_malformed_trait_items_are_an_error_answer(evaluator):
    run_id, started = monitored()
    out = call("checkMonitoring", {**monitoring(run_id, started), "traits": ["source-freshness"]})
    assert out["result"] == "error" and "payload.traits" in out["payload"]["error"]
    assert evaluator.asked == []


def test_an_execution_started_before_checkmonitoring_evaluated_sends_its_results(aws_env):
    run_id, started = monitored()
    payload = {**monitoring(run_id, started), "traitResults": evaluated(**dict(ALL_PASS, source_freshness="FAIL"))}
    del payload["traits"]
    out = call("checkMonitoring", payload)
    assert out["result"] == "done" and out["payload"]["drifted"] == ["source-freshness"]


def test_an_unreadable_monitoring_duration_is_an_error_answer(evaluator):
    run_id, started = monitored()
    stored = store.get_pipeline("pipe-a")
    stored["watch"]["monitoring"]["duration"] = "soon"
    store.put_pipeline(stored)  # a stored item no validation saw
    out = call("checkMonitoring", monitoring(run_id, started))
    assert out["result"] == "error" and store.get_lock("pipe-a", "daily")["owner"] == "exec-one"
