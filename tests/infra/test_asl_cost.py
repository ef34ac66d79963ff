"""What a lifecycle costs: walk the rendered definition with scripted task results and count state transitions
(every state entered). DESIGN §10.0: 12 + 3k on the asynchronous polled happy path, whatever the number of traits
n (23 + n + 3k on main 7019b67, before the lifecycle calls were merged; 13 + n + 3k at a65b278, before the
orchestrator evaluated the traits itself)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from components import asl
from components.stack_settings import load_settings
from tests.infra.test_asl import ARNS

MISSING = object()


class TaskFailed(Exception):
    """A scripted task raising: the walk follows the state's Catch with `args[0]` as the error output."""


def lookup(document: Any, path: str) -> Any:
    if path == "$":
        return document
    value = document
    for part in path.removeprefix("$.").split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def matches(rule: dict, document: Any) -> bool:
    if "And" in rule:
        return all(matches(inner, document) for inner in rule["And"])
    value = lookup(document, rule["Variable"])
    if "IsPresent" in rule:
        return (value is not MISSING) == rule["IsPresent"]
    if value is MISSING:
        raise AssertionError(f"States.Runtime: {rule['Variable']} is missing")  # uncatchable in AWS
    if "StringEquals" in rule:
        return value == rule["StringEquals"]
    if "BooleanEquals" in rule:
        return value is rule["BooleanEquals"]
    raise AssertionError(f"operator not modelled: {rule}")


def put(document: dict, result_path: str, value: Any) -> dict:
    if result_path == "$":  # the answer is the whole state (PrepareRun)
        return value
    parts = result_path.removeprefix("$.").split(".")
    target = document
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return document


def parameters(template: dict, document: dict) -> dict:
    """A Pass state's Parameters with its `.$` paths looked up (context paths and intrinsics are not modelled)."""
    out = {}
    for key, value in template.items():
        if key.endswith(".$") and value.startswith(("$$.", "States.")):
            out[key[:-2]] = value
        elif key.endswith(".$"):
            found = lookup(document, value)
            if found is MISSING:
                raise AssertionError(f"States.Runtime: {value} is missing")
            out[key[:-2]] = found
        else:
            out[key] = parameters(value, document) if isinstance(value, dict) else value
    return out


def run(definition: dict, execution_input: dict, task: Callable[[str, dict], Any]) -> tuple[list[str], str]:
    """Follow the machine; `task(state_name, document)` answers each Task. Returns (states entered, end)."""
    states, entered = definition["States"], []
    document = dict(execution_input)
    name = definition["StartAt"]
    while True:
        entered.append(name)
        state = states[name]
        kind = state["Type"]
        if kind in ("Succeed", "Fail"):
            return entered, kind
        if kind == "Choice":
            name = next(
                (choice["Next"] for choice in state["Choices"] if matches(choice, document)), state.get("Default")
            )
            continue
        if kind == "Task":
            parameters(state.get("Parameters", {}), document)  # every path a task reads exists on this route
            try:
                document = put(document, state["ResultPath"], task(name, document))
            except TaskFailed as failure:
                catch = state["Catch"][0]
                document = put(document, catch["ResultPath"], failure.args[0])
                name = catch["Next"]
                continue
        if kind == "Map":
            items = lookup(document, state["ItemsPath"])
            body = state["ItemProcessor"]
            results = []
            for item in items:
                entered.append(body["StartAt"])
                results.append(task(body["StartAt"], item))
            put(document, state["ResultPath"], results)
        if kind == "Pass" and "Result" in state:
            put(document, state["ResultPath"], state["Result"])
        if kind == "Pass" and "OutputPath" in state:  # FillDefaultsAfterError (intrinsics not modelled)
            document = {"pipelineID": "", "scheduleID": "daily", "date": "", **document}
        if kind == "Pass" and "Parameters" in state and "ResultPath" in state:
            put(document, state["ResultPath"], parameters(state["Parameters"], document))
        if state.get("End"):
            return entered, "End"
        name = state["Next"]


def trigger_answer(status: str, error: str | None = None, category: str | None = None) -> dict:
    return {"runID": "r1", "status": status, "metadata": {}, "error": error, "failureCategory": category}


