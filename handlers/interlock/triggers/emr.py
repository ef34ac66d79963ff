"""`emr`: AddJobFlowSteps on a running cluster and DescribeStep.

Config: `clusterId`, `jobName` (the step name), `jar` (default `command-runner.jar`), `args` (list, order kept,
templated), `arguments` (map appended after `args` as `key=value`, sorted by key so the step is deterministic),
`actionOnFailure` (default CONTINUE).
"""

from __future__ import annotations

from ..models import FailureCategory
from ..templating import render_value
from . import JobEvents, JobState, RunContext, Started, TriggerError, TriggerSpec, choice, job_metadata, string_map
from .awscall import ApiCall, call

_FAILED = {
    "FAILED": FailureCategory.TRANSIENT,
    "CANCELLED": FailureCategory.PERMANENT,
    "INTERRUPTED": FailureCategory.TRANSIENT,
}
_ACTIONS = ("CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW")  # the first is the default

SPEC = TriggerSpec(
    required=("clusterId", "jobName"),
    optional=("jar", "args", "arguments", "actionOnFailure"),
    permission="emr",
    # the original system named the JAR `command`; it is `jar` here (and `command` is a refused trigger type)
    refused={"command": "set the step's JAR with jar (default command-runner.jar)"},
    events=JobEvents("aws.emr", "EMR Step Status Change", (("emr_cluster_id", "clusterId"), ("emr_step_id", "stepId"))),
)


def step_args(config: dict, run: RunContext) -> list[str]:
    """The step's argument list: `args` in order, then `arguments` as sorted `key=value` pairs, all templated."""
    args = config.get("args") or []
    if not isinstance(args, list) or any(isinstance(a, (dict, list)) or a is None for a in args):
        raise TriggerError("emr trigger: args must be a list of strings")
    arguments = string_map(config, "arguments", "emr")
    pairs = [f"{key}={arguments[key]}" for key in sorted(arguments)]
    return [render_value(str(a), run.template) for a in args] + [render_value(p, run.template) for p in pairs]


def request(config: dict, run: RunContext) -> ApiCall:
    step = {
        "Name": config["jobName"],
        "ActionOnFailure": choice(config, "actionOnFailure", "emr", _ACTIONS),
        "HadoopJarStep": {"Jar": str(config.get("jar") or "command-runner.jar"), "Args": step_args(config, run)},
    }
    return ApiCall("emr trigger", "emr", "add_job_flow_steps", {"JobFlowId": config["clusterId"], "Steps": [step]})


def start(config: dict, run: RunContext) -> Started:
    step_ids = request(config, run).send().get("StepIds") or []
    if not step_ids:
        raise TriggerError("emr trigger: AddJobFlowSteps returned no step ID", FailureCategory.TRANSIENT)
    return Started("running", {"emr_cluster_id": config["clusterId"], "emr_step_id": step_ids[0]})


def status(metadata: dict, config: dict) -> JobState:
    cluster_id, step_id = job_metadata(metadata, "emr", "emr_cluster_id", "emr_step_id")
    step = call("emr status", "emr", "describe_step", ClusterId=cluster_id, StepId=step_id)["Step"]
    step_status = step.get("Status", {})
    return job_state(step_status.get("State", ""), step_status.get("StateChangeReason", {}).get("Message"))


def job_state(state: str, detail: str | None) -> JobState:
    return JobState.of(state, "COMPLETED", _FAILED, detail)
