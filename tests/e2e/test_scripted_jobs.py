"""Scripted AWS jobs (emu.jobs): Glue, EMR, EMR Serverless and Step Functions jobs whose state follows a script as
boto3's status calls see it, and whose state changes arrive on EventBridge in the services' real event shape, matched
by rules scoped to a stack's jobs; lost, late and duplicated events; `finish` at a chosen moment; a pipeline run
whose trigger starts a scripted job through the deployed handlers."""

import datetime
import json
import time

import pytest

from emulator import Emulator
from emulator.jobs import EMULATOR_ROLE

TODAY = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
ENVELOPE = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
TERMINAL = {
    "glue": ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"],
    "emr": ["COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"],
    "emr-serverless": ["SUCCESS", "FAILED", "CANCELLED"],
    "step-function": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
}


CLUSTER, APPLICATION = "j-SJPIPE0000001", "00sjpipe00000001"  # declared before the jobs exist, as a stack would
STACK = {
    "triggerPermissions": {
        "glue": ["arn:aws:glue:us-east-1:123456789012:job/sj-pipe-glue"],
        "emr": [f"arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/{CLUSTER}"],
        "emrServerless": [f"arn:aws:emr-serverless:us-east-1:123456789012:/applications/{APPLICATION}", EMULATOR_ROLE],
        "stepFunctions": ["arn:aws:states:us-east-1:123456789012:stateMachine:sj-pipe-sfn"],
    }
}


@pytest.fixture(scope="module")
def emu():
    with Emulator(STACK) as emulator:
        yield emulator
        # the pipeline scenarios' handlers started and polled the scripted jobs within the stack's permissions
        assert emulator.unauthorized_calls() == []


def watch(emu, job, field, *, terminal_only=True):
    """A test rule on the default bus with the pattern a stack's job-events rule uses (the service's source and
    detail-type, the job's identity, its terminal states), delivering to an SQS queue; returns the rule's name."""
    service = job.service
    detail = {field: [job.trigger.get(field) or job.name]}
    status = "status" if service.trigger_type == "step-function" else "state"
    if terminal_only:
        detail[status] = TERMINAL[service.trigger_type]
    rule = f"test-{job.name}"
    pattern = {"source": [service.source], "detail-type": [service.detail_type], "detail": detail}
    events, sqs = emu.client("events"), emu.client("sqs")
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    url = sqs.create_queue(QueueName=rule)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": arn}])
    return rule


def delivered(emu, rule):
    emu.wait_for_events()
    return [d["event"] for d in emu.event_deliveries(rule) if d["status"] == "DELIVERED"]


def states_of(events):
    return [e["detail"].get("state") or e["detail"].get("status") for e in events]


def assert_envelope(event, source, detail_type):
    assert tuple(event) == ENVELOPE
    assert (event["version"], event["source"], event["detail-type"]) == ("0", source, detail_type)
    assert (event["account"], event["region"]) == ("123456789012", "us-east-1")
    assert event["time"].endswith("Z") and len(event["time"]) == 20
    assert isinstance(event["resources"], list)


def start_emr_serverless(emu, job):
    """StartJobRun as the emr-serverless trigger sends it; returns the job run's ID and a GetJobRun call."""
    client, application = emu.client("emr-serverless"), job.trigger["applicationId"]
    run_id = client.start_job_run(
        applicationId=application,
        executionRoleArn=job.trigger["executionRoleArn"],
        name=job.name,
        jobDriver={"sparkSubmit": {"entryPoint": job.trigger["entryPoint"]}},
        clientToken=f"{job.name}-1",
    )["jobRunId"]
    return run_id, lambda: client.get_job_run(applicationId=application, jobRunId=run_id)["jobRun"]