def prepared(traits: int, route: str = "evaluate", **payload: Any) -> dict:
    """What prepareRun answers: the whole state document."""
    return {
        "pipelineID": "p",
        "scheduleID": "daily",
        "date": "2026-11-28",
        "source": "manual",
        "markerKey": "",
        "replay": False,
        "settings": {
            "pollIntervalSeconds": 60,
            "maxPollAttempts": 60,
            "completionCheckIntervalSeconds": 900,
            "maxCompletionChecks": 5,
            "evaluationIntervalSeconds": 60,
            "evaluationWindowSeconds": 3600,
            "monitoringIntervalSeconds": 60,
            "lockLeaseSeconds": 9000,
        },
        "pollResult": {"state": "pending", "attempt": 0},
        "prepare": {"action": "prepareRun", "result": route, "payload": {"lockHeld": True, **payload}},
        "acquireLock": {"result": "proceed", "payload": {"owner": "e1", "acquiredAt": "2026-11-28T06:00:00Z"}},
        "checkRunLog": {"result": "proceed", "payload": {"attemptNumber": 1}},
        "resolvePipeline": {
            "result": "proceed",
            "payload": {"runID": "r1", "trigger": {"type": "glue"}, "monitoring": False},
        },
        "evaluation": {"payload": {"pending": [{"traitType": f"t{i}"} for i in range(traits)], "results": []}},
    }


def happy_path(traits: int, running_polls: int, trigger_status: str = "running", monitoring_cycles: int = 0):
    polls = iter(["running"] * running_polls + ["succeeded"])
    cycles = iter(["monitor"] * monitoring_cycles + ["done"])

    def task(name: str, document: dict) -> Any:
        if name == "PrepareRun":
            document = prepared(traits)
            document["resolvePipeline"]["payload"]["monitoring"] = monitoring_cycles > 0
            return document
        if name == "TriggerPipeline":
            return trigger_answer(trigger_status)
        if name == "PollRunStatus":
            return {"state": next(polls), "message": "", "failureCategory": None, "attempt": 1}
        if name == "CheckEvaluation":
            return {"action": "checkEvaluation", "result": "trigger", "payload": {"results": [], "pending": []}}
        if name == "CompleteRun":
            route = "monitor" if monitoring_cycles else "done"
            traits_ = [{"traitType": f"t{i}"} for i in range(traits)]
            return {"action": "completeRun", "result": route, "payload": {"loggedAt": "x", "traits": traits_}}
        if name == "CheckMonitoring":
            return {"action": "checkMonitoring", "result": next(cycles), "payload": {}}
        return {"action": name, "result": "proceed", "payload": {"retryable": False, "retryBackoffSeconds": 0}}

    return task


@pytest.fixture(scope="module")
def definition() -> dict:
    settings = load_settings({"projectName": "team-a"})
    return json.loads(asl.render(asl.load_template(), ARNS, asl.knob_values(settings)))


def test_async_happy_path_with_3_traits_and_2_running_polls_costs_18(definition):
    entered, end = run(definition, {"pipelineID": "p"}, happy_path(traits=3, running_polls=2))
    assert end == "Succeed" and entered[-1] == "Completed"
    assert len(entered) == 18  # 32 on main 7019b67, 22 at a65b278


@pytest.mark.parametrize("traits, polls", [(1, 0), (3, 0), (5, 4), (10, 7)])
def test_cost_formula(definition, traits, polls):
    entered, _end = run(definition, {"pipelineID": "p"}, happy_path(traits, polls))
    assert len(entered) == 12 + 3 * polls  # the traits are evaluated inside CheckEvaluation


def test_a_synchronous_trigger_skips_polling(definition):
    entered, _end = run(definition, {"pipelineID": "p"}, happy_path(3, 0, trigger_status="completed"))
    assert entered == [  # 23 on main 7019b67, 13 at a65b278
        "PrepareRun",
        "IsRunDue",
        "CheckEvaluation",
        "IsReady",
        "TriggerPipeline",
        "IsTriggerSuccessful",
        "CompleteRun",
        "IsMonitored",
        "Completed",
    ]


@pytest.mark.parametrize("traits", [1, 3, 10])
def test_a_monitoring_cycle_costs_3_whatever_the_number_of_traits(definition, traits):
    """Wait, CheckMonitoring (which evaluates the traits) and its Choice (6 + n on main 7019b67, 4 + n before
    checkMonitoring evaluated)."""
    once, _ = run(definition, {"pipelineID": "p"}, happy_path(traits, 0, "completed", monitoring_cycles=1))
    twice, end = run(definition, {"pipelineID": "p"}, happy_path(traits, 0, "completed", monitoring_cycles=2))
    assert twice[len(once) - 1 : len(once) + 2] == ["MonitoringWait", "CheckMonitoring", "IsMonitoringOver"]
    assert len(twice) - len(once) == 3 and end == "Succeed" and twice[-1] == "Completed"


