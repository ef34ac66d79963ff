"""The emulator's EventBridge delivery, Step Functions status-change events and fault injection, on the sample
program (tests/e2e/sample_program): its rules on the machine's status changes and on Glue job events deliver to a
watcher function that keeps what it receives."""

import json
import os

import pytest

from emulator import Emulator

SAMPLE = os.path.join(os.path.dirname(__file__), "sample_program")
DATE = "2026-11-28"
STATUS_CHANGE = "Step Functions Execution Status Change"


@pytest.fixture(scope="module")
def emu():
    with Emulator({"projectName": "sample"}, program_dir=SAMPLE) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def no_faults_left(emu):
    yield
    emu.faults.clear()


def _of(emu, rule, arn):
    emu.wait_for_events()
    return [d for d in emu.event_deliveries(f"sample-{rule}") if arn in json.dumps(d["event"])]


def _ended(emu, arn):
    return emu.wait_for_execution(arn, timeout_s=30)


# -- Step Functions status changes --------------------------------------------------------------------------------
def test_a_succeeded_execution_delivers_its_start_and_its_end(emu):
    arn = emu.write_marker("ev-ok", date=DATE)
    assert _ended(emu, arn)["status"] == "SUCCEEDED"
    [end] = _of(emu, "finished-runs", arn)
    event, detail = end["event"], end["event"]["detail"]
    assert (end["status"], end["attempts"], end["input"]) == ("DELIVERED", 1, event)
    assert {k: event[k] for k in ("version", "source", "detail-type", "account", "region", "resources")} == {
        "version": "0",
        "source": "aws.states",
        "detail-type": STATUS_CHANGE,
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [arn],
    }
    assert event["time"].endswith("Z") and len(event["time"]) == 20
    assert detail["executionArn"] == arn and detail["stateMachineArn"] == emu.state_machine_arn
    assert detail["name"] == arn.rsplit(":", 1)[1] and detail["status"] == "SUCCEEDED"
    assert isinstance(detail["startDate"], int) and detail["stopDate"] >= detail["startDate"]
    assert json.loads(detail["input"])["pipelineID"] == "ev-ok"
    assert json.loads(detail["output"])["work"]["result"] == "proceed"
    assert [d["input"] for d in _of(emu, "started-runs", arn)] == [{"started": arn}]  # the input transformer
    assert _of(emu, "glue-failures", arn) == []
    kept = [e for e in emu.store.received_events() if e.get("detail", {}).get("executionArn") == arn]
    assert [e["detail"]["status"] for e in kept] == ["SUCCEEDED"]  # the watcher really received it


def test_a_failed_execution_delivers_failed_with_its_error(emu):
    with emu.faults.raise_in("orchestrator", error="Sandbox.Timedout", matching=lambda e: e["pipelineID"] == "ev-x"):
        arn = emu.write_marker("ev-x", date=DATE)
        result = _ended(emu, arn)
    assert (result["status"], result["error"]) == ("FAILED", "Sandbox.Timedout")
    [end] = _of(emu, "finished-runs", arn)
    detail = end["event"]["detail"]
    assert (detail["status"], detail["error"], detail["output"]) == ("FAILED", "Sandbox.Timedout", None)
    assert len(_of(emu, "started-runs", arn)) == 1


def test_stop_execution_delivers_aborted(emu):
    arn = emu.write_marker("slow-stop", date=DATE)
    sfn = emu.client("stepfunctions")
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped in the console")
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"  # at once, while its Lambda still runs
    assert _ended(emu, arn)["status"] == "ABORTED"
    assert [d["event"]["detail"]["status"] for d in _of(emu, "finished-runs", arn)] == ["ABORTED"]


