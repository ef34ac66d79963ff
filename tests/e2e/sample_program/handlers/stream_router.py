"""Starts one execution per MARKER insert; a marker without a date is reported as a failed item."""

import json
import os
import re

import boto3

from .interlock import store  # noqa: F401  (imported like the real handler does)


def handler(event, context):
    failures = []
    for record in event["Records"]:
        if record["eventName"] != "INSERT":
            continue
        image = record["dynamodb"]["NewImage"]
        if "date" not in image:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
            continue
        key = record["dynamodb"]["Keys"]["SK"]["S"]
        payload = {
            "pipelineID": record["dynamodb"]["Keys"]["PK"]["S"].split("#", 1)[1],
            "scheduleID": image["scheduleID"]["S"],
            "date": image["date"]["S"],
            "markerKey": key,
        }
        boto3.client("stepfunctions").start_execution(
            stateMachineArn=os.environ["STATE_MACHINE_ARN"],
            name=re.sub(r"[^\w-]", "_", key)[-80:],
            input=json.dumps(payload),
        )
    return {"batchItemFailures": failures}
