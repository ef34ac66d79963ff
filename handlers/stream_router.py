"""Stream-router Lambda: one Step Functions execution per new MARKER item, with partial batch failures.

Every record is re-checked here (the event source filter is not relied on). A record that is not a marker
INSERT is ignored; a malformed marker or a failed StartExecution is reported in `batchItemFailures` by its
sequence number while the rest of the batch proceeds (Powertools' BatchProcessor, imported on first use; a batch
whose every record failed is reported the same way, not raised); ExecutionAlreadyExists means the marker was
already routed (a redelivery) and counts as done.
"""

from __future__ import annotations

import functools
import json

from .interlock import clients, settings
from .interlock.log import bind, logger
from .interlock.routing import MalformedRecord, route


def handler(event, context):
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    state_machine_arn = settings.get().state_machine_arn
    processor = BatchProcessor(EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=functools.partial(_route, state_machine_arn), processor=processor
    )


def _route(state_machine_arn: str, record) -> None:
    """Start the execution of one stream record (a Powertools DynamoDBRecord); raising marks it failed."""
    sequence = record.dynamodb.sequence_number if record.dynamodb else None
    try:
        start = route(record.raw_event)
        if start is None:
            return
        bind(
            pipelineID=start.input["pipelineID"],
            scheduleID=start.input["scheduleID"],
            date=start.input["date"],
            execution=start.name,
        )
        _start(state_machine_arn, start.name, start.input)
        logger().info("execution started", extra={"markerKey": start.input["markerKey"]})
    except MalformedRecord as exc:
        logger().error("malformed marker record", extra={"error": str(exc), "sequenceNumber": sequence})
        raise
    except Exception as exc:
        logger().exception("starting execution failed", extra={"error": str(exc), "sequenceNumber": sequence})
        raise


def _start(state_machine_arn: str, name: str, execution_input: dict) -> None:
    sfn = clients.client("stepfunctions")
    try:
        sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input))
    except sfn.exceptions.ExecutionAlreadyExists:
        logger().info("marker already routed", extra={"execution": name})
