"""The AWS cost of 1,000 runs (us-east-1, on-demand prices), from counts measured on the emulator.

Scenarios, each measured on whatever the current code does:
- asynchronous polled run: 3 traits (local evaluators answering PASS), an Airflow-style job still running at the
  first 2 polls and succeeded at the third (bench/transitions.py's run);
- synchronous run: 3 traits, an HTTP trigger answering 200;
- event-driven run: 3 traits, a Glue job (emu.jobs) that ends once the execution waits on its task token, its end
  delivered to the job-events function by the stack's EventBridge rule (the count does not change with the job's
  duration: bench/event_completion.py);
- the same Glue job polled instead, had it run 1 h at pollInterval 60 s (59 polls finding it running): the polled run
  plus 57 times what one more poll costs (measured as the difference between runs with 3 and 2 running polls of the
  Airflow-style job: the same states and one run-checker call per poll; its GetItem, the trigger's headers, is one
  0.5 RRU a Glue poll would not make);
- watchdog pass: one watchdog invocation over 10 pipelines with completion deadlines, in the steady state (a first
  pass has already alerted and claimed every breach).

Counted, from the marker write (included) to the end of the execution:
- Step Functions: the execution's StateEntered events (Standard workflows bill each state transition);
- Lambda: invocations of every function (the emulator's runtime, so the stream-router's is included) and their
  wall time in the emulator, times the deployed MemorySize, as GB-seconds (the emulator runs handlers in-process
  against a loopback moto: an indication of AWS's billed duration, not a measurement of it);
- DynamoDB: requests counted at the emulator's server (stream reads by the event source mapping are free and not
  counted); request units from each request's parameters, seen by a hook on boto3's default session (every handler
  client and the emulator's store module use it): a read item is 0.5 RRU (eventually consistent) or 1 RRU
  (consistent) per page or item, as if every item were under 4 KB; a write is 1 WRU, as if under 1 KB; a
  transactional write 2 WRU per item. Storage, streams, SNS, CloudWatch and the free tiers are left out.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import boto3

from emulator import Emulator
from tests.emulated_job_events import armed_scripted_run

# Prices, us-east-1, read 2026-12-01 from stored copies of the pricing pages (no request is made to AWS):
# - https://aws.amazon.com/step-functions/pricing/ : Standard workflows, $0.025 per 1,000 state transitions
# - https://aws.amazon.com/lambda/pricing/ : $0.20 per 1M requests; duration $0.0000133334 per GB-second on Arm,
#   $0.0000166667 on x86 (first pricing tier)
# - https://aws.amazon.com/dynamodb/pricing/on-demand/ : $0.625 per 1M write request units, $0.125 per 1M read
#   request units (the on-demand prices since AWS's 50 % reduction of November 2024)
PRICE_PER_TRANSITION = 0.025 / 1_000
PRICE_PER_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_PER_GB_SECOND = {"arm64": 0.0000133334, "x86_64": 0.0000166667}
PRICE_PER_WRU = 0.625 / 1_000_000
PRICE_PER_RRU = 0.125 / 1_000_000

RUNS = 1_000
EVENT_JOB = "cost-event-job"
STACK = {"triggerPermissions": {"glue": [f"arn:aws:glue:us-east-1:123456789012:job/{EVENT_JOB}"]}}
HOUR_OF_POLLS = 59  # polls finding a one-hour job running, at pollInterval 60 s
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
WATCHED_PIPELINES = 10
WATCHDOG_DATE = "2026-03-03"
SINGLE_ITEM_READS = ("GetItem",)
PAGED_READS = ("Query", "Scan")
WRITES = ("PutItem", "UpdateItem", "DeleteItem")


@dataclass
class Usage:
    transitions: int = 0
    invocations: collections.Counter = field(default_factory=collections.Counter)
    arm_gb_seconds: collections.Counter = field(default_factory=collections.Counter)  # per function, in Arm GB-s
    requests: collections.Counter = field(default_factory=collections.Counter)
    rru: float = 0.0
    wru: float = 0.0

    @property
    def gb_seconds(self) -> float:
        return sum(self.arm_gb_seconds.values())


class Meter:
    """Counts Lambda invocations with their duration and DynamoDB request units while it is on."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.memory_gb = {name: f.get("MemorySize", 128) / 1024 for name, f in emu.functions.items()}
        self.architecture = {name: (f.get("Architectures") or ["x86_64"])[0] for name, f in emu.functions.items()}
        self.usage: Usage | None = None
        self._lock = threading.Lock()
        invoke = emu.runtime.invoke

        def timed(function, event):
            started = time.perf_counter()
            try:
                return invoke(function, event)
            finally:
                self._add_invocation(function.function_name, time.perf_counter() - started)

        emu.runtime.invoke = timed
        boto3._get_default_session().events.register("before-parameter-build.dynamodb", self._add_request)

    def _add_invocation(self, name: str, seconds: float) -> None:
        with self._lock:
            if self.usage is not None:
                self.usage.invocations[name] += 1
                price = PRICE_PER_GB_SECOND[self.architecture.get(name, "x86_64")] / PRICE_PER_GB_SECOND["arm64"]
                self.usage.arm_gb_seconds[name] += self.memory_gb.get(name, 0.125) * seconds * price

    def _add_request(self, params: dict, model, **_) -> None:
        per_read = 1.0 if params.get("ConsistentRead") else 0.5
        with self._lock:
            if self.usage is None:
                return
            if model.name in SINGLE_ITEM_READS or model.name in PAGED_READS:
                self.usage.rru += per_read
            elif model.name == "BatchGetItem":
                for request in params.get("RequestItems", {}).values():
                    self.usage.rru += len(request.get("Keys", [])) * (1.0 if request.get("ConsistentRead") else 0.5)
            elif model.name in WRITES:
                self.usage.wru += 1
            elif model.name == "TransactWriteItems":
                self.usage.wru += 2 * len(params.get("TransactItems", []))
            elif model.name == "BatchWriteItem":
                self.usage.wru += sum(len(items) for items in params.get("RequestItems", {}).values())

    def measure(self, scenario: Callable[[], int]) -> Usage:
        """Run `scenario()` (which answers its state transitions) and return what it used."""
        self.emu.wait_for_streams()
        before = self.emu.server.counter.snapshot()
        with self._lock:
            self.usage = Usage()
        self.usage.transitions = scenario()
        self.emu.wait_for_streams()
        with self._lock:
            usage, self.usage = self.usage, None
        requests = self.emu.server.counter.snapshot() - before
        usage.requests = collections.Counter({op: n for (svc, op), n in requests.items() if svc == "dynamodb"})
        return usage


