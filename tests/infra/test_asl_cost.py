"""What a lifecycle costs: walk the rendered definition with scripted task results and count state transitions
(every state entered, Map iterations included). DESIGN §10.0: 23 + n + 3k on the asynchronous happy path."""

from __future__ import annotations

import copy
import json
import re
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


def initial_document(definition: dict, execution_input: dict) -> dict:
    """What InitDefaults makes of the input: the defaults under it, the stack's documents over it (its two
    `States.StringToJson` literals, merged shallowly as `States.JsonMerge` does)."""
    defaults, stack = (
        json.loads(literal)
        for literal in re.findall(
            r"StringToJson\('(.*?)'\)", definition["States"]["InitDefaults"]["Parameters"]["merged.$"]
        )
    )
    return {**defaults, **execution_input, **stack}


def run(definition: dict, execution_input: dict, task: Callable[[str, dict], Any]) -> tuple[list[str], str]:
    """Follow the machine; `task(state_name, document)` answers each Task. Returns (states entered, end)."""
    states, entered = definition["States"], []
    document = initial_document(definition, execution_input)
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
                put(document, state["ResultPath"], task(name, document))
            except TaskFailed as failure:
                catch = state["Catch"][0]
                put(document, catch["ResultPath"], failure.args[0])
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
        if kind == "Pass" and "Parameters" in state and "ResultPath" in state:
            put(document, state["ResultPath"], parameters(state["Parameters"], document))
        if state.get("End"):
            return entered, "End"
        name = state["Next"]


def trigger_answer(status: str, error: str | None = None, category: str | None = None) -> dict:
    return {"runID": "r1", "status": status, "metadata": {}, "error": error, "failureCategory": category}


def happy_path(traits: int, running_polls: int, trigger_status: str = "running"):
    polls = iter(["running"] * running_polls + ["succeeded"])

    def task(name: str, document: dict) -> Any:
        if name in ("EvaluateTrait", "MonitorTrait"):
            return {
                "traitType": document["traitType"],
                "status": "PASS",
                "value": None,
                "reason": None,
                "failureCategory": None,
                "required": True,
            }
        if name == "TriggerPipeline":
            return trigger_answer(trigger_status)
        if name == "PollRunStatus":
            return {"state": next(polls), "message": "", "failureCategory": None, "attempt": 1}
        payload = {}
        if name == "AcquireLock":
            payload = {"owner": "e1", "leaseSeconds": 900, "acquiredAt": "2026-11-28T06:00:00Z"}
        if name == "CheckRunLog":
            payload = {"attemptNumber": 1}
        if name == "ResolvePipeline":
            payload = {
                "traits": [{"traitType": f"t{i}"} for i in range(traits)],
                "runID": "r1",
                "trigger": {"type": "glue"},
                "monitoring": False,
            }
        if name == "LogCompleted":
            payload = {"attemptNumber": 1, "retryable": False, "retryBackoffSeconds": 0, "loggedAt": "x"}
        return {"action": name, "result": "proceed", "payload": payload}

    return task


@pytest.fixture(scope="module")
def definition() -> dict:
    settings = load_settings({"projectName": "team-a"})
    return json.loads(asl.render(asl.load_template(), ARNS, asl.knob_values(settings)))


def test_async_happy_path_with_3_traits_and_2_running_polls_costs_32(definition):
    entered, end = run(definition, {"pipelineID": "p"}, happy_path(traits=3, running_polls=2))
    assert end == "End" and entered[-1] == "ReleaseLock"
    assert len(entered) == 32


@pytest.mark.parametrize("traits, polls", [(1, 0), (3, 0), (5, 4), (10, 7)])
def test_cost_formula(definition, traits, polls):
    entered, _end = run(definition, {"pipelineID": "p"}, happy_path(traits, polls))
    assert len(entered) == 23 + traits + 3 * polls


def test_a_synchronous_trigger_skips_polling(definition):
    entered, _end = run(definition, {"pipelineID": "p"}, happy_path(3, 0, trigger_status="completed"))
    assert "PollRunStatus" not in entered and len(entered) == 23 + 3 - 3


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


def test_a_job_awaited_by_event_costs_22_plus_n_however_long_it_runs(definition):
    entered, end = run(definition, {"pipelineID": "p"}, completes_by_event(traits=3))
    assert end == "End" and entered[-1] == "ReleaseLock"
    assert "PollRunStatus" not in entered and entered.count("AwaitJobCompletion") == 1
    assert len(entered) == 22 + 3  # bench/event_completion.py measures the same on the emulator


@pytest.mark.parametrize("lost", [1, 4])
def test_each_lost_or_late_event_costs_two_transitions(definition, lost):
    entered, _end = run(definition, {"pipelineID": "p"}, completes_by_event(3, lost_events=lost))
    assert entered.count("CountCompletionCheck") == lost
    assert len(entered) == 22 + 3 + 2 * lost


def scripted(overrides: dict[str, Any], traits: int = 2):
    """The happy path, except the states in `overrides` (name -> result, or a list consumed per call)."""
    base = happy_path(traits, 0)
    queues = {name: iter(value) for name, value in overrides.items() if isinstance(value, list)}

    def task(name: str, document: dict) -> Any:
        if name in queues:
            return next(queues[name])
        if name in overrides:
            return overrides[name]
        return base(name, document)

    return task


