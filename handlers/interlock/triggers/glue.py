"""`glue`: StartJobRun and GetJobRun.

Config: `jobName` (required), `arguments` (map passed as the run's Arguments, values templated; Glue expects keys
such as `--day`).
"""

from __future__ import annotations

from ..models import FailureCategory
from ..templating import render_value
from . import JobEvents, JobState, RunContext, Started, TriggerSpec, job_metadata, string_map
from .awscall import ApiCall, call

_FAILED = {
    "FAILED": FailureCategory.TRANSIENT,
    "ERROR": FailureCategory.TRANSIENT,
    "TIMEOUT": FailureCategory.TIMEOUT,
    "STOPPED": FailureCategory.PERMANENT,
    "EXPIRED": FailureCategory.PERMANENT,
}

SPEC = TriggerSpec(
    required=("jobName",),
    optional=("arguments",),
    permission="glue",
    events=JobEvents(
        "aws.glue", "Glue Job State Change", (("glue_job_name", "jobName"), ("glue_job_run_id", "jobRunId"))
    ),
)


def request(config: dict, run: RunContext) -> ApiCall:
    parameters = {"JobName": config["jobName"]}
    arguments = string_map(config, "arguments", "glue")
    if arguments:
        parameters["Arguments"] = render_value(arguments, run.template)
    return ApiCall("glue trigger", "glue", "start_job_run", parameters)


def start(config: dict, run: RunContext) -> Started:
    response = request(config, run).send()
    return Started("running", {"glue_job_name": config["jobName"], "glue_job_run_id": response["JobRunId"]})


def status(metadata: dict, config: dict) -> JobState:
    job_name, run_id = job_metadata(metadata, "glue", "glue_job_name", "glue_job_run_id")
    job_run = call("glue status", "glue", "get_job_run", JobName=job_name, RunId=run_id)["JobRun"]
    return job_state(job_run.get("JobRunState", ""), job_run.get("ErrorMessage"))


def job_state(state: str, detail: str | None) -> JobState:
    return JobState.of(state, "SUCCEEDED", _FAILED, detail)
