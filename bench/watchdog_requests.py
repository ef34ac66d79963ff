"""DynamoDB requests of one watchdog pass on the emulator, for 10 and 1,000 pipelines.

Each pipeline has a completion deadline at 10:00 UTC with a 30-minute warning and one stack schedule per ten
pipelines fires daily at 09:00; the pass runs at 10:20 on a date without runs, so every pipeline has a date past its
deadline (run log and claim read, a breach claimed and alerted) and every schedule a firing to look for. A second
pass at 10:25 shows the steady state (everything already claimed). Requests are counted at the emulator's server.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from emulator import Emulator

SIZES = (10, 1000)
DATE = "2026-03-03"


def measure(size: int) -> tuple[dict, dict]:
    names = [f"bench-{n:04d}" for n in range(size)]
    schedules = [
        {"name": f"{name}-daily", "pipeline": name, "expression": "cron(0 9 * * ? *)"}
        for name in names[:: max(1, size // 10)]
    ][:10]
    with Emulator({"schedules": schedules}) as emu:
        for name in names:
            emu.store.put_pipeline(
                {
                    "name": name,
                    "archetype": "batch-ingestion",
                    "traits": {"source-freshness": {"evaluator": "https://example.com/fresh"}},
                    "trigger": {"type": "http", "url": "https://example.com/run"},
                    "sla": {"completionDeadline": "10:00", "warnBefore": "30m"},
                }
            )
        passes = []
        for clock in ("10:20", "10:25"):
            before = emu.server.counter.snapshot()
            report = emu.run_watchdog(f"{DATE}T{clock}:00Z")
            requests = emu.server.counter.snapshot() - before
            passes.append(
                {
                    "alerts": len(report["alerts"]),
                    **{op: n for (service, op), n in sorted(requests.items()) if service == "dynamodb"},
                }
            )
    return passes[0], passes[1]


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    print("DynamoDB requests per watchdog pass (first pass alerts every date; second pass: all claimed)")
    for size in SIZES:
        first, steady = measure(size)
        for label, counts in (("first", first), ("steady", steady)):
            total = sum(n for op, n in counts.items() if op != "alerts")
            detail = ", ".join(f"{op} {n}" for op, n in counts.items() if op != "alerts")
            print(f"  {size:>5} pipelines, {label:<6}: {total:>5} requests ({detail}); alerts {counts['alerts']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
