"""What a run costs on the emulator, before and after the merged lifecycle calls and completion by event: state
transitions (the execution's StateEntered events, what Step Functions bills), Lambda invocations and DynamoDB
requests.

Every pipeline has 3 traits (local evaluators answering PASS); the orchestrator evaluates them inside CheckEvaluation
and CheckMonitoring, so no count but the Lambda invocations depends on their number. Lambda invocations are every
function's (the evaluator's included) but the stream-router's, one per marker. Measured paths:
- asynchronous, polled: an Airflow-style job still running at the first 2 polls and succeeded at the third; the same
  run with 3 running polls gives the cost of one more poll;
- completed by event: a Glue job (emu.jobs) that ends once the execution waits on its task token; its end reaches the
  job-events function through the stack's EventBridge rule. Before, the same job was polled: `23 + n + 3k` with k
  polls finding it running (a job running k x pollInterval); now 11 whatever k and n (bench/event_completion.py
  shows the count does not change with the job's duration);
- synchronous: an HTTP trigger whose answer is the job's outcome (Lambda triggers take the same path);
- monitoring: the synchronous run with monitoring on, one cycle's cost = the transitions from the first
  MonitoringWait to the end, less the final state, per cycle.
DynamoDB requests are counted at the emulator's server from the marker write (included) to the end of the execution.
`BEFORE` are the figures this script printed on main at commit 7019b67 (23 + n + 3k; run there from a `git archive`
of that commit). The targets are the ones set for that work; the exit status checks these.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from emulator import Emulator
from tests.emulated_job_events import armed_scripted_run

TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
BEFORE_COMMIT = "7019b67"
BEFORE = {"async": 32, "per poll": 3, "sync": 23, "monitoring cycle": 9, "lambda (async)": 17, "dynamodb (async)": 42}
TARGETS = {"sync": 16, "per poll": 3, "monitoring cycle": 3 + len(TRAITS), "event": 16}
EVENT_JOB = "bench-event-job"
STACK = {
    "monitoringInterval": "1s",
    "triggerPermissions": {"glue": [f"arn:aws:glue:us-east-1:123456789012:job/{EVENT_JOB}"]},
}
# The event-driven job as it was polled before: k polls finding it running (2, and a one-hour job polled every 60 s).
EVENT_POLLS = ((2, "job of 2 polls"), (59, "1 h job, 60 s polls"))


def _register(emu: Emulator, pipeline_id: str, trigger: dict, **extra) -> None:
    traits = {t: {"evaluator": emu.http.evaluator(f"/{pipeline_id}/{t}")} for t in TRAITS}
    emu.register_pipeline(
        {"name": pipeline_id, "archetype": "batch-ingestion", "traits": traits, "trigger": trigger, **extra}
    )
    emu.wait_for_streams()


def _invoked_since(emu: Emulator, before: dict[str, int]) -> dict[str, int]:
    """Invocations per function since `before` (every function's: the evaluator is invoked by the orchestrator, not
    by the state machine), the stream-router's left out (one per marker, as before)."""
    now = emu.lambda_invocations
    return {
        name: now[name] - before.get(name, 0)
        for name in sorted(now)
        if now[name] > before.get(name, 0) and not name.endswith("-stream-router")
    }


def _run(emu: Emulator, pipeline_id: str) -> dict:
    before, invoked = emu.server.counter.snapshot(), emu.lambda_invocations
    result = emu.wait_for_execution(emu.write_marker(pipeline_id), timeout_s=120)
    emu.wait_for_streams()
    requests = emu.server.counter.snapshot() - before
    if result["status"] != "SUCCEEDED":
        raise SystemExit(f"{pipeline_id}: unexpected outcome {result['status']}")
    entered = [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]
    return {
        "transitions": result["state_transitions"],
        "entered": entered,
        "lambda": _invoked_since(emu, invoked),
        "dynamodb": {op: n for (service, op), n in sorted(requests.items()) if service == "dynamodb"},
    }


def polled(emu: Emulator, pipeline_id: str, running_polls: int) -> dict:
    job = emu.http.job(pipeline_id, ["running"] * running_polls + ["succeeded"])
    _register(emu, pipeline_id, job.trigger)
    measured = _run(emu, pipeline_id)
    if job.polls != running_polls + 1:
        raise SystemExit(f"{pipeline_id}: {job.polls} polls, expected {running_polls + 1}")
    return measured


