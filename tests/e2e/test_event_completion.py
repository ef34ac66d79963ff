"""Completion by event through the emulator: a Glue-triggered run waits on a task token (AwaitJobCompletion) and is
resumed by the Glue job's state-change event, or, when no event comes, by the wait's timeout asking Glue once.

moto's Glue job runs progress per GetJobRun (its state manager, set per scenario): a run that stays STARTING can
only end by its event. The events reach the job-events function through the stack's EventBridge rule (the program
deploys one for the Glue jobs of triggerPermissions)."""

import datetime

import pytest
from moto.moto_api import state_manager

from emulator import Emulator
from tests.emulated_job_events import armed_job_run

TODAY = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
PIPELINES = ("ev-glue", "ev-lost", "ev-stopped", "ev-never")  # each with its own Glue job (one run at a time each)
# completionCheckInterval 2s: a lost event costs 2 s here; budget pollInterval 1s x 10 -> 6 checks at most
STACK = {
    "completionCheckInterval": "2s",
    "maxPollAttempts": 10,
    "triggerPermissions": {"glue": [f"arn:aws:glue:us-east-1:123456789012:job/{pid}-job" for pid in PIPELINES]},
}
GLUE_EVENT = ("aws.glue", "Glue Job State Change")


@pytest.fixture(scope="module")
def emu(pipelines_dir):
    with Emulator({**STACK, "pipelinesDir": pipelines_dir}) as emulator:
        iam = emulator.client("iam")
        role = iam.create_role(RoleName="glue-job", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        for pid in PIPELINES:
            emulator.client("glue").create_job(
                Name=f"{pid}-job", Role=role, Command={"Name": "glueetl", "ScriptLocation": "s3://code/etl.py"}
            )
        yield emulator
    state_manager.unset_transition("glue::job_run")


def glue_progresses_every(gets: int) -> None:
    """moto's Glue job runs move one state (STARTING -> RUNNING -> SUCCEEDED) every `gets` GetJobRun calls."""
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": gets})


def register(emu, pid):
    traits = {t: {"evaluator": emu.http.evaluator(f"/{pid}/{t}")} for t in TRAITS}
    emu.register_pipeline(
        {
            "name": pid,
            "archetype": "batch-ingestion",
            "traits": traits,
            "trigger": {"type": "glue", "jobName": f"{pid}-job"},
        }
    )


def entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]


def test_a_glue_run_completes_by_its_event(emu):
    glue_progresses_every(10_000)  # the job never ends by itself: only its event can
    register(emu, "ev-glue")
    arn = emu.write_marker("ev-glue", date=TODAY)
    run_id = armed_job_run(emu, "ev-glue-job")
    emu.put_event(*GLUE_EVENT, {"jobName": "ev-glue-job", "jobRunId": run_id, "state": "SUCCEEDED", "message": "done"})
    result = emu.wait_for_execution(arn, timeout_s=60)

    assert result["status"] == "SUCCEEDED"
    states = entered(result)
    assert "AwaitJobCompletion" in states and "CompleteRun" in states
    assert not {"WaitForRun", "PollRunStatus"} & set(states)  # no polling
    assert emu.run_log("ev-glue", TODAY)["status"] == "COMPLETED"
    assert emu.lock("ev-glue") is None


def test_a_lost_event_is_covered_by_the_waits_timeout_and_one_status_call(emu):
    glue_progresses_every(1)  # RUNNING at the first check, SUCCEEDED at the second
    register(emu, "ev-lost")
    result = emu.wait_for_execution(emu.write_marker("ev-lost", date=TODAY), timeout_s=60)

    assert result["status"] == "SUCCEEDED"
    states = entered(result)
    assert states.count("AwaitJobCompletion") == 2 and states.count("CountCompletionCheck") == 1
    assert not {"WaitForRun", "PollRunStatus"} & set(states)
    assert emu.run_log("ev-lost", TODAY)["status"] == "COMPLETED"
    assert emu.lock("ev-lost") is None


def test_a_job_stopped_by_a_person_fails_the_run_through_the_poll_loops_failure_path(emu):
    glue_progresses_every(10_000)
    register(emu, "ev-stopped")
    arn = emu.write_marker("ev-stopped", date=TODAY)
    run_id = armed_job_run(emu, "ev-stopped-job")
    emu.put_event(
        *GLUE_EVENT, {"jobName": "ev-stopped-job", "jobRunId": run_id, "state": "STOPPED", "message": "by alice"}
    )
    result = emu.wait_for_execution(arn, timeout_s=60)

    assert (result["status"], result["error"]) == ("FAILED", "Interlock.RunFailed")
    assert "LogRunFailed" in entered(result)
    log = emu.run_log("ev-stopped", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "PERMANENT")
    assert emu.lock("ev-stopped") is None


def test_a_job_whose_end_never_shows_fails_at_the_bound(emu):
    glue_progresses_every(10_000)
    register(emu, "ev-never")
    result = emu.wait_for_execution(emu.write_marker("ev-never", date=TODAY), timeout_s=90)

    assert (result["status"], result["error"]) == ("FAILED", "Interlock.RunFailed")
    states = entered(result)
    assert states.count("AwaitJobCompletion") == 6  # 1 + pollInterval x maxPollAttempts // completionCheckInterval
    log = emu.run_log("ev-never", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "PERMANENT")
    assert "poll limit reached" in log["failureMessage"]
    assert emu.lock("ev-never") is None
