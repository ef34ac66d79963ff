"""`glue`: StartJobRun and GetJobRun.

Config: `jobName` (required), `arguments` (map passed as the run's Arguments, values templated; Glue expects keys
such as `--day`).
"""
from __future__ import annotations

from .. import clients
from ..templating import render_value
from . import PERMANENT, TIMEOUT, TRANSIENT, JobState, RunContext, Started, TriggerSpec, string_map
from .awscall import aws_errors

_FAILED = {"FAILED": TRANSIENT, "ERROR": TRANSIENT, "TIMEOUT": TIMEOUT, "STOPPED": PERMANENT, "EXPIRED": PERMANENT}

SPEC = TriggerSpec(required=("jobName",), optional=("arguments",), permission="glue")


def start(config: dict, run: RunContext) -> Started:
    job_name = config["jobName"]
    request = {"JobName": job_name}
    arguments = string_map(config, "arguments", "glue")
    if arguments:
        request["Arguments"] = render_value(arguments, run.template)
    with aws_errors("glue trigger: StartJobRun failed"):
        response = clients.client("glue").start_job_run(**request)
    return Started("running", {"glue_job_name": job_name, "glue_job_run_id": response["JobRunId"]})


def status(metadata: dict, config: dict) -> JobState:
    job_name, run_id = metadata.get("glue_job_name"), metadata.get("glue_job_run_id")
    if not (job_name and run_id):
        return JobState("failed", "missing glue metadata (glue_job_name, glue_job_run_id)", PERMANENT)
    with aws_errors("glue status: GetJobRun failed"):
        job_run = clients.client("glue").get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
    return JobState.of(job_run.get("JobRunState", ""), "SUCCEEDED", _FAILED, job_run.get("ErrorMessage"))
