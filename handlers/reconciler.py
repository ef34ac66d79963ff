"""Reconciler Lambda: an EventBridge "Step Functions Execution Status Change" event (ABORTED, TIMED_OUT, FAILED of
this stack's state machine) -> `{execution, status, handled, runLogRecorded, lockReleased, alerted}`.

Thin: parse the event, bind the log context, reconcile (handlers/interlock/actions/reconcile.py).
"""

from __future__ import annotations

from .interlock.actions import reconcile
from .interlock.log import bind, logger


def handler(event, context):
    end, reason = reconcile.parse_execution_end(event)
    if end is None:
        logger().warning("event not reconciled", extra={"reason": reason})
        return {"reconciled": False, "reason": reason}
    bind(pipelineID=end.pipeline_id, scheduleID=end.schedule_id, date=end.date, execution=end.name)
    return {"reconciled": True, **reconcile.reconcile(end)}
