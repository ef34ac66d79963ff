"""Cost of the asynchronous happy path on the emulator: state transitions, Lambda invocations, DynamoDB requests.

The pipeline has 3 traits (local evaluators answering PASS) and an Airflow-style job that is still running at the
first 2 polls and succeeded at the third. Transitions are the execution's StateEntered events (what Step Functions
bills); DynamoDB requests are counted at the emulator's server from the marker write (included) to the end of the
execution.
The same run with 3 running polls gives the transitions per extra poll iteration.
Targets (DESIGN §10.0): at most 32 transitions on that path and at most 3 per poll iteration.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from emulator import Emulator

TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
MAX_TRANSITIONS = 32
MAX_PER_POLL = 3


def measure(emu: Emulator, pipeline_id: str, running_polls: int) -> dict:
    job = emu.http.job(pipeline_id, ["running"] * running_polls + ["succeeded"])
    emu.register_pipeline(
        {
            "name": pipeline_id,
            "archetype": "batch-ingestion",
            "traits": {t: {"evaluator": emu.http.evaluator(f"/{pipeline_id}/{t}")} for t in TRAITS},
            "trigger": job.trigger,
        }
    )
    emu.wait_for_streams()
    before = emu.server.counter.snapshot()
    result = emu.wait_for_execution(emu.write_marker(pipeline_id), timeout_s=120)
    emu.wait_for_streams()
    requests = emu.server.counter.snapshot() - before
    if result["status"] != "SUCCEEDED" or job.polls != running_polls + 1:
        raise SystemExit(f"{pipeline_id}: unexpected outcome {result['status']} after {job.polls} polls")
    return {
        "transitions": result["state_transitions"],
        "lambda": result["lambda_invocations"],
        "dynamodb": {op: n for (service, op), n in sorted(requests.items()) if service == "dynamodb"},
    }


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with Emulator() as emu:
        two = measure(emu, "bench-two-polls", 2)
        three = measure(emu, "bench-three-polls", 3)
    per_poll = three["transitions"] - two["transitions"]
    print("Asynchronous happy path: 3 traits, 2 polls that find the job running, then success")
    print(f"  state transitions:      {two['transitions']} (target <= {MAX_TRANSITIONS})")
    print(f"  per extra poll:         {per_poll} (target <= {MAX_PER_POLL})")
    print(
        f"  Lambda invocations:     {sum(two['lambda'].values())} "
        f"({', '.join(f'{n.split(chr(45), 2)[-1]} {c}' for n, c in sorted(two['lambda'].items()))}"
        f"; plus 1 stream-router per marker)"
    )
    print(
        f"  DynamoDB requests:      {sum(two['dynamodb'].values())} "
        f"({', '.join(f'{op} {n}' for op, n in two['dynamodb'].items())})"
    )
    ok = two["transitions"] <= MAX_TRANSITIONS and per_poll <= MAX_PER_POLL
    print("  within targets" if ok else "  OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