def completes_by_event(traits: int, lost_events: int = 0):
    """The happy path of a job whose service emits events: the wait times out `lost_events` times, then is
    resumed with the job's success."""
    base = happy_path(traits, 0)
    timeouts = iter(range(lost_events))

    def task(name: str, document: dict) -> Any:
        if name == "TriggerPipeline":
            return {**trigger_answer("running"), "completion": "event"}
        if name == "AwaitJobCompletion":
            if next(timeouts, None) is not None:
                raise TaskFailed({"Error": "States.Timeout", "Cause": "no event"})
            return {"state": "succeeded", "message": "SUCCEEDED", "failureCategory": None, "attempt": 1}
        return base(name, document)

    return task


def test_a_job_awaited_by_event_costs_11_however_long_it_runs(definition):
    entered, end = run(definition, {"pipelineID": "p"}, completes_by_event(traits=3))
    assert end == "Succeed" and entered[-1] == "Completed"
    assert "PollRunStatus" not in entered and entered.count("AwaitJobCompletion") == 1
    assert len(entered) == 11  # bench/event_completion.py measures the same on the emulator (15 at a65b278)


@pytest.mark.parametrize("lost", [1, 4])
def test_each_lost_or_late_event_costs_two_transitions(definition, lost):
    entered, _end = run(definition, {"pipelineID": "p"}, completes_by_event(3, lost_events=lost))
    assert entered.count("CountCompletionCheck") == lost
    assert len(entered) == 11 + 2 * lost


def scripted(overrides: dict[str, Any], traits: int = 2):
    """The happy path, except the states in `overrides` (name -> result, or a list consumed per call)."""
    base = happy_path(traits, 0)
    queues = {name: iter(value) for name, value in overrides.items() if isinstance(value, list)}

    def task(name: str, document: dict) -> Any:
        if name in queues:
            return copy.deepcopy(next(queues[name]))
        if name in overrides:
            return copy.deepcopy(overrides[name])
        return base(name, document)

    return task


def test_not_ready_waits_and_checks_again_then_times_out_and_releases_the_lock(definition):
    """A re-evaluation pass is 3 transitions whatever the traits (checkEvaluation evaluates only the pending ones:
    tests/handlers/test_lifecycle_actions.py)."""
    reevaluate = {
        "result": "reevaluate",
        "payload": {"blocking": ["t0"], "pending": [{"traitType": "t0"}], "results": [], "reused": ["t1"]},
    }
    timed_out = {"result": "timedOut", "payload": {"validationTimedOut": True}}
    entered, end = run(definition, {"pipelineID": "p"}, scripted({"CheckEvaluation": [reevaluate, timed_out]}))
    assert entered == [
        "PrepareRun",
        "IsRunDue",
        "CheckEvaluation",
        "IsReady",
        "WaitBeforeReevaluation",
        "CheckEvaluation",
        "IsReady",
        "ReleaseLockAfterValidationTimeout",
        "ValidationTimedOut",
    ]
    assert end == "Fail"


def test_the_evaluation_check_reads_the_lock_answer_whole_so_a_missing_time_cannot_stop_the_machine(definition):
    payload = definition["States"]["CheckEvaluation"]["Parameters"]["payload"]
    assert payload["lock.$"] == "$.acquireLock.payload" and payload["executionStartedAt.$"] == "$$.Execution.StartTime"
    without_time = prepared(2)
    without_time["acquireLock"]["payload"] = {}  # an orchestrator that does not answer acquiredAt
    overrides = {"PrepareRun": without_time, "CheckEvaluation": {"result": "timedOut", "payload": {}}}
    entered, end = run(definition, {"pipelineID": "p"}, scripted(overrides))
    assert entered[-1] == "ValidationTimedOut" and end == "Fail"
    by_path = copy.deepcopy(definition)
    by_path["States"]["CheckEvaluation"]["Parameters"]["payload"]["lock.$"] = "$.acquireLock.payload.acquiredAt"
    with pytest.raises(AssertionError, match=r"States.Runtime: \$.acquireLock.payload.acquiredAt is missing"):
        run(by_path, {"pipelineID": "p"}, scripted(overrides))


def after_a_trigger_failure(definition: dict, trigger_answers, *, retryable: bool, backoff_seconds: int):
    """Runs the machine with the trigger answering `trigger_answers` and LogTriggerFailed deciding on a retry."""
    logged = {"result": "proceed", "payload": {"retryable": retryable, "retryBackoffSeconds": backoff_seconds}}
    return run(
        definition, {"pipelineID": "p"}, scripted({"TriggerPipeline": trigger_answers, "LogTriggerFailed": logged})
    )


def test_a_failure_without_a_retry_releases_the_lock_and_fails(definition):
    failed = trigger_answer("failed", "400", "PERMANENT")
    entered, end = after_a_trigger_failure(definition, failed, retryable=False, backoff_seconds=0)
    assert entered[-4:] == ["LogTriggerFailed", "ShouldRetry", "ReleaseLockAfterRunFailed", "RunFailed"]
    assert end == "Fail"


