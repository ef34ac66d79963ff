"""`step-function`: StartExecution named after the run, and DescribeExecution.

Config: `stateMachineArn`, and the execution input: `body` (a JSON object, or a string holding one) or else
`arguments` (map); templated. The execution name is derived from the run ID, so a retried trigger cannot start a
second execution: Step Functions refuses the duplicate name and the existing execution is reported instead.
"""

from __future__ import annotations

import json
import re

from .. import clients
from ..models import FailureCategory
from ..templating import render_value
from . import JobEvents, JobState, RunContext, Started, TriggerError, TriggerSpec, job_metadata, json_body, string_map
from .awscall import ApiCall, aws_errors, call

SPEC = TriggerSpec(
    required=("stateMachineArn",),
    optional=("body", "arguments"),
    idempotent=True,  # the execution is named after the run
    permission="stepFunctions",
    events=JobEvents(
        "aws.states",
        "Step Functions Execution Status Change",
        (("sfn_execution_arn", "executionArn"),),
        state="status",
        details=("error", "cause"),
    ),
)
_FAILED = {
    "FAILED": FailureCategory.TRANSIENT,
    "TIMED_OUT": FailureCategory.TIMEOUT,
    "ABORTED": FailureCategory.PERMANENT,
}
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def execution_name(run_id: str) -> str:
    """A valid execution name (≤ 80 chars of [A-Za-z0-9_-]) derived from the run ID."""
    return _NAME_UNSAFE.sub("_", f"interlock-{run_id}")[:80]


def _input(config: dict, run: RunContext) -> str:
    body = json_body(config, "step-function")
    data = body if body is not None else string_map(config, "arguments", "step-function")
    return json.dumps(render_value(data, run.template))


def _execution_arn(state_machine_arn: str, name: str) -> str:
    parts = state_machine_arn.split(":")
    if len(parts) < 7 or parts[5] != "stateMachine":
        raise TriggerError(f"step-function trigger: {state_machine_arn!r} is not a state machine ARN")
    return ":".join([*parts[:5], "execution", parts[6], name])


def request(config: dict, run: RunContext) -> ApiCall:
    parameters = {
        "stateMachineArn": config["stateMachineArn"],
        "name": execution_name(run.run_id),
        "input": _input(config, run),
    }
    return ApiCall("step-function trigger", "stepfunctions", "start_execution", parameters)


def start(config: dict, run: RunContext) -> Started:
    from botocore.exceptions import ClientError

    parameters = request(config, run).parameters
    with aws_errors("step-function trigger: StartExecution failed"):
        try:
            arn = clients.client("stepfunctions").start_execution(**parameters)["executionArn"]
        except ClientError as exc:
            if clients.error_code(exc) != "ExecutionAlreadyExists":
                raise
            arn = _execution_arn(parameters["stateMachineArn"], parameters["name"])  # this run already started it
    return Started("running", {"sfn_execution_arn": arn})


def status(metadata: dict, config: dict) -> JobState:
    (arn,) = job_metadata(metadata, "step-function", "sfn_execution_arn")
    execution = call("step-function status", "stepfunctions", "describe_execution", executionArn=arn)
    return job_state(execution.get("status", ""), execution.get("error") or execution.get("cause"))


def job_state(state: str, detail: str | None) -> JobState:
    return JobState.of(state, "SUCCEEDED", _FAILED, detail)
