"""Watchdog Lambda, invoked by EventBridge Scheduler every `watchdogInterval` -> the pass's report
`{now, pipelines, alerts: [{alertType, pipelineID, scheduleID, date, published}], locksReleased: [...]}`.

The scheduled event carries nothing the watchdog reads. An explicit `{"now": "<RFC 3339>"}` (a test or an operator
asking "what would be flagged at 09:05", e.g. `Emulator.run_watchdog(now=...)`) makes the pass decide as of that
moment; claims, events and alerts are still stamped with the real time.
Thin: parse, run (handlers/interlock/watchdog_pass.py).
"""

from __future__ import annotations

from .interlock import invocation, schedule, watchdog_pass
from .interlock.log import logger


def handler(event, context):
    requested = invocation.text(invocation.fields(event), "now")
    try:
        now = schedule.parse_timestamp(requested) if requested else schedule.now_utc()
    except ValueError as exc:
        logger().warning("watchdog not run", extra={"error": str(exc)})
        return {"error": str(exc)}
    return watchdog_pass.run(now)
