"""DynamoDB stream -> stream-router: MARKER# INSERTs only, partial batch failures, bounded retries, SQS DLQ."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from handlers.interlock import schema

from .function_records import STREAM_ROUTER
from .functions import FunctionsArgs, LambdaFunction, LambdaFunctionArgs

# AWS applies this before invoking; the stream-router still re-checks every record (filters are not a contract).
MARKER_FILTER = json.dumps(
    {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {schema.SORT_KEY: {"S": [{"prefix": schema.MARKER_PREFIX}]}}},
    },
    sort_keys=True,
)
BATCH_SIZE = 10
MAXIMUM_RETRY_ATTEMPTS = 3
MAXIMUM_RECORD_AGE_SECONDS = 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass
class StreamRouterArgs:
    functions: FunctionsArgs  # its inputs name the state machine
    stream_arn: pulumi.Input[str]


class StreamRouter(pulumi.ComponentResource):
    """The stream-router function, its event source mapping and the dead-letter queue of failed batches."""

    def __init__(self, name: str, args: StreamRouterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:StreamRouter", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{args.functions.project_name}-stream-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            opts=child,
        )
        inputs = dataclasses.replace(args.functions.inputs, dead_letter_queue_arn=self.dead_letter_queue.arn)
        functions = dataclasses.replace(args.functions, inputs=inputs)
        self.function = LambdaFunction(f"{name}-function", LambdaFunctionArgs(STREAM_ROUTER, functions), child)
        self.mapping = aws.lambda_.EventSourceMapping(
            f"{name}-mapping",
            event_source_arn=args.stream_arn,
            function_name=self.function.arn,
            starting_position="TRIM_HORIZON",
            batch_size=BATCH_SIZE,
            filter_criteria=aws.lambda_.EventSourceMappingFilterCriteriaArgs(
                filters=[aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=MARKER_FILTER)]
            ),
            function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=MAXIMUM_RETRY_ATTEMPTS,
            maximum_record_age_in_seconds=MAXIMUM_RECORD_AGE_SECONDS,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=self.dead_letter_queue.arn
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.function.policy]),
        )
        self.register_outputs({"functionName": self.function.name, "queueArn": self.dead_letter_queue.arn})