def run(emu: Emulator, pipeline_id: str, trigger: dict, job=None, polls: int = 0) -> Callable[[], int]:
    """Register a pipeline of 3 PASS traits with `trigger`; the scenario runs it once (to SUCCEEDED, after `polls`
    polls of `job` when given) and answers its state transitions."""
    emu.register_pipeline(
        {
            "name": pipeline_id,
            "archetype": "batch-ingestion",
            "traits": {t: {"evaluator": emu.http.evaluator(f"/{pipeline_id}/{t}")} for t in TRAITS},
            "trigger": trigger,
        }
    )
    emu.wait_for_streams()

    def scenario() -> int:
        result = emu.wait_for_execution(emu.write_marker(pipeline_id), timeout_s=120)
        if result["status"] != "SUCCEEDED" or (job is not None and job.polls != polls):
            raise SystemExit(f"{pipeline_id}: {result['status']} after {job.polls if job else 0} polls")
        return result["state_transitions"]

    return scenario


def by_event(emu: Emulator, pipeline_id: str) -> Callable[[], int]:
    """Register a pipeline of 3 PASS traits triggering a Glue job; the scenario runs it once, the job ending as soon
    as the execution waits for it, and answers its state transitions."""
    job = emu.jobs.glue(EVENT_JOB, ["RUNNING"], every=None)  # runs until finished
    emu.register_pipeline(
        {
            "name": pipeline_id,
            "archetype": "batch-ingestion",
            "traits": {t: {"evaluator": emu.http.evaluator(f"/{pipeline_id}/{t}")} for t in TRAITS},
            "trigger": job.trigger,
        }
    )
    emu.wait_for_streams()

    def scenario() -> int:
        arn = emu.write_marker(pipeline_id)
        job.finish("SUCCEEDED", run=armed_scripted_run(emu, job))
        result = emu.wait_for_execution(arn, timeout_s=120)
        entered = {e["stateEnteredEventDetails"]["name"] for e in result["history"] if "stateEnteredEventDetails" in e}
        if result["status"] != "SUCCEEDED" or "PollRunStatus" in entered:
            raise SystemExit(f"{pipeline_id}: {result['status']}, not completed by its event")
        emu.wait_for_events()  # the job-events invocation is counted
        return result["state_transitions"]

    return scenario


def extrapolated(base: Usage, one_more: Usage, extra: int) -> Usage:
    """`base` plus `extra` times what `one_more` used beyond it; each extra invocation's duration is its function's
    mean in `one_more` (the difference of two wall times would be noise)."""

    def grown(before: collections.Counter, after: collections.Counter) -> collections.Counter:
        return collections.Counter({key: before[key] + extra * (after[key] - before[key]) for key in before | after})

    invocations = grown(base.invocations, one_more.invocations)
    mean = {name: one_more.arm_gb_seconds[name] / n for name, n in one_more.invocations.items() if n}
    return Usage(
        transitions=base.transitions + extra * (one_more.transitions - base.transitions),
        invocations=invocations,
        arm_gb_seconds=collections.Counter(
            {
                name: base.arm_gb_seconds[name] + (n - base.invocations[name]) * mean.get(name, 0.0)
                for name, n in invocations.items()
            }
        ),
        requests=grown(base.requests, one_more.requests),
        rru=base.rru + extra * (one_more.rru - base.rru),
        wru=base.wru + extra * (one_more.wru - base.wru),
    )


