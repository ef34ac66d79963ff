"""The job-end rules of a stack that may start Glue jobs, deployed on the emulator: a Glue job's terminal state-change
event reaches the job-events function through the stack's rule; events of other jobs, of non-terminal states and of
services the stack may not use reach nothing. The deployed roles of job-events and the run-checker allow what the
emulator's IAM check asks of them. What the function does with the event is tested with its handler."""

import json

import pytest

from emulator import Emulator
from emulator.iam_check import ApiCall, allowed, role_documents

ACCOUNT = "123456789012"
GLUE_JOB = f"arn:aws:glue:us-east-1:{ACCOUNT}:job/orders-load"
STACK = {"projectName": "jobs-emu", "triggerPermissions": {"glue": [GLUE_JOB]}}
GLUE_END = "Glue Job State Change"


@pytest.fixture(scope="module")
def emu():
    with Emulator(STACK) as emulator:
        yield emulator
        assert emulator.unauthorized_calls() == []


def glue_event(job: str, state: str, run_id: str) -> dict:
    return {"jobName": job, "jobRunId": run_id, "state": state, "severity": "INFO", "message": f"Job run {state}"}


def deliveries_of(emu, event: dict) -> list[dict]:
    emu.wait_for_events()
    return [d for d in emu.event_deliveries() if d["event"]["id"] == event["id"]]


def test_only_the_permitted_service_has_a_job_end_rule(emu):
    rules = emu.client("events").list_rules(NamePrefix="jobs-emu-job-ends")["Rules"]
    assert [rule["Name"] for rule in rules] == ["jobs-emu-job-ends-glue"]
    pattern = json.loads(rules[0]["EventPattern"])
    assert pattern["detail"] == {"jobName": ["orders-load"], "state": ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"]}


def test_a_glue_job_end_reaches_job_events(emu):
    function = emu.function_name("job-events")
    invoked = emu.lambda_invocations.get(function, 0)
    event = emu.put_event("aws.glue", GLUE_END, glue_event("orders-load", "SUCCEEDED", "jr_e2e_1"))
    (delivery,) = deliveries_of(emu, event)
    assert delivery["rule"] == "jobs-emu-job-ends-glue"
    assert delivery["arn"] == emu.functions[function]["FunctionArn"]
    assert delivery["input"] == event, "the function receives the whole event"
    assert delivery["attempts"] >= 1 and emu.lambda_invocations[function] > invoked
    assert "AccessDenied" not in (delivery["error"] or ""), "the rule may invoke the function"
    assert delivery["status"] == "DELIVERED", delivery["error"]  # an end nothing waits for is recorded, not an error


@pytest.mark.parametrize(
    "source, detail_type, detail",
    [
        ("aws.glue", GLUE_END, glue_event("someone-elses-job", "FAILED", "jr_other")),
        ("aws.glue", GLUE_END, glue_event("orders-load", "RUNNING", "jr_running")),
        (
            "aws.emr",
            "EMR Step Status Change",
            {"clusterId": "j-ABC123", "stepId": "s-1", "state": "COMPLETED", "name": "orders-load"},
        ),
    ],
    ids=["another job", "not terminal", "a service the stack may not use"],
)
def test_other_events_reach_nothing(emu, source, detail_type, detail):
    assert deliveries_of(emu, emu.put_event(source, detail_type, detail)) == []


def test_the_deployed_roles_may_answer_a_waiting_run_on_this_stacks_machine_only(emu):
    iam = emu.client("iam")
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{emu.table_name}"
    other_machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:someone-elses"
    for kind in ("job-events", "run-checker"):
        name = emu.function_name(kind)
        documents = role_documents(iam, emu.functions[name]["Role"])
        for action in ("states:SendTaskSuccess", "states:SendTaskFailure"):
            assert allowed(documents, ApiCall(name, action, emu.state_machine_arn)), (kind, action)
            assert allowed(documents, ApiCall(name, action, None)), (kind, action)  # as the emulator sees the call
            assert not allowed(documents, ApiCall(name, action, other_machine)), (kind, action)
    name = emu.function_name("job-events")
    documents = role_documents(iam, emu.functions[name]["Role"])
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"):
        assert allowed(documents, ApiCall(name, action, table)), action
    assert not allowed(documents, ApiCall(name, "dynamodb:DeleteItem", table))
    assert not allowed(documents, ApiCall(name, "states:StartExecution", emu.state_machine_arn))