def synchronous(emu: Emulator, pipeline_id: str, **extra) -> dict:
    _register(
        emu, pipeline_id, {"type": "http", "method": "POST", "url": emu.http.trigger(f"/{pipeline_id}/t")}, **extra
    )
    return _run(emu, pipeline_id)


def by_event(emu: Emulator, pipeline_id: str) -> dict:
    job = emu.jobs.glue(EVENT_JOB, ["RUNNING"], every=None)  # runs until finished
    _register(emu, pipeline_id, job.trigger)
    before, invoked = emu.server.counter.snapshot(), emu.lambda_invocations
    arn = emu.write_marker(pipeline_id)
    job.finish("SUCCEEDED", run=armed_scripted_run(emu, job))
    result = emu.wait_for_execution(arn, timeout_s=120)
    entered = [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]
    if result["status"] != "SUCCEEDED" or "PollRunStatus" in entered or len(job.runs) != 1:
        raise SystemExit(f"{pipeline_id}: {result['status']}, not completed by its event: {entered}")
    emu.wait_for_streams()
    requests = emu.server.counter.snapshot() - before
    return {
        "transitions": result["state_transitions"],
        "lambda": _invoked_since(emu, invoked),
        "dynamodb": {op: n for (service, op), n in sorted(requests.items()) if service == "dynamodb"},
    }


def monitoring_cycle(measured: dict) -> float:
    entered = measured["entered"]
    cycles = entered.count("MonitoringWait")
    return (len(entered) - entered.index("MonitoringWait") - 1) / cycles


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with Emulator(STACK) as emu:
        two = polled(emu, "bench-two-polls", 2)
        three = polled(emu, "bench-three-polls", 3)
        sync = synchronous(emu, "bench-sync")
        event = by_event(emu, "bench-event")
        monitored = synchronous(emu, "bench-monitored", watch={"monitoring": {"enabled": True, "duration": "3s"}})
    after = {
        "async": two["transitions"],
        "per poll": three["transitions"] - two["transitions"],
        "sync": sync["transitions"],
        "monitoring cycle": monitoring_cycle(monitored),
        "event": event["transitions"],
        "lambda (async)": sum(two["lambda"].values()),
        "dynamodb (async)": sum(two["dynamodb"].values()),
    }
    print(f"State transitions with {len(TRAITS)} traits: before (main {BEFORE_COMMIT}) and now")
    print(f"  {'path':<40}{'before':>8}{'now':>8}   target")
    rows = (
        ("asynchronous, polled (2 running)", "async"),
        ("per extra poll", "per poll"),
        *((f"by event (Glue), {label}", ("event", polls)) for polls, label in EVENT_POLLS),
        ("synchronous (HTTP, Lambda)", "sync"),
        ("one monitoring cycle", "monitoring cycle"),
        ("Lambda invocations (async path)", "lambda (async)"),
        ("DynamoDB requests (async path)", "dynamodb (async)"),
    )
    for label, row in rows:
        key, polls = row if isinstance(row, tuple) else (row, None)
        before = BEFORE[key] if polls is None else BEFORE["async"] + BEFORE["per poll"] * (polls - 2)  # polled then
        target = f"<= {TARGETS[key]}" if key in TARGETS else ""
        if polls is not None:
            target += f" (moonshot 12); before: polled, k = {polls}"
        print(f"  {label:<40}{before:>8}{after[key]:>8g}   {target}")
    print(
        "  Lambda now: "
        + ", ".join(f"{n.split(chr(45), 2)[-1]} {c}" for n, c in sorted(two["lambda"].items()))
        + "; plus 1 stream-router per marker"
    )
    print("  DynamoDB now: " + ", ".join(f"{op} {n}" for op, n in two["dynamodb"].items()))
    print(
        "  By event now: Lambda "
        + ", ".join(f"{n.split(chr(45), 2)[-1]} {c}" for n, c in sorted(event["lambda"].items()))
        + " (plus stream-router 1); DynamoDB "
        + ", ".join(f"{op} {n}" for op, n in event["dynamodb"].items())
    )
    ok = all(after[key] <= target for key, target in TARGETS.items())
    print("  within targets" if ok else "  OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