def wait_until(predicate, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# -- each service, progressing per status call ----------------------------------------------------------------------
def test_glue_job_run_follows_its_script_per_get_job_run_and_announces_its_end(emu):
    job = emu.jobs.glue("sj-glue", ["RUNNING", "RUNNING", "SUCCEEDED"], every=None)
    rule = watch(emu, job, "jobName")
    glue = emu.client("glue")
    run_id = glue.start_job_run(JobName="sj-glue")["JobRunId"]
    seen = [glue.get_job_run(JobName="sj-glue", RunId=run_id)["JobRun"]["JobRunState"] for _ in range(4)]
    assert seen == ["RUNNING", "RUNNING", "SUCCEEDED", "SUCCEEDED"]
    [event] = delivered(emu, rule)
    assert_envelope(event, "aws.glue", "Glue Job State Change")
    assert event["detail"] == {
        "jobName": "sj-glue",
        "jobRunId": run_id,
        "severity": "INFO",
        "state": "SUCCEEDED",
        "message": "Job run succeeded",
    }
    assert job.events == [event] and job.runs[0].states == ["RUNNING", "SUCCEEDED"]
    assert job.runs[0].status_calls == 4


def test_emr_step_follows_its_script_per_describe_step_and_announces_every_state(emu):
    job = emu.jobs.emr("sj-emr", ["PENDING", "RUNNING", "FAILED"], every=None)
    rule = watch(emu, job, "clusterId", terminal_only=False)
    emr = emu.client("emr")
    step = {"Name": "sj-emr", "ActionOnFailure": "CONTINUE", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": []}}
    [step_id] = emr.add_job_flow_steps(JobFlowId=job.trigger["clusterId"], Steps=[step])["StepIds"]
    seen = [
        emr.describe_step(ClusterId=job.trigger["clusterId"], StepId=step_id)["Step"]["Status"]["State"]
        for _ in range(3)
    ]
    assert seen == ["PENDING", "RUNNING", "FAILED"]
    events = delivered(emu, rule)
    assert states_of(events) == ["PENDING", "RUNNING", "FAILED"]
    for event in events:
        assert_envelope(event, "aws.emr", "EMR Step Status Change")
    failed = events[-1]["detail"]
    assert {k: failed[k] for k in ("clusterId", "stepId", "name", "actionOnFailure", "severity")} == {
        "clusterId": job.trigger["clusterId"],
        "stepId": step_id,
        "name": "sj-emr",
        "actionOnFailure": "CONTINUE",
        "severity": "ERROR",
    }
    assert failed["message"].startswith(f"Step {step_id} (sj-emr) in Amazon EMR cluster {job.trigger['clusterId']}")


def test_emr_serverless_job_run_follows_its_script_and_announces_every_change(emu):
    job = emu.jobs.emr_serverless("sj-emr-sl", ["SUBMITTED", "RUNNING", "SUCCESS"], every=None)
    rule = watch(emu, job, "applicationId", terminal_only=False)
    run_id, get = start_emr_serverless(emu, job)
    seen = [get()["state"] for _ in range(3)]
    assert seen == ["SUBMITTED", "RUNNING", "SUCCESS"]
    events = delivered(emu, rule)
    assert states_of(events) == ["SUBMITTED", "RUNNING", "SUCCESS"]
    assert [e["detail"].get("previousState") for e in events] == [None, "SUBMITTED", "RUNNING"]
    for event in events:
        assert_envelope(event, "aws.emr-serverless", "EMR Serverless Job Run State Change")
        assert (event["detail"]["applicationId"], event["detail"]["jobRunId"]) == (job.trigger["applicationId"], run_id)
        assert event["detail"]["jobRunName"] == "sj-emr-sl"


def test_step_functions_execution_follows_its_script_and_ends_through_moto(emu):
    job = emu.jobs.step_function("sj-sfn", ["RUNNING", "RUNNING", "FAILED"], every=None)
    rule = watch(emu, job, "stateMachineArn", terminal_only=False)
    sfn = emu.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=job.trigger["stateMachineArn"], name="run-1", input="{}")["executionArn"]
    seen = [sfn.describe_execution(executionArn=arn)["status"] for _ in range(3)]
    assert seen == ["RUNNING", "RUNNING", "FAILED"]
    described = sfn.describe_execution(executionArn=arn)
    assert (described["error"], described["cause"]) == ("Scripted.Failed", "failed as scripted")
    history = [e["type"] for e in emu.history(arn)]
    assert history[-1] == "ExecutionFailed"  # moto's interpreter ended it
    events = delivered(emu, rule)
    assert states_of(events) == ["RUNNING", "FAILED"]
    for event in events:
        assert_envelope(event, "aws.states", "Step Functions Execution Status Change")
        assert event["resources"] == [arn] and event["detail"]["executionArn"] == arn


# -- progression by time, finish --------------------------------------------------------------------------------------
def test_a_timed_script_progresses_without_status_calls(emu):
    job = emu.jobs.glue("sj-timed", ["RUNNING", "RUNNING", "FAILED"], every=0.3)
    rule = watch(emu, job, "jobName")
    started = time.monotonic()
    emu.client("glue").start_job_run(JobName="sj-timed")
    wait_until(lambda: job.events)
    assert time.monotonic() - started >= 0.6
    [event] = delivered(emu, rule)
    assert (event["detail"]["state"], event["detail"]["severity"]) == ("FAILED", "ERROR")
    assert job.runs[0].status_calls == 0


def test_finish_ends_a_run_now_whatever_its_script(emu):
    job = emu.jobs.emr_serverless("sj-finish", ["RUNNING"], every=None)
    rule = watch(emu, job, "applicationId")
    _, get = start_emr_serverless(emu, job)
    assert [get()["state"] for _ in range(3)] == ["RUNNING"] * 3
    assert delivered(emu, rule) == []
    job.finish("FAILED", message="Job run timed out after 5 minutes")
    answer = get()
    assert (answer["state"], answer["stateDetails"]) == ("FAILED", "Job run timed out after 5 minutes")
    [event] = delivered(emu, rule)
    assert event["detail"]["state"] == "FAILED" and event["detail"]["previousState"] == "RUNNING"
    with pytest.raises(ValueError):
        job.finish("SUCCESS")  # already ended
    with pytest.raises(ValueError):
        job.finish("RUNNING", run=job.runs[0])  # not a terminal state


def test_finish_a_step_functions_job_succeeds_its_execution_with_an_output(emu):
    job = emu.jobs.step_function("sj-sfn-finish", ["RUNNING"], every=None)
    sfn = emu.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=job.trigger["stateMachineArn"], input="{}")["executionArn"]
    wait_until(lambda: job.runs)
    job.finish("SUCCEEDED", output={"rows": 42})
    described = sfn.describe_execution(executionArn=arn)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"rows": 42})