def test_time_out_execution_ends_it_timed_out_and_delivers_it(emu):
    arn = emu.write_marker("slow-timeout", date=DATE)
    emu.time_out_execution(arn)
    assert emu.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "TIMED_OUT"
    result = _ended(emu, arn)
    assert result["status"] == "TIMED_OUT"
    [end] = _of(emu, "finished-runs", arn)
    assert end["event"]["detail"]["status"] == "TIMED_OUT" and end["event"]["detail"]["stopDate"]
    with pytest.raises(ValueError, match="not RUNNING"):
        emu.time_out_execution(arn)


def test_a_disabled_rule_delivers_nothing_until_enabled(emu):
    events = emu.client("events")
    arn = emu.write_marker("ev-paused", date=DATE)
    _ended(emu, arn)
    assert _of(emu, "paused", arn) == [] and len(_of(emu, "finished-runs", arn)) == 1
    events.enable_rule(Name="sample-paused")
    try:
        arn = emu.write_marker("ev-unpaused", date=DATE)
        _ended(emu, arn)
        assert [d["input"] for d in _of(emu, "paused", arn)] == [{"from": "paused"}]  # the target's Input constant
    finally:
        events.disable_rule(Name="sample-paused")


# -- events put by tests and handlers -------------------------------------------------------------------------------
def test_put_event_goes_to_the_matching_rules_only(emu):
    failed = emu.put_event(
        "aws.glue",
        "Glue Job State Change",
        {"jobName": "orders", "jobRunId": "jr_1", "state": "FAILED", "message": "boom"},
    )
    emu.put_event("aws.glue", "Glue Job State Change", {"jobName": "orders", "jobRunId": "jr_2", "state": "SUCCEEDED"})
    emu.put_event("aws.emr", "Glue Job State Change", {"jobName": "orders", "jobRunId": "jr_3", "state": "FAILED"})
    emu.wait_for_events()
    glue = [d for d in emu.event_deliveries("sample-glue-failures") if d["input"]["jobRunId"] in ("jr_1", "jr_2")]
    assert [(d["event"]["id"], d["input"], d["status"]) for d in glue] == [
        (failed["id"], failed["detail"], "DELIVERED")
    ]  # InputPath $.detail
    sqs = emu.client("sqs")
    url = sqs.get_queue_url(QueueName="sample-glue-events")["QueueUrl"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["detail"]["jobRunId"] for m in received) == ["jr_1", "jr_2"]  # an SQS target
    assert {
        "jobName": "orders",
        "jobRunId": "jr_1",
        "state": "FAILED",
        "message": "boom",
    } in emu.store.received_events()


def test_put_events_through_the_api_is_delivered_too(emu):
    response = emu.client("events").put_events(
        Entries=[
            {
                "Source": "aws.glue",
                "DetailType": "Glue Job State Change",
                "Detail": json.dumps({"jobName": "api", "jobRunId": "jr_api", "state": "FAILED"}),
            }
        ]
    )
    assert response["FailedEntryCount"] == 0  # moto alone answers 500 for a rule with a Lambda target
    emu.wait_for_events()
    [delivery] = [d for d in emu.event_deliveries("sample-glue-failures") if d["input"]["jobRunId"] == "jr_api"]
    assert delivery["status"] == "DELIVERED" and delivery["event"]["time"].endswith("Z")


def test_a_function_that_does_not_allow_eventbridge_is_not_invoked(emu):
    before = emu.lambda_invocations.get("sample-orchestrator", 0)
    emu.put_event("sample.unpermitted", "Anything", {"n": 1})
    emu.wait_for_events()
    [delivery] = emu.event_deliveries("sample-unpermitted")
    assert delivery["status"] == "FAILED" and delivery["error"].startswith("AccessDenied")
    assert emu.lambda_invocations.get("sample-orchestrator", 0) == before


