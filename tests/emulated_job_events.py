"""Jobs completed by event on the emulator: the job run an execution waits for (a Glue job's, a scripted job's)."""

import time


def armed_job_run(emu, job: str, timeout_s: float = 30) -> str:
    """The run ID of the Glue job `job`'s run that an execution waits for, once its wait is armed (its task token
    stored on the job run's item)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = emu.client("dynamodb").scan(
            TableName=emu.table_name,
            FilterExpression="begins_with(PK, :job) AND attribute_exists(taskToken)",
            ExpressionAttributeValues={":job": {"S": emu.store.job_run_pk("glue", (job, ""))}},
            ConsistentRead=True,
        )["Items"]
        if items:
            return items[0]["PK"]["S"].rsplit("#", 1)[-1]
        time.sleep(0.1)
    raise TimeoutError(f"no execution armed a wait for a run of {job}")


def armed_scripted_run(emu, job, timeout_s: float = 30):
    """The run of the scripted job `job` (emu.jobs) that an execution waits for, once its wait is armed: arming
    stores the task token, then asks the service once, so the run's first status call says the token is stored (no
    table read, which a bench would count)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for run in list(job.runs):
            if run.status_calls:
                return run
        time.sleep(0.05)
    raise TimeoutError(f"no execution armed a wait for a run of {job.name}")
