"""Cost of a Glue-triggered run that completes by its job's event, on the emulator: state transitions (StateEntered
events, what Step Functions bills), history events and Lambda invocations, for a job that ends at once and one that
runs longer. Both counts must be the same: while the job runs the execution waits on its task token, which costs
nothing (the wait's timeout, completionCheckInterval, is set far above both durations, so no fallback fires).

The pipeline has 3 traits (local evaluators answering PASS). moto's Glue run stays STARTING (its state manager), so
only the event ends it; the event goes through the stack's EventBridge rule to the job-events function.
Usage: python bench/event_completion.py [LONGER_JOB_SECONDS] (default 20).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from moto.moto_api import state_manager

from emulator import Emulator
from tests.emulated_job_events import armed_job_run

TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
RUNS = {"short": "bench-glue-short", "longer": "bench-glue-longer"}
STACK = {
    "pollInterval": "60s",
    "maxPollAttempts": 10,
    "completionCheckInterval": "10m",
    "executionTimeout": "1h",
    "triggerPermissions": {"glue": [f"arn:aws:glue:us-east-1:123456789012:job/{pid}-job" for pid in RUNS.values()]},
}


def measure(emu: Emulator, pipeline_id: str, job_seconds: float) -> dict:
    job = f"{pipeline_id}-job"
    emu.client("glue").create_job(Name=job, Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "glueetl"})
    emu.register_pipeline(
        {
            "name": pipeline_id,
            "archetype": "batch-ingestion",
            "traits": {t: {"evaluator": emu.http.evaluator(f"/{pipeline_id}/{t}")} for t in TRAITS},
            "trigger": {"type": "glue", "jobName": job},
        }
    )
    emu.wait_for_streams()
    invoked = emu.lambda_invocations
    arn = emu.write_marker(pipeline_id)
    job_run_id = armed_job_run(emu, job)
    time.sleep(job_seconds)
    emu.put_event("aws.glue", "Glue Job State Change", {"jobName": job, "jobRunId": job_run_id, "state": "SUCCEEDED"})
    result = emu.wait_for_execution(arn, timeout_s=120)
    if result["status"] != "SUCCEEDED":
        raise SystemExit(f"{pipeline_id}: unexpected outcome {result['status']} {result['error']}")
    emu.wait_for_streams()
    return {
        "transitions": result["state_transitions"],
        "history": len(result["history"]),
        # every function's, the evaluator's (invoked by the orchestrator) and job-events' included
        "lambda": sum(emu.lambda_invocations.values()) - sum(invoked.values()),
    }


def main() -> int:
    longer = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 1_000_000})
    try:
        with Emulator(STACK) as emu:
            short = measure(emu, RUNS["short"], 0)
            slow = measure(emu, RUNS["longer"], longer)
    finally:
        state_manager.unset_transition("glue::job_run")
    print("Glue-triggered run completed by its event: 3 traits, the job's end announced by EventBridge")
    print(f"  {'job runs':<22}{'transitions':>12}{'history events':>16}{'Lambda calls':>14}")
    for label, counts in (("at once", short), (f"{longer:g} s", slow)):
        print(f"  {label:<22}{counts['transitions']:>12}{counts['history']:>16}{counts['lambda']:>14}")
    same = short == slow
    print("  the same whatever the job's duration" if same else "  DIFFERENT: the wait costs while the job runs")
    print("  (polling adds 3 transitions and 9 history events per pollInterval the job runs: bench/transitions.py)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
