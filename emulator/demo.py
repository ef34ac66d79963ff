"""`python -m emulator demo`: the whole stack on the emulator, one pipeline run end to end, printed as a timeline.

The example pipelines of pipelines/ are registered by the program itself (pipelines as code). The demo then
points two of them at local endpoints it scripts, and runs the upstream one from a marker:
- sales-raw-ingest: its traits' evaluators (relative paths) answer PASS on the local evaluator endpoints, its
  trigger becomes a local Airflow-style job that reports "running" twice and then "succeeded";
- sales-daily-aggregate (downstream: its upstream-dependency trait is the builtin upstream-job-log) gets a local
  synchronous HTTP trigger and a short monitoring window; customer-features (the other downstream) a local job.
The SLA deadlines are set two hours ahead, so the SLA checks pass. The demo exits 0 only when the upstream run
completed after its job was polled, and the cascade marker started the downstream pipeline, which completed too.
"""

from __future__ import annotations

import datetime
import os
import sys
import time

import yaml

from .core import REPO_ROOT, Emulator
from .timeline import format_timeline

UPSTREAM = "sales-raw-ingest"
DOWNSTREAM = "sales-daily-aggregate"
OTHER_DOWNSTREAM = "customer-features"


def _example(name: str) -> dict:
    with open(os.path.join(REPO_ROOT, "pipelines", f"{name}.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _deadline_in(hours: int) -> str:
    """An SLA deadline `hours` from now, as a duration from today's UTC midnight (never wraps past midnight)."""
    now = datetime.datetime.now(datetime.UTC)
    return f"{now.hour * 60 + now.minute + hours * 60}m"


def _local(emu: Emulator, config: dict, trigger: dict) -> dict:
    config = dict(
        config,
        trigger=trigger,
        sla={"timezone": "UTC", "evaluationDeadline": _deadline_in(2), "completionDeadline": _deadline_in(2)},
    )
    if config.get("schedules"):  # a schedule's own deadline takes precedence over the SLA's
        config["schedules"] = [{k: v for k, v in s.items() if k != "deadline"} for s in config["schedules"]]
    for trait in config.get("traits", {}).values():
        evaluator = trait.get("evaluator", "")
        if not evaluator.startswith(("builtin:", "http://", "https://")):
            emu.http.evaluator(evaluator, "PASS", value={"checkedBy": "demo endpoint"})
    return config


def _kind(function_name: str) -> str:
    """`interlock-emu-run-checker` -> `run-checker`."""
    return function_name.split("-", 2)[-1]


def _print_run(title: str, result: dict) -> None:
    print(
        f"\n{title}: {result['status']}  ({result['state_transitions']} state transitions; the state machine invoked "
        + ", ".join(f"{_kind(name)} {count}" for name, count in sorted(result["lambda_invocations"].items()))
        + ")"
    )
    print(format_timeline(result["history"]))


def _last_state(result: dict) -> str:
    names = [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]
    return names[-1] if names else "?"


def run_demo() -> int:
    """Deploy, run the example end to end, print timelines and a summary; 0 when the expected outcome happened."""
    started = time.monotonic()
    print("Interlock demo: the real Pulumi program, state machine and Lambda handlers on an embedded AWS emulator")
    print("(moto, in this process; no AWS account, no Pulumi CLI).\n")
    with Emulator({"monitoringInterval": "1s"}) as emu:
        deployed = emu.deployment
        print(
            f"Deployed {len(deployed.resources)} resources in {time.monotonic() - started:.1f}s: "
            f"table {emu.table_name}, {len(emu.functions)} functions, state machine "
            f"{emu.state_machine_arn.rsplit(':', 1)[-1]}, alert topic, stream mapping, schedules."
        )
        if deployed.skipped:
            print(f"Not emulated: {', '.join(deployed.skipped)}")
        print(
            f"Pipelines registered by the program (pipelines as code): "
            f"{', '.join(sorted(p['name'] for p in emu.store.list_pipelines()))}"
        )

        job = emu.http.job(UPSTREAM, ["running", "running", "succeeded"])
        upstream = _local(emu, _example(UPSTREAM), job.trigger)
        downstream = _local(
            emu,
            _example(DOWNSTREAM),
            {"type": "http", "method": "POST", "url": emu.http.trigger("/warehouse/aggregate", 200)},
        )
        downstream["watch"] = {"monitoring": {"enabled": True, "duration": "3s"}}
        other_job = emu.http.job(OTHER_DOWNSTREAM, ["running", "succeeded"])
        other = _local(emu, _example(OTHER_DOWNSTREAM), other_job.trigger)
        for config in (upstream, downstream, other):
            emu.register_pipeline(config)
        print(
            f"Re-registered them against local endpoints at {emu.http.base_url}: evaluators answer PASS, "
            f"the {UPSTREAM} job runs for two polls, SLA deadlines are two hours ahead."
        )

        date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        print(f"\nWriting a MARKER for {UPSTREAM} ({date}); the stream-router starts the lifecycle ...")
        requests_before = emu.server.counter.snapshot()
        first = emu.wait_for_execution(emu.write_marker(UPSTREAM, date=date, source="demo"), timeout_s=120)
        _print_run(f"{UPSTREAM}", first)
        emu.wait_for_streams()
        cascaded = emu.executions(DOWNSTREAM)
        second = emu.wait_for_execution(cascaded[-1]["executionArn"], timeout_s=120) if cascaded else None
        if second:
            _print_run(
                f"{DOWNSTREAM} (started by the cascade marker, source {cascaded[-1]['input'].get('source')})", second
            )
        others = [emu.wait_for_execution(e["executionArn"], timeout_s=120) for e in emu.executions(OTHER_DOWNSTREAM)]
        for result in others:
            print(
                f"\n{OTHER_DOWNSTREAM} (also downstream of {UPSTREAM}): {result['status']}, "
                f"{result['state_transitions']} state transitions, ended in {_last_state(result)}"
            )
        dynamodb_requests = emu.server.counter.total("dynamodb", since=requests_before)

        upstream_log = emu.run_log(UPSTREAM, date) or {}
        downstream_log = emu.run_log(DOWNSTREAM, date) or {}
        alerts = emu.alerts()
        checks = {
            f"{UPSTREAM} succeeded and logged COMPLETED": first["status"] == "SUCCEEDED"
            and upstream_log.get("status") == "COMPLETED",
            "its job was polled until it succeeded": job.polls == 3 and len(job.runs) == 1,
            "the SLA checks ran": {"CheckEvaluation", "CompleteRun"}
            <= {e["stateEnteredEventDetails"]["name"] for e in first["history"] if e["type"].endswith("StateEntered")},
            f"a cascade marker started {DOWNSTREAM}": bool(cascaded),
            f"{DOWNSTREAM} succeeded and logged COMPLETED": bool(second)
            and second["status"] == "SUCCEEDED"
            and downstream_log.get("status") == "COMPLETED",
            f"{OTHER_DOWNSTREAM} ended SUCCEEDED": bool(others) and all(r["status"] == "SUCCEEDED" for r in others),
            "no lock left held": all(emu.lock(p) is None for p in (UPSTREAM, DOWNSTREAM, OTHER_DOWNSTREAM)),
            "every AWS call of the handlers is allowed by their roles": not emu.unauthorized_calls(),
        }
        print("\nSummary")
        print(
            f"  run log {UPSTREAM}: {upstream_log.get('status')} (attempt {upstream_log.get('attemptNumber')}); "
            f"{DOWNSTREAM}: {downstream_log.get('status')} (attempt {downstream_log.get('attemptNumber')})"
        )
        print(
            f"  since the marker, all runs: {dynamodb_requests} DynamoDB requests; Lambda invocations: "
            + ", ".join(f"{_kind(n)} {c}" for n, c in sorted(emu.lambda_invocations.items()))
        )
        print(f"  alerts: {', '.join(a.get('alertType', '?') for a in alerts) or 'none'}")
        for check, passed in checks.items():
            print(f"  [{'ok' if passed else 'FAILED'}] {check}")
        print(f"  total time {time.monotonic() - started:.1f}s")
        return 0 if all(checks.values()) else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["demo"]:
        print("usage: python -m emulator demo", file=sys.stderr)
        return 2
    return run_demo()
