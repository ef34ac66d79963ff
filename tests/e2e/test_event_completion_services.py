"""Completion by event for every job service, through the emulator's scripted jobs (emu.jobs): a pipeline whose
trigger starts a Glue job, an EMR step, an EMR Serverless job run or a Step Functions execution waits on a task token
(AwaitJobCompletion) and is resumed by the job's state-change event, delivered by the stack's EventBridge rule for
that service (deployed because triggerPermissions names the jobs). A failed end fails the run with the category the
run-checker's table maps; a lost event is covered by the completionCheckInterval fallback (one status call); a
duplicated event resumes the execution once. Every job is started once per run."""

import datetime

import pytest

from emulator import Emulator
from emulator.jobs import EMULATOR_ROLE
from tests.emulated_job_events import armed_scripted_run

ACCOUNT = "123456789012"
TODAY = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
SERVICES = ("glue", "emr", "emr-serverless", "step-function")
CASES = ("event", "failed", "lost", "duplicate")
CLUSTER, APPLICATION = "j-EVTSVC0000001", "00evtsvc00000001"  # named in triggerPermissions before they exist
RULES = {
    "glue": "glue",
    "emr": "emr",
    "emr-serverless": "emr-serverless",
    "step-function": "step-functions",
}


def job_name(service: str, case: str) -> str:
    return f"es-{service}-{case}"


STACK = {
    "projectName": "evt-svc",
    "completionCheckInterval": "2s",  # a lost event costs 2 s; budget pollInterval 1s x 10 -> 6 checks at most
    "maxPollAttempts": 10,
    "triggerPermissions": {
        "glue": [f"arn:aws:glue:us-east-1:{ACCOUNT}:job/{job_name('glue', case)}" for case in CASES],
        "emr": [f"arn:aws:elasticmapreduce:us-east-1:{ACCOUNT}:cluster/{CLUSTER}"],
        "emrServerless": [f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/{APPLICATION}", EMULATOR_ROLE],
        "stepFunctions": [
            f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{job_name('step-function', case)}" for case in CASES
        ],
    },
}

# A failed end per service: the state the job ends in, the failure category the type's status table gives it.
FAILED_ENDS = {
    "glue": ("TIMEOUT", "TIMEOUT"),
    "emr": ("CANCELLED", "PERMANENT"),
    "emr-serverless": ("FAILED", "TRANSIENT"),
    "step-function": ("FAILED", "TRANSIENT"),
}
SUCCESS = {"glue": "SUCCEEDED", "emr": "COMPLETED", "emr-serverless": "SUCCESS", "step-function": "SUCCEEDED"}


@pytest.fixture(scope="module")
def emu(pipelines_dir):
    with Emulator({**STACK, "pipelinesDir": pipelines_dir}) as emulator:
        yield emulator
        assert emulator.unauthorized_calls() == []


def declare(emu, service: str, case: str, states: list[str], **options):
    """A scripted job of `service` (one status call moves it one state) and a pipeline of 3 traits it triggers, never
    retried (a failed end ends the run)."""
    name = job_name(service, case)
    if service == "glue":
        job = emu.jobs.glue(name, states, every=None, **options)
    elif service == "emr":
        job = emu.jobs.emr(name, states, every=None, cluster_id=CLUSTER, **options)
    elif service == "emr-serverless":
        job = emu.jobs.emr_serverless(name, states, every=None, application_id=APPLICATION, **options)
    else:
        job = emu.jobs.step_function(name, states, every=None, **options)
    traits = {t: {"evaluator": emu.http.evaluator(f"/{name}/{t}")} for t in TRAITS}
    emu.register_pipeline(
        {
            "name": name,
            "archetype": "batch-ingestion",
            "traits": traits,
            "trigger": job.trigger,
            "retry": {"maxAttempts": 1},
        },
        validate=False,
    )
    return job


def entered(result) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]


def job_event_deliveries(emu, service: str) -> list[dict]:
    emu.wait_for_events()
    return emu.event_deliveries(f"evt-svc-job-ends-{RULES[service]}")


def resumes(emu, since) -> int:
    return (emu.server.counter.snapshot() - since)[("stepfunctions", "SendTaskSuccess")]


