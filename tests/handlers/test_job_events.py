"""Completion by event: the run-checker's `await` request arms a wait on a task token, the job-events function
resumes it from a job service's event, exactly once, whichever comes first. Executions waiting on real task tokens
run in moto's Step Functions interpreter (a Task `sqs:sendMessage.waitForTaskToken` hands the token to a queue)."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from moto.core.config import default_user_config

from handlers import job_events, run_checker, trigger
from handlers.interlock import clients, store
from handlers.interlock.triggers import JobState, TriggerError, completion_of, event_types, module_for
from outbound_aws import glue_job, pending_run, role_arn, trigger_event

SFN_JOB = "arn:aws:states:us-east-1:123456789012:execution:downstream:interlock-run-1"
# type: the source and detail-type of the service's state-change events
EVENTS = {
    "glue": ("aws.glue", "Glue Job State Change"),
    "emr": ("aws.emr", "EMR Step Status Change"),
    "emr-serverless": ("aws.emr-serverless", "EMR Serverless Job Run State Change"),
    "step-function": ("aws.states", "Step Functions Execution Status Change"),
}
# type: each key of the started job's metadata, with the event detail field that holds the same value, and the value
JOBS = {
    "glue": {"glue_job_name": ("jobName", "nightly-etl"), "glue_job_run_id": ("jobRunId", "jr_1")},
    "emr": {"emr_cluster_id": ("clusterId", "j-1"), "emr_step_id": ("stepId", "s-1")},
    "emr-serverless": {"emr_sl_application_id": ("applicationId", "00app"), "emr_sl_job_run_id": ("jobRunId", "00run")},
    "step-function": {"sfn_execution_arn": ("executionArn", SFN_JOB)},
}
# detail fields an event carries besides the job's identity and its state
MORE_DETAIL = {"step-function": {"stateMachineArn": SFN_JOB.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]}}
STATE_FIELD = {"step-function": "status"}
# type: each end state of its events, with the failure category it means (None: the job succeeded)
ENDS = {
    "glue": {"SUCCEEDED": None, "FAILED": "TRANSIENT", "TIMEOUT": "TIMEOUT", "STOPPED": "PERMANENT"},
    "emr": {"COMPLETED": None, "FAILED": "TRANSIENT", "CANCELLED": "PERMANENT", "INTERRUPTED": "TRANSIENT"},
    "emr-serverless": {"SUCCESS": None, "FAILED": "TRANSIENT", "CANCELLED": "PERMANENT"},
    "step-function": {"SUCCEEDED": None, "FAILED": "TRANSIENT", "TIMED_OUT": "TIMEOUT", "ABORTED": "PERMANENT"},
}
TERMINAL = [
    (trigger_type, state, "failed" if category else "succeeded", category)
    for trigger_type, ends in ENDS.items()
    for state, category in ends.items()
]


def job_metadata(trigger_type: str) -> dict:
    """The metadata the trigger reported for the started job."""
    return {key: value for key, (_field, value) in JOBS[trigger_type].items()}


def job_event(trigger_type: str, state: str, **detail) -> dict:
    source, detail_type = EVENTS[trigger_type]
    identity = {**dict(JOBS[trigger_type].values()), **MORE_DETAIL.get(trigger_type, {})}
    return {
        "version": "0",
        "source": source,
        "detail-type": detail_type,
        "detail": {**identity, STATE_FIELD.get(trigger_type, "state"): state, **detail},
    }


class Sfn:
    """Executions that wait on a task token (moto's interpreter), and every SendTaskSuccess the code sends."""

    def __init__(self, monkeypatch):
        monkeypatch.setitem(default_user_config["stepfunctions"], "execute_state_machine", True)
        self.sent: list[tuple[str, dict]] = []
        self._sqs = boto3.client("sqs")
        self._queue = self._sqs.create_queue(QueueName="task-tokens")["QueueUrl"]
        self._client = boto3.client("stepfunctions")
        definition = {
            "StartAt": "Await",
            "States": {
                "Await": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": self._queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "TimeoutSeconds": 60,
                    "End": True,
                }
            },
        }
        self._machine = self._client.create_state_machine(
            name="awaits", definition=json.dumps(definition), roleArn=role_arn("awaits-role")
        )["stateMachineArn"]
        real = clients.client
        sent = self.sent

        class Recording:
            def __init__(self, client):
                self._real = client

            def __getattr__(self, name):
                return getattr(self._real, name)

            def send_task_success(self, taskToken, output):
                sent.append((taskToken, json.loads(output)))
                return self._real.send_task_success(taskToken=taskToken, output=output)

        monkeypatch.setattr(
            clients, "client", lambda service: Recording(real(service)) if service == "stepfunctions" else real(service)
        )

    def wait(self) -> tuple[str, str]:
        """Start an execution that waits; its (ARN, task token)."""
        arn = self._client.start_execution(stateMachineArn=self._machine)["executionArn"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for message in self._sqs.receive_message(QueueUrl=self._queue).get("Messages", []):
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])
                return arn, json.loads(message["Body"])["token"]
            time.sleep(0.05)
        raise TimeoutError("no task token")

    def output(self, arn: str, grace: float = 5) -> dict | None:
        """The execution's output once it ended (None while it still waits after `grace` seconds)."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            described = self._client.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return json.loads(described.get("output") or "null")
            time.sleep(0.05)
        return None


@pytest.fixture
def sfn(aws_env):
    with pytest.MonkeyPatch.context() as patch:  # undone before aws_env resets the client cache
        yield Sfn(patch)


@pytest.fixture
def job(monkeypatch):
    """The job services' status answers, scripted per type: `job.states[type] = [JobState, ...]` (last one repeats);
    `job.calls` counts status calls."""

    class Script:
        def __init__(self):
            self.states = {t: [JobState("running", "RUNNING")] for t in EVENTS}
            self.calls = 0

        def status_of(self, trigger_type):
            def status(metadata, config):
                self.calls += 1
                states = self.states[trigger_type]
                return states.pop(0) if len(states) > 1 else states[0]

            return status

    script = Script()
    for trigger_type in EVENTS:
        monkeypatch.setattr(module_for(trigger_type), "status", script.status_of(trigger_type))
    return script


def arm(trigger_type: str, token: str, attempt: int = 0, max_attempts: int = 9, metadata: dict | None = None):
    return run_checker.handler(
        {
            "request": "await",
            "pipelineID": "sales",
            "runID": "run-1",
            "triggerType": trigger_type,
            "metadata": job_metadata(trigger_type) if metadata is None else metadata,
            "attempt": attempt,
            "maxAttempts": max_attempts,
            "taskToken": token,
            "execution": "exec-1",
        },
        None,
    )


def deliver(event: dict) -> str:
    return job_events.handler(event, None)["result"]


# --- each service, each terminal state ---------------------------------------------------------------------------


@pytest.mark.parametrize(("trigger_type", "state", "outcome", "category"), TERMINAL)
def test_an_end_event_resumes_the_waiting_execution_with_the_poll_answer(
    sfn, job, trigger_type, state, outcome, category
):
    arn, token = sfn.wait()
    assert arm(trigger_type, token) == {"armed": "waiting"}
    assert sfn.output(arn, grace=0.3) is None  # still waiting: no event yet

    assert deliver(job_event(trigger_type, state)) == "resumed"
    assert sfn.output(arn) == {"state": outcome, "message": state, "failureCategory": category, "attempt": 1}
    assert sfn.sent == [(token, sfn.output(arn))]


def test_a_failure_event_carries_the_services_explanation(sfn, job):
    arn, token = sfn.wait()
    arm("glue", token)
    deliver(job_event("glue", "FAILED", message="Command failed with exit code 1"))
    assert sfn.output(arn)["message"] == "FAILED: Command failed with exit code 1"


def test_the_event_state_is_mapped_by_the_same_table_as_the_status_call():
    for (source, detail_type), trigger_type in event_types().items():
        assert EVENTS[trigger_type] == (source, detail_type)
    assert set(event_types().values()) == set(EVENTS) == set(JOBS)


@pytest.mark.parametrize("trigger_type", ["emr", "emr-serverless", "step-function"])
def test_a_progress_event_is_ignored(sfn, job, trigger_type):
    arn, token = sfn.wait()
    arm(trigger_type, token)
    assert deliver(job_event(trigger_type, "RUNNING")) == "ignored: not an end"
    assert sfn.output(arn, grace=0.3) is None and sfn.sent == []


# --- exactly once ------------------------------------------------------------------------------------------------


def test_a_duplicate_event_is_a_no_op(sfn, job):
    arn, token = sfn.wait()
    arm("glue", token)
    assert deliver(job_event("glue", "SUCCEEDED")) == "resumed"
    assert deliver(job_event("glue", "SUCCEEDED")) == "duplicate"
    assert deliver(job_event("glue", "FAILED")) == "duplicate"
    assert len(sfn.sent) == 1 and sfn.output(arn)["state"] == "succeeded"


def test_the_arm_finds_the_job_ended_and_resumes_itself_then_the_late_event_is_a_no_op(sfn, job):
    job.states["emr"] = [JobState("succeeded", "COMPLETED")]
    arn, token = sfn.wait()
    assert arm("emr", token) == {"armed": "resumed"}
    assert sfn.output(arn) == {"state": "succeeded", "message": "COMPLETED", "failureCategory": None, "attempt": 1}
    assert deliver(job_event("emr", "COMPLETED")) == "duplicate"
    assert len(sfn.sent) == 1


def test_event_before_the_token_is_recorded_and_the_arm_resumes_without_asking_the_service(sfn, job):
    assert deliver(job_event("emr-serverless", "FAILED")) == "recorded"
    arn, token = sfn.wait()
    assert arm("emr-serverless", token, attempt=2) == {"armed": "resumed"}
    assert job.calls == 0
    assert sfn.output(arn) == {"state": "failed", "message": "FAILED", "failureCategory": "TRANSIENT", "attempt": 3}


def test_token_before_the_event_the_event_resumes(sfn, job):
    arn, token = sfn.wait()
    arm("step-function", token)
    assert job.calls == 1
    assert deliver(job_event("step-function", "SUCCEEDED")) == "resumed"
    assert sfn.output(arn)["state"] == "succeeded"


def test_an_event_for_a_job_we_did_not_start_resumes_nothing(sfn, job):
    assert deliver(job_event("glue", "SUCCEEDED", jobRunId="jr_someone_elses")) == "recorded"
    assert deliver({"source": "aws.glue", "detail-type": "Glue Job Run Status", "detail": {}}) == (
        "ignored: not a job state change"
    )
    assert deliver({"source": "aws.glue", "detail-type": "Glue Job State Change", "detail": {"state": "FAILED"}}) == (
        "ignored: no job identity"
    )
    assert deliver({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}) == (
        "ignored: not a job state change"
    )
    assert sfn.sent == []


def test_a_token_that_no_longer_waits_is_a_logged_no_op(sfn, job):
    arm("glue", "the-token-of-a-wait-that-timed-out")  # or of an execution that ended since
    assert deliver(job_event("glue", "SUCCEEDED")) == "stale token"
    assert deliver(job_event("glue", "SUCCEEDED")) == "duplicate"


def test_a_re_armed_wait_is_resumed_not_the_one_that_timed_out(sfn, job):
    arm("glue", "the-token-of-the-wait-that-timed-out")  # the state machine arms again with a new token
    arn, token = sfn.wait()
    assert arm("glue", token, attempt=1) == {"armed": "waiting"}
    assert deliver(job_event("glue", "SUCCEEDED")) == "resumed"
    assert sfn.sent == [(token, {"state": "succeeded", "message": "SUCCEEDED", "failureCategory": None, "attempt": 2})]
    assert sfn.output(arn)["attempt"] == 2


def test_the_wait_and_the_outcome_share_one_item_keyed_by_the_job_run(sfn, job):
    _arn, token = sfn.wait()
    arm("glue", token)
    deliver(job_event("glue", "SUCCEEDED"))
    item = boto3.client("dynamodb").get_item(
        TableName="interlock-test", Key={"PK": {"S": "JOBRUN#glue#nightly-etl#jr_1"}, "SK": {"S": "AWAIT"}}
    )["Item"]
    assert store.plain_item(item).keys() >= {"taskToken", "execution", "runID", "attempt", "outcome", "expiresAt"}


# --- the wait's bound and its fallbacks ----------------------------------------------------------------------------


def test_the_last_check_that_finds_the_job_running_fails_it_as_the_poll_limit_does(sfn, job):
    arn, token = sfn.wait()
    assert arm("glue", token, attempt=8, max_attempts=9) == {"armed": "resumed"}
    out = sfn.output(arn)
    assert (out["state"], out["failureCategory"], out["attempt"]) == ("failed", "PERMANENT", 9)
    assert out["message"].startswith("poll limit reached")
    assert deliver(job_event("glue", "SUCCEEDED")) == "duplicate"  # the run has moved on


def test_a_transient_status_error_keeps_waiting(sfn, job, monkeypatch):
    def throttled(metadata, config):
        raise TriggerError("glue status: GetJobRun failed: Throttling", "TRANSIENT")

    monkeypatch.setattr(module_for("glue"), "status", throttled)
    _arn, token = sfn.wait()
    assert arm("glue", token) == {"armed": "waiting"}
    assert deliver(job_event("glue", "SUCCEEDED")) == "resumed"


def test_a_job_without_its_identity_resumes_with_the_poll_answer(sfn):
    arn, token = sfn.wait()
    assert arm("glue", token, metadata={"glue_job_name": "nightly-etl"}) == {"armed": "resumed"}
    out = sfn.output(arn)
    assert (out["state"], out["failureCategory"]) == ("failed", "PERMANENT")
    assert "missing glue metadata" in out["message"]


def test_a_real_glue_run_that_already_succeeded_resumes_at_once(sfn, monkeypatch):
    run_id = boto3.client("glue").start_job_run(JobName=glue_job())["JobRunId"]
    arn, token = sfn.wait()
    metadata = {"glue_job_name": "nightly-etl", "glue_job_run_id": run_id}
    assert arm("glue", token, metadata=metadata) in ({"armed": "resumed"}, {"armed": "waiting"})
    if sfn.output(arn, grace=1) is None:  # moto's run still RUNNING at the first check: its event ends it
        deliver(job_event("glue", "SUCCEEDED", jobRunId=run_id))
    assert sfn.output(arn)["state"] == "succeeded"


# --- at most one SendTaskSuccess per token, in any order -----------------------------------------------------------

STEPS = st.lists(st.sampled_from(["arm", "event", "rearm", "duplicate"]), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_each_token_is_resumed_at_most_once_and_the_last_wait_once_the_job_ended(aws_env, steps):
    sent: list[str] = []
    real = clients.client

    class Recorder:
        def send_task_success(self, taskToken, output):
            sent.append(taskToken)

    run = f"jr_{'-'.join(steps)}_{time.monotonic_ns()}"
    metadata = {"glue_job_name": "etl", "glue_job_run_id": run}
    tokens: list[str] = []
    ended = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clients, "client", lambda service: Recorder() if service == "stepfunctions" else real(service))
        patch.setattr(module_for("glue"), "status", lambda metadata, config: JobState("running", "RUNNING"))
        for step in steps:
            if step in ("arm", "rearm"):
                tokens.append(f"token-{len(tokens)}")
                arm("glue", tokens[-1], attempt=len(tokens) - 1, metadata=metadata)
            else:
                deliver(job_event("glue", "SUCCEEDED", jobName="etl", jobRunId=run))
                ended = True
    assert len(sent) == len(set(sent))  # never twice the same token
    if ended and tokens:
        assert tokens[-1] in sent  # the wait in place when both the token and the end are known is resumed
    else:
        assert sent == []


# --- the trigger's answer says how the run completes -----------------------------------------------------------------


def test_a_started_or_adopted_job_of_an_event_type_is_awaited_by_event(aws_env):
    pending_run()
    config = {"type": "glue", "jobName": glue_job()}
    started = trigger.handler(trigger_event(config), None)
    assert (started["status"], started["completion"]) == ("running", "event")
    # an adopting execution's TriggerPipeline reports the job the run already has, with the same completion
    adopted = trigger.handler({**trigger_event(config), "execution": "adopter"}, None)
    assert (adopted["status"], adopted["metadata"], adopted["completion"]) == ("running", started["metadata"], "event")


@pytest.mark.parametrize(
    ("trigger_type", "completion"),
    [
        *[(name, "event") for name in ("glue", "emr", "emr-serverless", "step-function")],
        *[(name, "poll") for name in ("airflow", "databricks", "http", "lambda", "nope")],
    ],
)
def test_only_types_whose_service_emits_events_complete_by_event(trigger_type, completion):
    assert completion_of(trigger_type) == completion