def watchdog(emu: Emulator) -> Callable[[], int]:
    """Leave exactly 10 pipelines with completion deadlines, let a first pass alert; the scenario is the next pass."""
    for config in emu.store.list_pipelines():
        emu.store.delete_pipeline(config["name"])
    for n in range(WATCHED_PIPELINES):
        emu.store.put_pipeline(
            {
                "name": f"cost-watched-{n:02d}",
                "archetype": "batch-ingestion",
                "traits": {"source-freshness": {"evaluator": "https://example.com/fresh"}},
                "trigger": {"type": "http", "url": "https://example.com/run"},
                "sla": {"completionDeadline": "10:00", "warnBefore": "30m"},
            }
        )
    emu.run_watchdog(f"{WATCHDOG_DATE}T10:20:00Z")  # alerts and claims every breach

    def scenario() -> int:
        report = emu.run_watchdog(f"{WATCHDOG_DATE}T10:25:00Z")
        if report["alerts"]:
            raise SystemExit(f"the steady watchdog pass alerted: {report['alerts']}")
        return 0

    return scenario


def dollars(usage: Usage) -> dict[str, float]:
    lambda_cost = sum(usage.invocations.values()) * PRICE_PER_LAMBDA_REQUEST
    lambda_cost += usage.gb_seconds * PRICE_PER_GB_SECOND["arm64"]
    return {
        "Step Functions": usage.transitions * PRICE_PER_TRANSITION * RUNS,
        "Lambda": lambda_cost * RUNS,
        "DynamoDB": (usage.rru * PRICE_PER_RRU + usage.wru * PRICE_PER_WRU) * RUNS,
    }


def revision() -> str:
    """The commit measured (`-dirty` when the worktree has changes)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    answer = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=root, capture_output=True, text=True, check=False
    )
    return answer.stdout.strip() or "unknown"


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with Emulator(STACK) as emu:
        meter = Meter(emu)
        job = emu.http.job("cost-async", ["running", "running", "succeeded"])
        longer = emu.http.job("cost-async-3", ["running", "running", "running", "succeeded"])
        scenarios = {
            "asynchronous polled run (3 traits, 2 polls)": run(emu, "cost-async", job.trigger, job, 3),
            "synchronous run (3 traits, HTTP trigger)": run(
                emu, "cost-sync", {"type": "http", "method": "POST", "url": emu.http.trigger("/cost-sync/run", 200)}
            ),
            "event-driven run (3 traits, Glue, any duration)": by_event(emu, "cost-event"),
        }
        measured = {label: meter.measure(scenario) for label, scenario in scenarios.items()}
        one_more_poll = meter.measure(run(emu, "cost-async-3", longer.trigger, longer, 4))
        polled = extrapolated(measured["asynchronous polled run (3 traits, 2 polls)"], one_more_poll, HOUR_OF_POLLS - 2)
        measured[f"the same job polled, 1 h at 60 s ({HOUR_OF_POLLS} polls)"] = polled
        measured[f"watchdog pass ({WATCHED_PIPELINES} pipelines, steady)"] = meter.measure(watchdog(emu))
    print(f"Measured per run on the emulator (code at {revision()})")
    print(f"  {'scenario':<50} {'transitions':>11} {'Lambda':>6} {'GB-s':>6} {'DynamoDB':>8} {'RRU':>6} {'WRU':>6}")
    for label, usage in measured.items():
        print(
            f"  {label:<50} {usage.transitions:>11} {sum(usage.invocations.values()):>6} {usage.gb_seconds:>6.3f}"
            f" {sum(usage.requests.values()):>8} {usage.rru:>6g} {usage.wru:>6g}"
        )
    for label, usage in measured.items():
        functions = ", ".join(f"{name.split('-', 2)[-1]} {n}" for name, n in sorted(usage.invocations.items()))
        requests = ", ".join(f"{op} {n}" for op, n in sorted(usage.requests.items()))
        print(f"    {label}: {functions}; {requests}")
    print(f"AWS cost of {RUNS:,} runs (passes), USD, us-east-1 on-demand prices (bench/cost.py)")
    print(f"  {'scenario':<50} {'Step Functions':>14} {'Lambda':>8} {'DynamoDB':>8} {'total':>8} {'SFN share':>9}")
    for label, usage in measured.items():
        cost = dollars(usage)
        total = sum(cost.values())
        print(
            f"  {label:<50} {cost['Step Functions']:>14.4f} {cost['Lambda']:>8.4f} {cost['DynamoDB']:>8.4f}"
            f" {total:>8.4f} {cost['Step Functions'] / total:>9.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