def test_not_ready_re_evaluates_then_times_out_and_releases_the_lock(definition):
    not_ready = {"action": "checkReadiness", "result": "skip", "payload": {"blocking": ["t0"]}}
    entered, end = run(
        definition,
        {"pipelineID": "p"},
        scripted(
            {
                "CheckReadiness": [not_ready, not_ready],
                "CheckValidationTimeout": [
                    {"result": "proceed", "payload": {"validationTimedOut": False}},
                    {"result": "proceed", "payload": {"validationTimedOut": True}},
                ],
                "LogValidationTimeout": {"result": "proceed", "payload": {"retryable": False}},
            }
        ),
    )
    assert entered.count("EvaluateTraits") == 2 and "WaitBeforeReevaluation" in entered
    assert entered[-3:] == ["LogValidationTimeout", "ReleaseLockAfterValidationTimeout", "ValidationTimedOut"]
    assert end == "Fail"


def test_the_validation_check_reads_the_lock_answer_whole_so_a_missing_time_cannot_stop_the_machine(definition):
    payload = definition["States"]["CheckValidationTimeout"]["Parameters"]["payload"]
    assert payload["lock.$"] == "$.acquireLock.payload" and payload["executionStartedAt.$"] == "$$.Execution.StartTime"
    overrides = {
        "AcquireLock": {"result": "proceed", "payload": {}},  # an orchestrator that does not answer acquiredAt
        "CheckReadiness": {"action": "checkReadiness", "result": "skip", "payload": {"blocking": ["t0"]}},
        "CheckValidationTimeout": {"result": "proceed", "payload": {"validationTimedOut": True}},
        "LogValidationTimeout": {"result": "proceed", "payload": {"retryable": False}},
    }
    entered, end = run(definition, {"pipelineID": "p"}, scripted(overrides))
    assert "CheckValidationTimeout" in entered and entered[-1] == "ValidationTimedOut" and end == "Fail"
    by_path = copy.deepcopy(definition)
    by_path["States"]["CheckValidationTimeout"]["Parameters"]["payload"]["lock.$"] = "$.acquireLock.payload.acquiredAt"
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
    adopt = {
        "result": "proceed",
        "payload": {"attemptNumber": 1, "adopt": {"runID": "r0", "trigger": {"type": "glue"}}},
    }
    entered, end = run(definition, {"pipelineID": "p"}, scripted({"CheckRunLog": adopt}))
    assert entered[entered.index("CheckRunLog") :][:4] == [
        "CheckRunLog",
        "ShouldProceedAfterRunLog",
        "AdoptRun",
        "TriggerPipeline",
    ]
    assert "ResolvePipeline" not in entered and "EvaluateTraits" not in entered
    assert entered[-1] == "ReleaseLock" and end == "End"


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


def test_a_retryable_failure_waits_and_starts_over_holding_the_lock(definition):
    answers = [trigger_answer("failed", "503", "TRANSIENT"), trigger_answer("completed")]
    entered, end = after_a_trigger_failure(definition, answers, retryable=True, backoff_seconds=5)
    after_failure = entered[entered.index("LogTriggerFailed") :]
    assert after_failure[:5] == [
        "LogTriggerFailed",
        "ShouldRetry",
        "RetryBackoffWait",
        "ResetPollCounter",
        "CheckRunLog",
    ]
    assert entered.count("AcquireLock") == 1 and entered[-1] == "ReleaseLock" and end == "End"


@pytest.mark.parametrize("state", ["CheckRunLog", "ResolvePipeline", "CheckReadiness"])
def test_a_business_error_after_the_lock_releases_it_and_fails(definition, state):
    entered, end = run(definition, {"pipelineID": "p"}, scripted({state: {"result": "error", "payload": {}}}))
    assert entered[-2:] == ["ReleaseLockAfterError", "Failed"] and end == "Fail"


def test_a_busy_lock_is_waited_for_then_taken(definition):
    deferred = {"result": "skip", "payload": {"deferred": True, "waits": 1}}
    entered, end = run(
        definition,
        {"pipelineID": "p"},
        scripted(
            {
                "AcquireLock": [
                    deferred,
                    dict(deferred, payload={"deferred": True, "waits": 2}),
                    {"result": "proceed", "payload": {}},
                ]
            }
        ),
    )
    assert entered[3:10] == [
        "AcquireLock",
        "IsLockAcquired",
        "WaitForLock",
        "AcquireLock",
        "IsLockAcquired",
        "WaitForLock",
        "AcquireLock",
    ]
    baseline, _ = run(definition, {"pipelineID": "p"}, scripted({}))
    assert len(entered) == len(baseline) + 2 * 3 and end == "End"


def test_a_request_refused_after_waiting_ends_failed_without_taking_the_lock(definition):
    entered, end = run(
        definition,
        {"pipelineID": "p"},
        scripted({"AcquireLock": {"result": "skip", "payload": {"refused": True, "waits": 8}}}),
    )
    assert entered == ["InitDefaults", "CheckExclusion", "IsExcluded", "AcquireLock", "IsLockAcquired", "LockBusy"]
    assert end == "Fail" and definition["States"]["LockBusy"]["Error"] == "Interlock.LockBusy"


def test_the_lock_wait_counter_starts_at_zero_and_travels_in_the_answer(definition):
    assert '"acquireLock":{"payload":{"waits":0}}' in definition["States"]["InitDefaults"]["Parameters"]["merged.$"]
    payload = definition["States"]["AcquireLock"]["Parameters"]["payload"]
    assert payload["waits.$"] == "$.acquireLock.payload.waits"
    assert payload["stateMachine.$"] == "$$.StateMachine.Id"
    assert definition["States"]["WaitForLock"]["SecondsPath"] == payload["waitSeconds.$"]