def test_a_failure_message_shows_in_the_status_answer_and_in_the_event(emu):
    job = emu.jobs.glue("sj-message", ["RUNNING", "FAILED"], every=None, message="OutOfMemoryError: Java heap space")
    rule = watch(emu, job, "jobName")
    glue = emu.client("glue")
    run_id = glue.start_job_run(JobName="sj-message")["JobRunId"]
    assert "ErrorMessage" not in glue.get_job_run(JobName="sj-message", RunId=run_id)["JobRun"]
    answer = glue.get_job_run(JobName="sj-message", RunId=run_id)["JobRun"]
    assert (answer["JobRunState"], answer["ErrorMessage"]) == ("FAILED", "OutOfMemoryError: Java heap space")
    [event] = delivered(emu, rule)
    assert event["detail"]["message"] == "Job run failed: OutOfMemoryError: Java heap space"


def test_a_run_cancelled_through_the_api_is_announced_and_stays_cancelled(emu):
    job = emu.jobs.emr_serverless("sj-cancel", ["RUNNING", "SUCCESS"], every=None)
    rule = watch(emu, job, "applicationId")
    run_id, get = start_emr_serverless(emu, job)
    emu.client("emr-serverless").cancel_job_run(applicationId=job.trigger["applicationId"], jobRunId=run_id)
    assert [get()["state"] for _ in range(3)] == ["CANCELLED"] * 3
    assert states_of(delivered(emu, rule)) == ["CANCELLED"]
    assert job.runs[0].states == ["RUNNING", "CANCELLED"]


# -- delivery options ---------------------------------------------------------------------------------------------
def test_a_lost_event_leaves_the_state_progressing_and_nothing_on_the_bus(emu):
    job = emu.jobs.glue("sj-lost", ["RUNNING", "SUCCEEDED"], every=None, lost=True)
    rule = watch(emu, job, "jobName")
    glue = emu.client("glue")
    run_id = glue.start_job_run(JobName="sj-lost")["JobRunId"]
    assert [glue.get_job_run(JobName="sj-lost", RunId=run_id)["JobRun"]["JobRunState"] for _ in range(2)] == [
        "RUNNING",
        "SUCCEEDED",
    ]
    assert delivered(emu, rule) == [] and job.events == []
    assert states_of(job.lost_events) == ["SUCCEEDED"]