def test_a_failing_target_is_retried_twice_then_given_up(emu):
    with emu.faults.raise_in("watcher", times=None, matching=lambda e: e.get("jobRunId") == "jr_crash") as fault:
        emu.put_event(
            "aws.glue", "Glue Job State Change", {"jobName": "orders", "jobRunId": "jr_crash", "state": "FAILED"}
        )
        emu.wait_for_events()
    [delivery] = [d for d in emu.event_deliveries("sample-glue-failures") if d["input"]["jobRunId"] == "jr_crash"]
    assert (delivery["status"], delivery["attempts"], fault.fired) == ("FAILED", 3, 3)
    assert json.loads(delivery["error"])["errorType"] == "RuntimeError"


# -- faults ---------------------------------------------------------------------------------------------------------
def test_a_call_failing_twice_is_retried_by_the_state_machine_then_succeeds(emu):
    fault = emu.faults.fail(
        "dynamodb",
        "PutItem",
        times=2,
        code="ProvisionedThroughputExceededException",
        function="orchestrator",
        matching=lambda p: p["Item"]["PK"]["S"] == "PIPELINE#f-retry",
    )
    before = emu.lambda_invocations["sample-orchestrator"]
    result = _ended(emu, emu.write_marker("f-retry", date=DATE))
    assert result["status"] == "SUCCEEDED"
    assert emu.lambda_invocations["sample-orchestrator"] - before == 3
    assert fault.fired == 2 and fault not in emu.faults.active()
    fired = [f for f in emu.faults.fired() if f["kind"] == "call" and f["operation"] == "PutItem"]
    assert [(f["function"], f["service"], f["code"]) for f in fired[-2:]] == [
        ("sample-orchestrator", "dynamodb", "ProvisionedThroughputExceededException")
    ] * 2
    assert emu.run_log("f-retry", DATE) == {"status": "COMPLETED"}


def test_a_call_failing_more_often_than_retried_fails_the_execution_with_the_modelled_error(emu):
    emu.faults.fail(
        "dynamodb",
        "put_item",
        times=None,
        code="ProvisionedThroughputExceededException",
        function="sample-orchestrator",
    )
    result = _ended(emu, emu.write_marker("f-always", date=DATE))
    # the modelled exception class reached the handler (a plain ClientError would be named ClientError)
    assert (result["status"], result["error"]) == ("FAILED", "ProvisionedThroughputExceededException")
    assert emu.run_log("f-always", DATE) is None
    assert emu.store.get_run_log("f-always", DATE) is None  # the emulator's own calls are never faulted


def test_a_fault_on_any_function_meets_the_stream_router_whose_batch_is_retried(emu):
    fault = emu.faults.fail("states", "StartExecution", code="ThrottlingException")
    arn = emu.write_marker("f-router", date=DATE)
    assert fault.fired == 1 and emu.faults.fired()[-1]["function"] == "sample-stream-router"
    assert _ended(emu, arn)["status"] == "SUCCEEDED"


def test_raise_after_the_handler_ran_keeps_its_side_effects(emu):
    emu.faults.raise_in("orchestrator", after=True, error=TimeoutError("took too long"))
    result = _ended(emu, emu.write_marker("f-after", date=DATE))
    assert (result["status"], result["error"]) == ("FAILED", "TimeoutError")
    assert emu.run_log("f-after", DATE) == {"status": "COMPLETED"}
    assert emu.faults.fired()[-1] == {
        **emu.faults.fired()[-1],
        "kind": "raise",
        "function": "sample-orchestrator",
        "error": "TimeoutError",
    }


def test_clear_removes_every_fault(emu):
    emu.faults.raise_in("orchestrator", times=None)
    emu.faults.fail("dynamodb", "PutItem", times=None)
    assert len(emu.faults.active()) == 2
    emu.faults.clear()
    assert emu.faults.active() == []
    assert _ended(emu, emu.write_marker("f-cleared", date=DATE))["status"] == "SUCCEEDED"


def test_a_fault_names_a_deployed_function(emu):
    with pytest.raises(LookupError):
        emu.faults.raise_in("no-such-function")
    with pytest.raises(ValueError):
        emu.faults.fail("dynamodb", "PutItem", times=0)
