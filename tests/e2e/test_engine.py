"""The emulator's engine on a small program of Interlock's shape (tests/e2e/sample_program), independent of the
real handlers: deploying through Pulumi mocks, in-process Lambdas, the stream mapping's AWS semantics, Step
Functions execution, schedules, alerts and the scripted HTTP endpoints."""

import json
import os
import time
import urllib.error
import urllib.request
import warnings

import pytest

from emulator import Emulator, EmulatorWarning

SAMPLE = os.path.join(os.path.dirname(__file__), "sample_program")
DATE = "2026-11-28"


@pytest.fixture(scope="module")
def emu():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emulator = Emulator({"projectName": "sample"}, program_dir=SAMPLE)
        emulator.start()
    emulator.deploy_warnings = [str(w.message) for w in caught if issubclass(w.category, EmulatorWarning)]
    yield emulator
    emulator.stop()


def test_deploy_creates_every_resource_with_real_arns_and_warns_about_the_rest(emu):
    types = {r.type for r in emu.deployment.resources}
    assert {
        "aws:dynamodb/table:Table",
        "aws:lambda/function:Function",
        "aws:sfn/stateMachine:StateMachine",
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "aws:scheduler/schedule:Schedule",
    } <= types
    table = emu.client("dynamodb").describe_table(TableName="sample")["Table"]
    assert table["StreamSpecification"]["StreamEnabled"] is True
    assert emu.deployment.of_type("aws:dynamodb/table:Table")[0].outputs["streamArn"] == table["LatestStreamArn"]
    sfn = emu.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=emu.deployment.outputs["stateMachineArn"])
    assert emu.function_name("orchestrator") in machine["definition"]  # the definition was rendered from real ARNs
    assert emu.deployment.skipped == ["aws:ec2/vpc:Vpc (not-emulated)"]
    assert any("aws:ec2/vpc:Vpc" in w for w in emu.deploy_warnings)


def test_marker_runs_the_state_machine_with_handlers_in_process(emu):
    arn = emu.write_marker("engine-happy", date=DATE)
    result = emu.wait_for_execution(arn, timeout_s=30)
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["work"] == {
        "pipelineID": "engine-happy",
        "result": "proceed",
        "function": "sample-orchestrator",
    }
    assert result["state_transitions"] == 3
    assert result["lambda_invocations"] == {"sample-orchestrator": 1}
    assert emu.run_log("engine-happy", DATE) == {"status": "COMPLETED"}
    assert {"pipelineID": "engine-happy", "result": "proceed"}.items() <= emu.alerts("engine-happy")[0].items()
    logs = emu.client("logs").filter_log_events(logGroupName="/aws/lambda/sample-orchestrator")["events"]
    assert any(e["message"] == "working on engine-happy" for e in logs)  # handler output went to its log group


def test_filter_keeps_non_marker_writes_away_from_the_stream_router(emu):
    before = emu.lambda_invocations.get("sample-stream-router", 0)
    emu.client("dynamodb").put_item(TableName="sample", Item={"PK": {"S": "PIPELINE#x"}, "SK": {"S": "CONFIG"}})
    time.sleep(0.5)
    emu.wait_for_streams()
    assert emu.lambda_invocations.get("sample-stream-router", 0) == before


def test_failed_record_is_retried_then_sent_to_the_on_failure_queue(emu):
    before = emu.lambda_invocations.get("sample-stream-router", 0)
    key = emu.store.write_marker("engine-poison", schedule_id="daily", date="omit", source="bad")
    deadline = time.monotonic() + 10
    while not [d for d in emu.dead_letters() if d["records"][0]["dynamodb"]["Keys"]["SK"]["S"] == key]:
        assert time.monotonic() < deadline, "no dead letter"
        time.sleep(0.2)
    letter = next(d for d in emu.dead_letters() if d["records"][0]["dynamodb"]["Keys"]["SK"]["S"] == key)
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert letter["requestContext"]["approximateInvokeCount"] == 3  # MaximumRetryAttempts 2
    assert letter["DDBStreamBatchInfo"]["batchSize"] == 1
    assert emu.lambda_invocations["sample-stream-router"] - before == 3


def test_fire_schedule_calls_the_universal_target(emu):
    arn = emu.fire_schedule("nightly")
    result = emu.wait_for_execution(arn, timeout_s=30)
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["pipelineID"] == "nightly"
    assert "<aws.scheduler" not in result["output"]["markerKey"]


def _call(url, body=None):
    method = "POST" if body is not None else "GET"
    request = urllib.request.Request(url, data=json.dumps(body or {}).encode(), method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_scripted_http_endpoints(emu):
    url = emu.http.evaluator("/engine/fresh", sequence=["FAIL", "PASS"])
    assert _call(url, {"traitType": "t"})[1]["status"] == "FAIL"
    assert _call(url, {"traitType": "t"})[1]["status"] == "PASS"
    assert _call(url, {"traitType": "t"})[1]["status"] == "PASS"  # the last answer repeats
    assert emu.http.requests("/engine/fresh")[0]["body"] == {"traitType": "t"}
    trigger = emu.http.trigger("/engine/go", statuses=[503, 200])
    assert _call(trigger, {})[0] == 503 and _call(trigger, {})[0] == 200
    job = emu.http.job("engine-job", ["running", "failed"])
    status, started = _call(f"{job.url}/api/v1/dags/engine-job/dagRuns", {})
    assert status == 200 and job.runs == [started["dag_run_id"]]
    poll = f"{job.url}/api/v1/dags/engine-job/dagRuns/{started['dag_run_id']}"
    assert [_call(poll)[1]["state"] for _ in range(3)] == ["running", "failed", "failed"]
    assert job.polls == 3
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(emu.http.unreachable_url(), timeout=2)


def test_write_marker_explains_a_rejected_marker(emu):
    with pytest.raises(RuntimeError, match="dead-letter queue"):
        emu.write_marker("engine-rejected", date="omit", timeout_s=3)


def test_calls_the_roles_do_not_allow_are_reported(emu):
    problems = emu.unauthorized_calls()  # the sample's roles have no policies at all
    assert any(p.startswith("sample-stream-router called states:StartExecution on arn:aws:states:") for p in problems)
    assert any("sample-orchestrator called dynamodb:PutItem" in p for p in problems)