def test_losing_only_some_states(emu):
    job = emu.jobs.emr("sj-lose-some", ["PENDING", "RUNNING", "COMPLETED"], every=None, lost={"RUNNING"})
    rule = watch(emu, job, "clusterId", terminal_only=False)
    emr = emu.client("emr")
    step = {"Name": "sj-lose-some", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": []}}
    [step_id] = emr.add_job_flow_steps(JobFlowId=job.trigger["clusterId"], Steps=[step])["StepIds"]
    for _ in range(3):
        emr.describe_step(ClusterId=job.trigger["clusterId"], StepId=step_id)
    assert states_of(delivered(emu, rule)) == ["PENDING", "COMPLETED"]
    assert states_of(job.lost_events) == ["RUNNING"]


def test_a_duplicated_event_arrives_twice_with_the_same_id(emu):
    job = emu.jobs.step_function("sj-dup", ["SUCCEEDED"], every=None, duplicates=1)
    rule = watch(emu, job, "stateMachineArn")
    emu.client("stepfunctions").start_execution(stateMachineArn=job.trigger["stateMachineArn"], input="{}")
    wait_until(lambda: len(delivered(emu, rule)) == 2)
    first, second = delivered(emu, rule)
    assert first == second and first["detail"]["status"] == "SUCCEEDED"


def test_a_delayed_event_arrives_after_the_state_changed(emu):
    job = emu.jobs.glue("sj-late", ["SUCCEEDED"], every=None, delay_s=2.0)
    rule = watch(emu, job, "jobName")
    glue = emu.client("glue")
    before = time.monotonic()
    run_id = glue.start_job_run(JobName="sj-late")["JobRunId"]
    assert glue.get_job_run(JobName="sj-late", RunId=run_id)["JobRun"]["JobRunState"] == "SUCCEEDED"
    assert delivered(emu, rule) == []
    wait_until(lambda: delivered(emu, rule))
    assert time.monotonic() - before >= 2.0
    assert delivered(emu, rule)[0]["detail"]["jobRunId"] == run_id


def test_a_script_is_checked_against_the_services_states(emu):
    with pytest.raises(ValueError):
        emu.jobs.glue("sj-bad", ["RUNNING", "COMPLETED"])  # an EMR state
    with pytest.raises(ValueError):
        emu.jobs.emr("sj-bad", ["FAILED", "RUNNING"])  # a terminal state before the end
    with pytest.raises(TypeError):
        emu.jobs.step_function("sj-bad", ["SUCCEEDED"], delay=1)  # not an option
    assert not [m for m in emu.client("stepfunctions").list_state_machines()["stateMachines"] if m["name"] == "sj-bad"]


# -- through the deployed handlers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "declare",
    [
        lambda emu: emu.jobs.glue("sj-pipe-glue", ["RUNNING", "RUNNING", "SUCCEEDED"]),
        lambda emu: emu.jobs.emr("sj-pipe-emr", ["RUNNING", "COMPLETED"], cluster_id=CLUSTER),
        lambda emu: emu.jobs.emr_serverless(
            "sj-pipe-emr-sl", ["SCHEDULED", "RUNNING", "SUCCESS"], application_id=APPLICATION
        ),
        lambda emu: emu.jobs.step_function("sj-pipe-sfn", ["RUNNING", "SUCCEEDED"]),
    ],
    ids=["glue", "emr", "emr-serverless", "step-function"],
)
def test_a_pipeline_trigger_starts_the_scripted_job_and_completes_when_it_ends(emu, declare):
    job = declare(emu)
    traits = {t: {"evaluator": emu.http.evaluator(f"/{job.name}/{t}")} for t in TRAITS}
    emu.register_pipeline(
        {"name": job.name, "archetype": "batch-ingestion", "traits": traits, "trigger": job.trigger}, validate=False
    )
    result = emu.wait_for_execution(emu.write_marker(job.name, date=TODAY), timeout_s=90)
    assert result["status"] == "SUCCEEDED"
    assert emu.run_log(job.name, TODAY)["status"] == "COMPLETED"
    [run] = job.runs
    assert run.states[-1] == job.script[-1]
    history = json.dumps(result["history"], default=str)
    assert all(value in history for value in run.identity.values())  # the trigger recorded this run's identity
    assert states_of(job.events)[-1] == job.script[-1]  # the service announced the end