def test_an_adopted_run_goes_to_the_trigger_and_polls_its_job(definition):
    adopt = prepared(0, "adopt")
    entered, end = run(definition, {"pipelineID": "p"}, scripted({"PrepareRun": adopt}))
    assert entered[:3] == ["PrepareRun", "IsRunDue", "TriggerPipeline"]
    assert "CheckEvaluation" not in entered and "MonitoringWait" not in entered
    assert entered[-1] == "Completed" and end == "Succeed"


def test_an_exception_under_the_lock_is_logged_then_the_lock_released(definition):
    def crash(name, document):
        if name == "PollRunStatus":
            raise TaskFailed({"Error": "Sandbox.Timedout", "Cause": "task timed out"})
        return happy_path(2, 0)(name, document)

    entered, end = run(definition, {"pipelineID": "p", "scheduleID": "daily", "date": "2026-11-28"}, crash)
    assert entered[-6:] == [
        "PollRunStatus",
        "BuildErrorAlert",
        "AlertError",
        "LogExecutionError",
        "ReleaseLockAfterError",
        "Failed",
    ]
    assert end == "Fail"


def test_prepare_failing_on_a_bare_input_still_reaches_the_error_path(definition):
    def crash(name, document):
        if name == "PrepareRun":
            raise TaskFailed({"Error": "Lambda.Unknown", "Cause": "boom"})
        return {"result": "proceed", "payload": {}}

    entered, end = run(definition, {}, crash)
    assert entered[:3] == ["PrepareRun", "FillDefaultsAfterError", "BuildErrorAlert"]
    assert entered[-2:] == ["ReleaseLockAfterError", "Failed"] and end == "Fail"


def test_a_retryable_failure_waits_and_starts_over_holding_the_lock(definition):
    answers = [trigger_answer("failed", "503", "TRANSIENT"), trigger_answer("completed")]
    entered, end = after_a_trigger_failure(definition, answers, retryable=True, backoff_seconds=5)
    after_failure = entered[entered.index("LogTriggerFailed") :]
    assert after_failure[:5] == ["LogTriggerFailed", "ShouldRetry", "RetryBackoffWait", "PrepareRun", "IsRunDue"]
    assert entered[-1] == "Completed" and end == "Succeed"


@pytest.mark.parametrize(
    "route, lock_held, ends",
    [
        ("error", True, ["ReleaseLockAfterError", "Failed"]),
        ("error", False, ["Failed"]),
        ("skip", True, ["ReleaseLock"]),
        ("skip", False, ["Skipped"]),
        ("refused", False, ["LockBusy"]),
    ],
)
def test_what_prepare_answers_decides_the_end(definition, route, lock_held, ends):
    answer = prepared(2, route)
    answer["prepare"]["payload"]["lockHeld"] = lock_held
    entered, _end = run(definition, {"pipelineID": "p"}, scripted({"PrepareRun": answer}))
    assert entered == ["PrepareRun", "IsRunDue", *ends]


def test_a_business_error_after_the_lock_releases_it_and_fails(definition):
    for state, answer in (("CheckEvaluation", {"result": "error", "payload": {}}),):
        entered, end = run(definition, {"pipelineID": "p"}, scripted({state: answer}))
        assert entered[-2:] == ["ReleaseLockAfterError", "Failed"] and end == "Fail"


def test_a_busy_lock_is_waited_for_then_taken(definition):
    waiting = prepared(2, "waitForLock", waits=1)
    entered, end = run(definition, {"pipelineID": "p"}, scripted({"PrepareRun": [waiting, waiting, prepared(2)]}))
    assert entered[:7] == [*["PrepareRun", "IsRunDue", "WaitForLock"] * 2, "PrepareRun"]
    baseline, _ = run(definition, {"pipelineID": "p"}, scripted({}))
    assert len(entered) == len(baseline) + 2 * 3 and end == "Succeed"


def test_prepare_reads_the_raw_input_and_its_earlier_answer_and_the_stack_document(definition):
    payload = definition["States"]["PrepareRun"]["Parameters"]["payload"]
    assert (payload["input.$"], payload["state.$"], payload["stateMachine.$"]) == (
        "$$.Execution.Input",
        "$",
        "$$.StateMachine.Id",
    )
    assert '"pollResult":{"state":"pending","attempt":0}' in payload["stack.$"]
    assert definition["States"]["PrepareRun"]["ResultPath"] == "$"
    assert definition["States"]["WaitForLock"]["Next"] == "PrepareRun"
