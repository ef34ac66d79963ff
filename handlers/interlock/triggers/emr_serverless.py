"""`emr-serverless`: StartJobRun (with the execution role and job driver the API requires) and GetJobRun.

Config: `applicationId`, `executionRoleArn`, `jobName` (the run name), and the job driver: either `jobDriver` (the
API's object, e.g. `{"sparkSubmit": {...}}`, templated) or the Spark shorthand `entryPoint` (S3 URI),
`entryPointArguments` (list, templated) and `sparkSubmitParameters` (string). The run ID is the client token, so a
retried trigger returns the job run already started.
"""

from __future__ import annotations

from ..models import FailureCategory
from ..templating import render_value
from . import JobEvents, JobState, RunContext, Started, TriggerError, TriggerSpec, job_metadata, require
from .awscall import ApiCall, call

_FAILED = {"FAILED": FailureCategory.TRANSIENT, "CANCELLED": FailureCategory.PERMANENT}


def _problems(config: dict) -> list[str]:
    if config.get("jobDriver") or config.get("entryPoint"):
        return []
    return ["trigger.jobDriver: set jobDriver or entryPoint"]


SPEC = TriggerSpec(
    required=("applicationId", "executionRoleArn", "jobName"),
    optional=("jobDriver", "entryPoint", "entryPointArguments", "sparkSubmitParameters"),
    idempotent=True,  # the run ID is the client token
    permission="emrServerless",
    check=_problems,
    events=JobEvents(
        "aws.emr-serverless",
        "EMR Serverless Job Run State Change",
        (("emr_sl_application_id", "applicationId"), ("emr_sl_job_run_id", "jobRunId")),
        details=("stateDetails", "message"),
    ),
)


def job_driver(config: dict, run: RunContext) -> dict:
    """The API's jobDriver from `jobDriver` or the `entryPoint` shorthand."""
    driver = config.get("jobDriver")
    if driver is not None:
        if not isinstance(driver, dict) or not driver:
            raise TriggerError(
                "emr-serverless trigger: jobDriver must be an object such as {sparkSubmit: {entryPoint: ...}}"
            )
        return render_value(driver, run.template)
    entry_point = require(config, "entryPoint", "emr-serverless", " (or jobDriver)")
    arguments = config.get("entryPointArguments") or []
    if not isinstance(arguments, list) or any(isinstance(a, (dict, list)) or a is None for a in arguments):
        raise TriggerError("emr-serverless trigger: entryPointArguments must be a list of strings")
    spark: dict = {"entryPoint": entry_point}
    if arguments:
        spark["entryPointArguments"] = [str(a) for a in arguments]
    if config.get("sparkSubmitParameters"):
        spark["sparkSubmitParameters"] = str(config["sparkSubmitParameters"])
    return {"sparkSubmit": render_value(spark, run.template)}


def request(config: dict, run: RunContext) -> ApiCall:
    parameters = {
        "applicationId": config["applicationId"],
        "executionRoleArn": config["executionRoleArn"],
        "name": config["jobName"],
        "jobDriver": job_driver(config, run),
        "clientToken": run.run_id[:64],
    }
    return ApiCall("emr-serverless trigger", "emr-serverless", "start_job_run", parameters)


def start(config: dict, run: RunContext) -> Started:
    response = request(config, run).send()
    return Started(
        "running", {"emr_sl_application_id": config["applicationId"], "emr_sl_job_run_id": response["jobRunId"]}
    )


def status(metadata: dict, config: dict) -> JobState:
    application_id, job_run_id = job_metadata(metadata, "emr-serverless", "emr_sl_application_id", "emr_sl_job_run_id")
    job_run = call(
        "emr-serverless status", "emr-serverless", "get_job_run", applicationId=application_id, jobRunId=job_run_id
    )["jobRun"]
    return job_state(job_run.get("state", ""), job_run.get("stateDetails"))


def job_state(state: str, detail: str | None) -> JobState:
    """A failure whose details mention a timeout is TIMEOUT (the API has no state of its own for it)."""
    timed_out = bool(detail) and "timeout" in detail.lower()
    failures = dict.fromkeys(_FAILED, FailureCategory.TIMEOUT) if timed_out else _FAILED
    return JobState.of(state, "SUCCESS", failures, detail)
