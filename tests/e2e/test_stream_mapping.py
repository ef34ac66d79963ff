"""The stream mapping's AWS semantics, against scripted stream, Lambda and SQS clients (no server needed)."""

import datetime
import io
import json
import time

from emulator.stream_mapping import StreamMapping

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/label"


def record(sequence, sk="MARKER#manual#1", age_s=0.0):
    created = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=age_s)
    return {
        "eventID": f"e{sequence}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {"PK": {"S": "PIPELINE#p"}, "SK": {"S": sk}},
            "SequenceNumber": str(sequence),
            "ApproximateCreationDateTime": created,
        },
    }


class Clients:
    """Scripted stand-ins for the three clients the poller uses; `respond(batch)` decides each invocation."""

    def __init__(self, records, respond):
        self.pending, self.respond = list(records), respond
        self.batches, self.sent = [], []

    def __call__(self, service):
        return self

    # dynamodbstreams
    def describe_stream(self, StreamArn):
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **kwargs):
        return {"ShardIterator": "iterator"}

    def get_records(self, ShardIterator, Limit):
        records, self.pending = self.pending, []
        return {"Records": records, "NextShardIterator": "iterator"}

    # lambda
    def invoke(self, FunctionName, InvocationType, Payload):
        batch = [int(r["dynamodb"]["SequenceNumber"]) for r in json.loads(Payload)["Records"]]
        self.batches.append(batch)
        payload, failed = self.respond(batch)
        response = {"Payload": io.BytesIO(json.dumps(payload).encode())}
        if failed:
            response["FunctionError"] = "Unhandled"
        return response

    # sqs
    def get_queue_url(self, QueueName):
        return {"QueueUrl": f"https://queue/{QueueName}"}

    def send_message(self, QueueUrl, MessageBody):
        self.sent.append(json.loads(MessageBody))


def deliver(records, respond, **config):
    clients = Clients(records, respond)
    mapping = StreamMapping(
        {
            "UUID": "mapping-1",
            "EventSourceArn": STREAM,
            "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
            "StartingPosition": "TRIM_HORIZON",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:1:dlq"}},
            **config,
        },
        clients,
    )
    mapping.start()
    deadline = time.monotonic() + 10
    while clients.pending or not mapping.wait_idle(0.5):
        assert time.monotonic() < deadline
    mapping.stop()
    return clients


def ok(batch):
    return {"batchItemFailures": []}, False


def test_filter_criteria_drop_records_that_match_no_pattern():
    pattern = json.dumps({"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "MARKER#"}]}}}})
    clients = deliver(
        [record(1, "CONFIG"), record(2), record(3, "RUNLOG#x")], ok, FilterCriteria={"Filters": [{"Pattern": pattern}]}
    )
    assert clients.batches == [[2]]


def test_batches_hold_at_most_batch_size_records():
    assert deliver([record(n) for n in range(1, 6)], ok, BatchSize=2).batches == [[1, 2], [3, 4], [5]]


def test_a_partial_batch_response_retries_from_the_lowest_failed_record():
    def fail_two_once(batch):
        first_time = batch == [1, 2, 3]
        return {"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}] if first_time else []}, False

    clients = deliver([record(1), record(2), record(3)], fail_two_once, MaximumRetryAttempts=2)
    assert clients.batches == [[1, 2, 3], [2, 3]]
    assert clients.sent == []


def test_function_errors_bisect_then_retry_the_poison_record_then_send_its_metadata():
    def poison_three(batch):
        return ({"errorMessage": "boom"}, True) if 3 in batch else ({}, False)

    clients = deliver(
        [record(n) for n in range(1, 5)], poison_three, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1
    )
    assert clients.batches == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [4]]
    [letter] = clients.sent
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert letter["requestContext"]["approximateInvokeCount"] == 2
    info = letter["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("3", "3", 1)
    assert info["streamArn"] == STREAM and info["shardId"] == "shard-1"


def test_an_unknown_item_identifier_fails_the_whole_batch():
    clients = deliver(
        [record(1), record(2)],
        lambda b: ({"batchItemFailures": [{"itemIdentifier": ""}]}, False),
        MaximumRetryAttempts=1,
    )
    assert clients.batches == [[1, 2], [1, 2]]
    assert clients.sent[0]["DDBStreamBatchInfo"]["batchSize"] == 2


def test_records_older_than_the_maximum_age_are_not_delivered():
    clients = deliver([record(1, age_s=120)], ok, MaximumRecordAgeInSeconds=60)
    assert clients.batches == []
    assert clients.sent[0]["requestContext"]["condition"] == "RecordAgeExceeded"
