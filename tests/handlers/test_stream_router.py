"""Stream-router Lambda against moto Step Functions: routing, naming, dates, dedup and partial batch failures."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from handlers import stream_router
from handlers.interlock import clients, routing, schedule, settings, store


@pytest.fixture
def state_machine(aws_env, monkeypatch):
    iam = boto3.client("iam")
    role = iam.create_role(
        RoleName="sfn",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "states.amazonaws.com"}}
                ],
            }
        ),
    )
    arn = boto3.client("stepfunctions").create_state_machine(
        name="lifecycle",
        roleArn=role["Role"]["Arn"],
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    settings.reset()
    return arn


def executions(arn: str) -> list[dict]:
    sfn = boto3.client("stepfunctions")
    found = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [dict(e, input=json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])) for e in found]


def record(seq: str, pk: str, sk: str, event: str = "INSERT", **image: dict) -> dict:
    keys = {"PK": {"S": pk}, "SK": {"S": sk}}
    change = {"Keys": keys, "SequenceNumber": seq, "NewImage": {**keys, **image}}
    return {"eventID": f"e{seq}", "eventName": event, "dynamodb": change}


MARKER = "MARKER#freshness#2026-11-20T10:00:00Z"


def test_a_marker_insert_starts_one_execution(state_machine):
    out = stream_router.handler(
        {"Records": [record("1", "PIPELINE#sales", MARKER, scheduleID={"S": "h14"}, date={"S": "2026-11-19"})]}, None
    )
    assert out == {"batchItemFailures": []}
    (execution,) = executions(state_machine)
    assert execution["input"] == {
        "pipelineID": "sales",
        "scheduleID": "h14",
        "date": "2026-11-19",
        "source": "freshness",
        "markerKey": MARKER,
        "replay": False,
    }
    assert execution["name"] == routing.execution_name("sales", "h14", "2026-11-19", MARKER, "1")
    assert execution["name"].startswith("sales_h14_2026-11-19_")


def test_mixed_batch_valid_duplicate_non_marker_and_malformed(state_machine):
    batch = [
        record("10", "PIPELINE#sales", MARKER),
        record("10", "PIPELINE#sales", MARKER),  # the same record delivered again
        record("12", "PIPELINE#sales", "TRAIT#freshness"),  # not a marker
        record("13", "PIPELINE#sales", "MARKER#x#1", event="REMOVE"),  # TTL deletion
        record("14", "PIPELINE#sales", "MARKER#y#1", event="MODIFY"),
        record("15", "SOMETHING#else", "MARKER#x#1"),  # malformed: not a pipeline key
        record("16", "PIPELINE#sales", "MARKER#x#2", scheduleID={"N": "14"}),  # malformed attribute type
        record("17", "PIPELINE#sales", "MARKER#x#3", date={"S": "2026-13-45"}),
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "18"}},  # no keys
        record(
            "19",
            "PIPELINE#orders",
            "MARKER#cascade#2026-11-20T00:00:00.000000Z#abc",
            date={"S": "2026-11-20"},
            source={"S": "cascade"},
        ),
    ]
    out = stream_router.handler({"Records": batch}, None)
    assert out == {"batchItemFailures": [{"itemIdentifier": s} for s in ("15", "16", "17", "18")]}
    started = executions(state_machine)
    assert sorted(e["input"]["pipelineID"] for e in started) == ["orders", "sales"]
    again = stream_router.handler({"Records": batch[:2]}, None)
    assert again == {"batchItemFailures": []} and len(executions(state_machine)) == 2


def test_the_same_key_written_again_is_a_new_request(state_machine):
    """Deleting a marker and putting the same item again (the README's replay example, run twice) is a new stream
    record with a new sequence number: it starts a new execution; a redelivery of either record does not."""
    first, second = (record(seq, "PIPELINE#sales", MARKER, date={"S": "2026-11-20"}) for seq in ("21", "35"))
    for batch in ([first], [second], [first, second]):
        assert stream_router.handler({"Records": batch}, None) == {"batchItemFailures": []}
    assert len(executions(state_machine)) == 2


def test_a_new_marker_for_the_same_day_starts_a_new_execution(state_machine):
    stream_router.handler({"Records": [record("1", "PIPELINE#sales", "MARKER#a#1", date={"S": "2026-11-20"})]}, None)
    stream_router.handler({"Records": [record("2", "PIPELINE#sales", "MARKER#a#2", date={"S": "2026-11-20"})]}, None)
    assert len(executions(state_machine)) == 2


def test_start_execution_failure_is_reported_and_the_rest_proceeds(state_machine, monkeypatch):
    sfn = clients.client("stepfunctions")
    real_start = sfn.start_execution

    def throttled_for_orders(**kwargs):
        if json.loads(kwargs["input"])["pipelineID"] == "orders":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartExecution")
        return real_start(**kwargs)

    monkeypatch.setattr(sfn, "start_execution", throttled_for_orders)
    batch = [
        record("6", "PIPELINE#sales", "MARKER#a#1"),
        record("7", "PIPELINE#orders", MARKER),
        record("8", "PIPELINE#stock", "MARKER#b#1"),
    ]
    out = stream_router.handler({"Records": batch}, None)
    assert out == {"batchItemFailures": [{"itemIdentifier": "7"}]}
    assert sorted(e["input"]["pipelineID"] for e in executions(state_machine)) == ["sales", "stock"]


def test_a_missing_state_machine_fails_every_record(state_machine, monkeypatch):
    monkeypatch.setenv("STATE_MACHINE_ARN", state_machine.replace("lifecycle", "missing"))
    settings.reset()
    out = stream_router.handler({"Records": [record("7", "PIPELINE#sales", MARKER)]}, None)
    assert out == {"batchItemFailures": [{"itemIdentifier": "7"}]}


def test_missing_state_machine_arn_is_a_broken_environment(aws_env, monkeypatch):
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    settings.reset()
    with pytest.raises(RuntimeError, match="STATE_MACHINE_ARN"):
        stream_router.handler({"Records": []}, None)


def test_replay_marker_from_the_store(state_machine):
    sk = store.write_marker("sales", schedule_id="daily", date="2026-11-01", source="late-arrival", replay=True)
    image = {
        "scheduleID": {"S": "daily"},
        "date": {"S": "2026-11-01"},
        "source": {"S": "late-arrival"},
        "replay": {"BOOL": True},
    }
    stream_router.handler({"Records": [record("1", "PIPELINE#sales", sk, **image)]}, None)
    (execution,) = executions(state_machine)
    assert execution["input"]["replay"] is True and execution["input"]["markerKey"] == sk


@pytest.mark.parametrize(
    "image, sk, expected",
    [
        ({"date": {"S": "2026-11-19"}}, MARKER, "2026-11-19"),
        # EventBridge Scheduler writes the scheduled time into `date`, with the schedule's zone
        ({"date": {"S": "2026-11-29T03:30:00Z"}, "timezone": {"S": "America/New_York"}}, MARKER, "2026-11-28"),
        ({"date": {"S": "2026-11-29T03:30:00Z"}}, MARKER, "2026-11-29"),
        ({"timestamp": {"S": "1795900000000"}}, MARKER, "2026-11-28"),
        ({}, "MARKER#freshness#2026-02-22T23:59:00+00:00", "2026-02-22"),
        ({}, "MARKER#manual#not-a-time", None),  # today in UTC
    ],
)
def test_run_date_derivation(image, sk, expected):
    start = routing.route(record("1", "PIPELINE#p1", sk, **image))
    assert start.input["date"] == (expected or schedule.today_utc())


@pytest.mark.parametrize(
    "image, sk, expected",
    [
        ({"source": {"S": "replay"}}, "MARKER#replay#1", True),
        ({"replay": {"S": "true"}}, "MARKER#x#1", True),
        ({"replay": {"BOOL": False}}, "MARKER#x#1", False),
        ({}, "MARKER#x#1", False),
    ],
)
def test_replay_flag(image, sk, expected):
    assert routing.route(record("1", "PIPELINE#p1", sk, **image)).input["replay"] is expected


def test_defaults_without_new_image():
    raw = {"eventName": "INSERT", "dynamodb": {"Keys": {"PK": {"S": "PIPELINE#p1"}, "SK": {"S": "MARKER#ext#1"}}}}
    start = routing.route(raw)
    assert (start.input["scheduleID"], start.input["source"]) == ("daily", "ext")


def test_execution_names_are_safe_bounded_stable_and_distinct():
    long_id = "p" * 64
    name = routing.execution_name(long_id, "daily", "2026-11-28", "MARKER#a#1")
    assert len(name) == 80 and name == routing.execution_name(long_id, "daily", "2026-11-28", "MARKER#a#1")
    assert name != routing.execution_name(long_id, "daily", "2026-11-28", "MARKER#a#2")
    assert name != routing.execution_name(long_id, "daily", "2026-11-28", "MARKER#a#1", "2")
    odd = routing.execution_name("a.b", "daily", "2026-11-28", "MARKER#s p:a c/e#1")
    assert all(c.isalnum() or c in "_-" for c in odd)
    assert odd != routing.execution_name("a_b", "daily", "2026-11-28", "MARKER#s p:a c/e#1")


def test_records_read_from_the_table_stream(state_machine, aws_env):
    """Real stream records (moto's DynamoDB Streams) of markers written by the store and by a scheduler."""
    ddb = boto3.client("dynamodb")
    # botocore resolves an account-based streams endpoint that moto does not route; name the regional one
    streams = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
    stream_arn = ddb.describe_table(TableName=aws_env.table_name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    store.put_pipeline({"name": "sales", "archetype": "batch-ingestion"})
    cascade = store.write_marker(
        "sales", schedule_id="daily", date="2026-11-20", source="cascade", attributes={"upstreamPipeline": "raw"}
    )
    aws_env.put_raw_item(
        {  # what EventBridge Scheduler's putItem writes
            "PK": "PIPELINE#sales",
            "SK": "MARKER#schedule#2026-11-21T04:00:00Z#daily",
            "scheduleID": "daily",
            "source": "schedule",
            "date": "2026-11-21T04:00:00Z",
            "timezone": "America/Los_Angeles",
        }
    )
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert len(records) == 3
    out = stream_router.handler({"Records": records}, None)
    assert out == {"batchItemFailures": []}
    inputs = sorted((e["input"] for e in executions(state_machine)), key=lambda i: i["source"])
    assert inputs == [
        {
            "pipelineID": "sales",
            "scheduleID": "daily",
            "date": "2026-11-20",
            "source": "cascade",
            "markerKey": cascade,
            "replay": False,
        },
        {
            "pipelineID": "sales",
            "scheduleID": "daily",
            "date": "2026-11-20",
            "source": "schedule",
            "markerKey": "MARKER#schedule#2026-11-21T04:00:00Z#daily",
            "replay": False,
        },
    ]