@pytest.mark.parametrize("service", SERVICES)
def test_a_run_completes_by_its_jobs_event_through_the_deployed_rule(emu, service):
    job = declare(emu, service, "event", ["RUNNING"])
    before = emu.server.counter.snapshot()
    arn = emu.write_marker(job.name, date=TODAY)
    run = armed_scripted_run(emu, job)
    job.finish(SUCCESS[service], run=run)  # the job runs until now: only its event can end the wait
    result = emu.wait_for_execution(arn, timeout_s=60)

    assert result["status"] == "SUCCEEDED", result["error"]
    states = entered(result)
    assert states.count("AwaitJobCompletion") == 1 and "CountCompletionCheck" not in states
    assert not {"WaitForRun", "PollRunStatus"} & set(states)  # no polling
    assert emu.run_log(job.name, TODAY)["status"] == "COMPLETED"
    assert emu.lock(job.name) is None
    assert len(job.runs) == 1  # one job start
    assert run.status_calls == 1  # the check made when the wait was armed, no more
    [delivery] = [d for d in job_event_deliveries(emu, service) if d["event"] in job.events]
    assert delivery["status"] == "DELIVERED", delivery["error"]
    assert delivery["arn"] == emu.functions[emu.function_name("job-events")]["FunctionArn"]
    assert resumes(emu, before) == 1  # the job-events function resumed the execution


@pytest.mark.parametrize("service", SERVICES)
def test_a_failed_end_fails_the_run_with_the_mapped_category(emu, service):
    state, category = FAILED_ENDS[service]
    job = declare(emu, service, "failed", ["RUNNING"])
    arn = emu.write_marker(job.name, date=TODAY)
    run = armed_scripted_run(emu, job)
    job.finish(state, run=run, message=f"{service} job ended {state} as scripted")
    result = emu.wait_for_execution(arn, timeout_s=60)

    assert (result["status"], result["error"]) == ("FAILED", "Interlock.RunFailed")
    states = entered(result)
    assert states.count("AwaitJobCompletion") == 1 and "LogRunFailed" in states
    assert not {"WaitForRun", "PollRunStatus", "CompleteRun"} & set(states)
    log = emu.run_log(job.name, TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", category)
    assert len(job.runs) == 1
    assert emu.lock(job.name) is None


@pytest.mark.parametrize("service", SERVICES)
def test_a_lost_event_completes_through_the_completion_check(emu, service):
    job = declare(emu, service, "lost", ["RUNNING", SUCCESS[service]], lost=True)
    arn = emu.write_marker(job.name, date=TODAY)
    result = emu.wait_for_execution(arn, timeout_s=60)

    assert result["status"] == "SUCCEEDED", result["error"]
    states = entered(result)
    # armed: RUNNING; no event within completionCheckInterval; re-armed: its one status call finds the end
    assert states.count("AwaitJobCompletion") == 2 and states.count("CountCompletionCheck") == 1
    assert not {"WaitForRun", "PollRunStatus"} & set(states)
    assert emu.run_log(job.name, TODAY)["status"] == "COMPLETED"
    [run] = job.runs
    assert run.status_calls == 2 and run.states[-1] == SUCCESS[service]
    assert job.events == [] and job.lost_events  # nothing reached the rule
    assert emu.lock(job.name) is None


@pytest.mark.parametrize("service", SERVICES)
def test_a_duplicated_event_resumes_the_run_once(emu, service):
    job = declare(emu, service, "duplicate", ["RUNNING"], duplicates=1)
    before = emu.server.counter.snapshot()
    arn = emu.write_marker(job.name, date=TODAY)
    run = armed_scripted_run(emu, job)
    job.finish(SUCCESS[service], run=run)
    result = emu.wait_for_execution(arn, timeout_s=60)

    assert result["status"] == "SUCCEEDED", result["error"]
    ends = [d for d in job_event_deliveries(emu, service) if d["event"] in job.events]
    assert len(ends) == 2 and ends[0]["event"] == ends[1]["event"]  # the same event twice
    assert all(d["status"] == "DELIVERED" for d in ends), [d["error"] for d in ends]
    assert resumes(emu, before) == 1  # the second copy found the outcome recorded
    states = entered(result)
    assert states.count("AwaitJobCompletion") == 1 and states.count("CompleteRun") == 1
    log = emu.run_log(job.name, TODAY)
    assert (log["status"], log["attemptNumber"]) == ("COMPLETED", 1)
    assert len(emu.executions(job.name)) == 1 and len(job.runs) == 1
