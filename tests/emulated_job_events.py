"""Glue jobs completed by event on the emulator: the job run an execution waits for."""

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
