"""The rendered state machine: valid for statelint, fully rendered, structurally sound (DESIGN §10.0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from components import asl
from components.stack_settings import load_settings

ARNS = {
    "OrchestratorFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:team-a-orchestrator",
    "TriggerFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:team-a-trigger",
    "RunCheckerFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:team-a-run-checker",
    "AlertTopicArn": "arn:aws:sns:us-east-1:123456789012:team-a-alerts",
}
LOCK_RELEASES = {
    "ReleaseLock",
    "ReleaseLockAfterError",
    "ReleaseLockAfterRunFailed",
    "ReleaseLockAfterValidationTimeout",
}
# Choices whose `done` route follows a call that released the lock itself.
RELEASED_BY_THE_CALL = {"IsMonitored": "Completed", "IsMonitoringOver": "Completed"}
STATELINT = os.path.join(os.path.dirname(sys.executable), "statelint")


@pytest.fixture(scope="module")
def settings():
    return load_settings(
        {
            "projectName": "team-a",
            "pollInterval": "7s",
            "maxPollAttempts": 9,
            "evaluationInterval": "11s",
            "evaluationWindow": "13m",
            "monitoringInterval": "17s",
            "executionTimeout": "2h",
        }
    )


@pytest.fixture(scope="module")
def rendered_text(settings) -> str:
    return asl.render(asl.load_template(), ARNS, asl.knob_values(settings))


@pytest.fixture(scope="module")
def definition(rendered_text) -> dict:
    return json.loads(rendered_text)


def walk(states: dict, scope: str = ""):
    """(name, state, scope) for every state, nested Map bodies included."""
    for name, state in states.items():
        yield name, state, scope
        body = state.get("ItemProcessor") or state.get("Iterator")
        if body:
            yield from walk(body["States"], name)
        for branch in state.get("Branches", []):
            yield from walk(branch["States"], name)


def scopes(definition: dict):
    """(StartAt, States) of the machine and of every nested body."""
    yield definition["StartAt"], definition["States"]
    for _name, state, _scope in walk(definition["States"]):
        body = state.get("ItemProcessor") or state.get("Iterator")
        if body:
            yield body["StartAt"], body["States"]


def successors(state: dict) -> set[str]:
    found = {state[key] for key in ("Next", "Default") if key in state}
    found |= {choice["Next"] for choice in state.get("Choices", [])}
    found |= {catch["Next"] for catch in state.get("Catch", [])}
    return found


def test_statelint_accepts_the_rendered_definition(rendered_text, tmp_path):
    path = tmp_path / "pipeline.asl.json"
    path.write_text(rendered_text)
    result = subprocess.run([STATELINT, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_would_catch_a_broken_definition(definition, tmp_path):
    broken = json.loads(json.dumps(definition))
    broken["States"]["PrepareRun"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    assert subprocess.run([STATELINT, str(path)], capture_output=True).returncode != 0


def test_nothing_left_unrendered_and_context_paths_intact(rendered_text):
    template = asl.load_template()
    assert "${" not in rendered_text
    assert rendered_text.count("$$.") == template.count("$$.") > 0
    for arn in ARNS.values():
        assert arn in rendered_text


def test_integer_placeholders_become_numbers(definition, settings):
    assert definition["TimeoutSeconds"] == settings.execution_timeout_seconds == 7200
    merge = definition["States"]["PrepareRun"]["Parameters"]["payload"]["stack.$"]
    assert (
        '{"pollIntervalSeconds":7,"maxPollAttempts":9,"completionCheckIntervalSeconds":63,"maxCompletionChecks":2,'
        '"evaluationIntervalSeconds":11,'
        '"evaluationWindowSeconds":780,"monitoringIntervalSeconds":17,"lockLeaseSeconds":7500}'
    ) in merge


def test_state_names_are_unique_across_nested_bodies(definition):
    names = [name for name, _state, _scope in walk(definition["States"])]
    assert len(names) == len(set(names))


def test_tasks_and_maps_retry_and_catch_except_the_lock_releases(definition):
    for name, state, scope in walk(definition["States"]):
        if state["Type"] not in ("Task", "Map") or name in LOCK_RELEASES:
            continue
        assert state.get("Retry"), f"{name} has no Retry"
        if scope:
            # a Task inside a Map body is caught by its Map (DESIGN §10.1)
            assert definition["States"][scope].get("Catch"), f"{name}: its Map {scope} has no Catch"
        else:
            assert state.get("Catch"), f"{name} has no Catch"
    for name in LOCK_RELEASES:
        assert "Catch" not in definition["States"][name]


def test_every_wait_reads_its_seconds_from_the_state(definition):
    waits = [(name, state) for name, state, _scope in walk(definition["States"]) if state["Type"] == "Wait"]
    assert len(waits) >= 4
    for name, state in waits:
        assert set(state) & {"Seconds", "Timestamp", "TimestampPath"} == set(), name
        assert state["SecondsPath"].startswith("$."), name


def test_transitions_reach_existing_states_and_every_state_is_reachable(definition):
    for start, states in scopes(definition):
        for name, state in states.items():
            assert successors(state) <= set(states), f"{name} -> {successors(state) - set(states)}"
        reached, frontier = {start}, [start]
        while frontier:
            for target in successors(states[frontier.pop()]) - reached:
                reached.add(target)
                frontier.append(target)
        assert reached == set(states), f"unreachable: {set(states) - reached}"


def test_the_lock_is_released_on_every_path_after_acquiring_it(definition):
    """Every terminal reachable once PrepareRun answered with the lock held goes through a lock release first, or
    through a call that released it itself (completeRun and checkMonitoring answer `done` only after releasing;
    tests/handlers/test_lifecycle_actions.py holds them to it)."""
    states = definition["States"]

    def ends_without_release(name: str, seen: set[str]) -> bool:
        if name in LOCK_RELEASES or name in seen:
            return False
        seen.add(name)
        state = states[name]
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            return True
        targets = successors(state)
        if name == "IsRunDue":  # a retry comes back holding the lock: prepareRun then answers with lockHeld
            targets = {c["Next"] for c in held}
        if name in RELEASED_BY_THE_CALL:
            targets = {t for t in targets if t != RELEASED_BY_THE_CALL[name]}
        return any(ends_without_release(target, seen) for target in targets)

    for name, target in RELEASED_BY_THE_CALL.items():
        [done] = [c for c in states[name]["Choices"] if c["Next"] == target]
        assert done["StringEquals"] == "done", name
    assert {n for n, s in states.items() if s["Type"] == "Succeed"} == {"Completed", "Skipped"}
    held = [c for c in states["IsRunDue"]["Choices"] if "And" in c or c["StringEquals"] in ("evaluate", "adopt")]
    assert {c["Next"] for c in held} == {"CheckEvaluation", "TriggerPipeline", "ReleaseLock", "ReleaseLockAfterError"}
    assert states["RetryBackoffWait"]["Next"] == "PrepareRun"
    for start in ("CheckEvaluation", "TriggerPipeline"):
        assert not ends_without_release(start, set()), start


def test_failed_runs_end_in_fail_states_naming_the_cause(definition):
    """DESIGN §10.0 result semantics: a run that failed for good ends the execution FAILED with a named Error."""
    states = definition["States"]
    assert states["ShouldRetry"]["Default"] == "ReleaseLockAfterRunFailed"
    assert states["ReleaseLockAfterRunFailed"]["Next"] == "RunFailed"
    [timed_out] = [c for c in states["IsReady"]["Choices"] if c["StringEquals"] == "timedOut"]
    assert timed_out["Next"] == "ReleaseLockAfterValidationTimeout"
    assert states["ReleaseLockAfterValidationTimeout"]["Next"] == "ValidationTimedOut"
    errors = {name: s["Error"] for name, s in states.items() if s["Type"] == "Fail"}
    assert errors == {
        "Failed": "Interlock.LifecycleFailed",
        "RunFailed": "Interlock.RunFailed",
        "ValidationTimedOut": "Interlock.ValidationTimeout",
        "LockBusy": "Interlock.LockBusy",
    }


def test_the_error_path_records_the_failure_before_releasing_the_lock(definition):
    states = definition["States"]
    assert states["AlertError"]["Next"] == "LogExecutionError"
    assert {c["Next"] for c in states["AlertError"]["Catch"]} == {"LogExecutionError"}
    log = states["LogExecutionError"]
    assert (log["Parameters"]["action"], log["Next"]) == ("logResult", "ReleaseLockAfterError")
    assert log["Parameters"]["payload"]["afterError"] is True
    assert log["Parameters"]["payload"]["owner.$"] == "$$.Execution.Name"
    assert {c["Next"] for c in log["Catch"]} == {"ReleaseLockAfterError"}


def test_an_open_claim_is_adopted_through_the_trigger(definition):
    states = definition["States"]
    [adopt] = [c for c in states["IsRunDue"]["Choices"] if c.get("StringEquals") == "adopt"]
    assert (adopt["Variable"], adopt["Next"]) == ("$.prepare.result", "TriggerPipeline")
    trigger = states["TriggerPipeline"]["Parameters"]
    assert (trigger["attempt.$"], trigger["execution.$"]) == (
        "$.checkRunLog.payload.attemptNumber",
        "$$.Execution.Name",
    )


def test_render_refuses_unknown_or_missing_values(settings):
    integers = asl.knob_values(settings)
    with pytest.raises(asl.RenderError):
        asl.render(asl.load_template(), {k: v for k, v in ARNS.items() if k != "AlertTopicArn"}, integers)
    with pytest.raises(asl.RenderError):
        asl.render(asl.load_template() + "${Surprise}", ARNS, integers)
    with pytest.raises(asl.RenderError):
        asl.render(asl.load_template(), ARNS, {**integers, "ExecutionTimeoutSeconds": "7"})


def test_the_program_deploys_exactly_this_rendering(default_run):
    (machine,) = default_run.of_type("aws:sfn/stateMachine:StateMachine")
    settings = load_settings({"projectName": "team-a"})
    expected = asl.render(asl.load_template(), ARNS, asl.knob_values(settings))
    assert machine.inputs["definition"] == expected


def test_every_orchestrator_request_names_the_execution(definition):
    calls = [
        state
        for _name, state, _scope in walk(definition["States"])
        if state.get("Resource") == ARNS["OrchestratorFunctionArn"]
    ]
    assert {state["Parameters"]["action"] for state in calls} == {
        "prepareRun",
        "checkEvaluation",
        "completeRun",
        "checkMonitoring",
        "logResult",
        "releaseLock",
    }
    for state in calls:
        assert state["Parameters"]["execution.$"] == "$$.Execution.Name"
