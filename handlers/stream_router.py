"""Stream-router Lambda: one Step Functions execution per new MARKER item, with partial batch failures.

Every record is re-checked here (the event source filter is not relied on). A record that is not a marker
INSERT is ignored; a malformed marker or a failed StartExecution is reported in `batchItemFailures` by its
sequence number while the rest of the batch proceeds; ExecutionAlreadyExists means the marker was already
routed (a redelivery) and counts as done.
"""
from __future__ import annotations

import json

from .interlock import clients, settings
from .interlock.log import bind, logger
from .interlock.routing import MalformedRecord, route


def _start(state_machine_arn: str, name: str, execution_input: dict) -> None:
    sfn = clients.client("stepfunctions")
    try:
        sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input))
    except sfn.exceptions.ExecutionAlreadyExists:
        logger().info("marker already routed", extra={"execution": name})


def handler(event, context):
    state_machine_arn = settings.get().state_machine_arn
    if not state_machine_arn:
        raise RuntimeError("STATE_MACHINE_ARN environment variable required")
    failures = []
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records if isinstance(records, list) else []:
        change = record.get("dynamodb") if isinstance(record, dict) else None
        sequence = change.get("SequenceNumber") if isinstance(change, dict) else None
        try:
            start = route(record)
            if start is None:
                continue
            bind(pipelineID=start.input["pipelineID"], scheduleID=start.input["scheduleID"],
                 date=start.input["date"], execution=start.name)
            _start(state_machine_arn, start.name, start.input)
            logger().info("execution started", extra={"markerKey": start.input["markerKey"]})
        except MalformedRecord as exc:
            logger().error("malformed marker record", extra={"error": str(exc), "sequenceNumber": sequence})
            failures.append(sequence)
        except Exception as exc:  # any other per-record failure: report it, keep going with the batch
            logger().exception("starting execution failed", extra={"error": str(exc), "sequenceNumber": sequence})
            failures.append(sequence)
    return {"batchItemFailures": [{"itemIdentifier": s or ""} for s in failures]}
