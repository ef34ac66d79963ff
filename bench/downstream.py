"""DynamoDB requests of notifyDownstream's lookup on the emulator, for 10, 100 and 2,000 pipelines.

One upstream has 2 downstreams; every other pipeline names another upstream. The cascade's writes (a marker and an
event per downstream: 2 PutItem each) are the same before and after; what changed is how the downstreams are found.

Before: notifyDownstream listed every pipeline (`store.list_pipelines`: GSI1 Query, `Limit` PAGE_SIZE = 100 per page,
every page followed) and parsed each config, so it made ceil(P / 100) Query requests and read all P configs; the
formula comes from that loop (handlers/interlock/store.py, `list_pipelines`, which the watchdog and the CLI still use,
so it is also measured here).
After: one Query of the upstream's downstream-index edges and one BatchGetItem of the downstreams' configs
(`store.downstream_configs`): 1 + ceil(D / 100) + ceil(D / 100) requests for D downstreams, whatever P is.
Requests are counted at the emulator's server, through the deployed store module; wall times are the emulator's
and only indicative.
"""

from __future__ import annotations

import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from emulator import Emulator

SIZES = (10, 100, 2000)
UPSTREAM = "bench-upstream"
DOWNSTREAMS = ("bench-downstream-a", "bench-downstream-b")
LIST_PAGE_SIZE = 100  # store.PAGE_SIZE, the Limit of every Query page


def pipeline(name: str, upstream: str) -> dict:
    return {
        "name": name,
        "archetype": "batch-ingestion",
        "traits": {
            "upstream-dependency": {"evaluator": "builtin:upstream-job-log", "config": {"upstreamPipeline": upstream}}
        },
        "trigger": {"type": "http", "url": "https://example.com/run"},
    }


def counted(emu: Emulator, lookup) -> tuple[list, dict[str, int], float]:
    """What `lookup()` returns, the DynamoDB requests it made by operation, and its wall time in seconds."""
    before = emu.server.counter.snapshot()
    started = time.perf_counter()
    found = lookup()
    elapsed = time.perf_counter() - started
    requests = emu.server.counter.snapshot() - before
    return found, {op: n for (service, op), n in sorted(requests.items()) if service == "dynamodb"}, elapsed


def main() -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    rows = []
    with Emulator() as emu:
        store = emu.store
        store.put_pipeline(pipeline(UPSTREAM, "bench-elsewhere"))
        for name in DOWNSTREAMS:
            store.put_pipeline(pipeline(name, UPSTREAM))
        registered = len(store.list_pipelines())  # the program's own pipelines count too
        for size in SIZES:
            while registered < size:
                store.put_pipeline(pipeline(f"bench-other-{registered:05d}", "bench-elsewhere"))
                registered += 1
            listed, old_requests, old_seconds = counted(emu, store.list_pipelines)
            found, new_requests, new_seconds = counted(emu, lambda: store.downstream_configs(UPSTREAM))
            if len(listed) != size or sorted(c["name"] for c in found) != list(DOWNSTREAMS):
                raise SystemExit(f"{size} pipelines: listed {len(listed)}, downstreams {[c['name'] for c in found]}")
            rows.append((size, math.ceil(size / LIST_PAGE_SIZE), old_requests, old_seconds, new_requests, new_seconds))
    print(f"notifyDownstream lookup, {len(DOWNSTREAMS)} downstreams (+ {2 * len(DOWNSTREAMS)} PutItem either way)")
    print(f"  {'pipelines':>9}  {'before: ceil(P/100)':>19}  {'before, measured':<18} {'after (measured)':<32}")
    for size, formula, old, old_s, new, new_s in rows:
        old_text = f"{sum(old.values())} ({old_s * 1000:.0f} ms)"
        detail = ", ".join(f"{op} {n}" for op, n in new.items())
        new_text = f"{sum(new.values())}: {detail} ({new_s * 1000:.0f} ms)"
        print(f"  {size:>9}  {formula:>19}  {old_text:<18} {new_text:<32}")
    constant = len({tuple(sorted(new.items())) for *_, new, _ in rows}) == 1
    print("  after: the same requests at every size" if constant else "  after: GROWS WITH THE PIPELINES")
    return 0 if constant else 1


if __name__ == "__main__":
    raise SystemExit(main())
