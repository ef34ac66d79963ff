"""The sample's data access: the same function names the emulator uses from the real store."""

import json
import os
import secrets
import time

import boto3


def _ddb():
    return boto3.client("dynamodb")


def _table() -> str:
    return os.environ["TABLE_NAME"]


def put_pipeline(config: dict) -> None:
    _ddb().put_item(TableName=_table(), Item={"PK": {"S": f"PIPELINE#{config['name']}"}, "SK": {"S": "CONFIG"}})


def write_marker(pipeline_id: str, *, schedule_id: str, date: str, source: str, replay: bool = False) -> str:
    sk = f"MARKER#{source}#{time.time():.6f}#{secrets.token_hex(3)}"
    item = {"PK": {"S": f"PIPELINE#{pipeline_id}"}, "SK": {"S": sk}, "scheduleID": {"S": schedule_id}}
    if date != "omit":
        item["date"] = {"S": date}
    _ddb().put_item(TableName=_table(), Item=item)
    return sk


def get_run_log(pipeline_id: str, date: str, schedule_id: str = "daily") -> dict | None:
    item = (
        _ddb()
        .get_item(
            TableName=_table(),
            Key={"PK": {"S": f"PIPELINE#{pipeline_id}"}, "SK": {"S": f"RUNLOG#{date}#{schedule_id}"}},
        )
        .get("Item")
    )
    return {"status": item["status"]["S"]} if item else None


def put_run_log(pipeline_id: str, date: str, schedule_id: str, status: str) -> None:
    _ddb().put_item(
        TableName=_table(),
        Item={
            "PK": {"S": f"PIPELINE#{pipeline_id}"},
            "SK": {"S": f"RUNLOG#{date}#{schedule_id}"},
            "status": {"S": status},
        },
    )


def get_lock(pipeline_id: str, schedule_id: str) -> dict | None:
    item = (
        _ddb()
        .get_item(TableName=_table(), Key={"PK": {"S": f"LOCK#{pipeline_id}#{schedule_id}"}, "SK": {"S": "LOCK"}})
        .get("Item")
    )
    return item or None


def record_event(event) -> None:
    _ddb().put_item(
        TableName=_table(),
        Item={
            "PK": {"S": "EVENTS"},
            "SK": {"S": f"{time.time():.6f}#{secrets.token_hex(3)}"},
            "body": {"S": json.dumps(event)},
        },
    )


def received_events() -> list:
    items = _ddb().query(
        TableName=_table(), KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "EVENTS"}}
    )["Items"]
    return [json.loads(item["body"]["S"]) for item in items]
