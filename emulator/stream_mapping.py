"""DynamoDB stream → Lambda event source mappings with AWS's documented semantics.

moto delivers stream records synchronously inside the write request and ignores the mapping's filter, partial
batch responses, retries, bisection and on-failure destination. The emulator switches that inline delivery off and
runs this poller instead, one thread per mapping, following the Lambda developer guide ("Using AWS Lambda with
Amazon DynamoDB", "Lambda event filtering"):
- records are read from the stream (`GetRecords`) in order, from TRIM_HORIZON or LATEST as configured;
- `FilterCriteria`: a record is delivered when any filter pattern matches it (EventBridge pattern syntax over the
  record as delivered); records matching none are dropped and count as processed;
- batches of at most `BatchSize` records (default 100) are passed to the function synchronously;
- a function error fails the whole batch; with `ReportBatchItemFailures` a response
  `{"batchItemFailures": [{"itemIdentifier": <sequence number>}]}` checkpoints before the lowest failed record and
  retries from there, the batch being "bisected at the returned sequence number" (an unknown or empty identifier
  fails the whole batch);
- `BisectBatchOnFunctionError` splits a batch that failed as a whole in two before retrying (splitting does not use
  a retry);
- a batch is retried up to `MaximumRetryAttempts` times (-1: until the record expires) and dropped once a record is
  older than `MaximumRecordAgeInSeconds` (-1: never); then the batch's metadata (AWS's `DDBStreamBatchInfo`
  document, not the records) is sent to the `OnFailure` SQS destination and processing moves past it.
Not emulated: several shards, `ParallelizationFactor`, `MaximumBatchingWindowInSeconds`, tumbling windows.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from moto.events.models import EventPattern

POLL_INTERVAL_SECONDS = 0.1
RETRY_DELAY_SECONDS = 0.2  # times the attempt number: retries come quickly, as Lambda's first retries do
logger = logging.getLogger(__name__)


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(value: Any) -> float:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)


class StreamMapping:
    """Polls one DynamoDB stream for one event source mapping and delivers records the way Lambda does."""

    def __init__(self, config: dict, client: Callable[[str], Any]) -> None:
        self.config = config
        self._client = client
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"esm-{config['UUID'][:8]}", daemon=True)
        self._patterns = [
            EventPattern.load(f["Pattern"]) for f in (config.get("FilterCriteria") or {}).get("Filters", [])
        ]
        self.delivered_batches = 0
        self.dropped_batches = 0

    def start(self) -> None:
        """Position at the configured starting point now (LATEST means: records written after this call)."""
        streams = self._client("dynamodbstreams")
        arn = self.config["EventSourceArn"]
        self._shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        position = self.config.get("StartingPosition") or "TRIM_HORIZON"
        self._iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=self._shard_id, ShardIteratorType=position)[
            "ShardIterator"
        ]
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until the poller has caught up with the stream (every record so far handled)."""
        self._idle.clear()
        return self._idle.wait(timeout_s)

    # -- the loop -----------------------------------------------------------------------------------------------
    def _run(self) -> None:
        streams = self._client("dynamodbstreams")
        while not self._stop.is_set():
            try:
                response = streams.get_records(ShardIterator=self._iterator, Limit=1000)
            except Exception as error:
                logger.warning("stream mapping %s: reading the stream failed: %s", self.config["UUID"], error)
                self._stop.wait(POLL_INTERVAL_SECONDS)
                continue
            self._iterator = response["NextShardIterator"]
            records = [self._as_event_record(r) for r in response["Records"]]
            if records:
                self._process([r for r in records if self._matches(r)], self._shard_id)
            else:
                self._idle.set()
                self._stop.wait(POLL_INTERVAL_SECONDS)

    def _as_event_record(self, record: dict) -> dict:
        dynamodb = dict(record["dynamodb"])
        if "ApproximateCreationDateTime" in dynamodb:
            dynamodb["ApproximateCreationDateTime"] = _epoch(dynamodb["ApproximateCreationDateTime"])
        return {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": record.get("awsRegion"),
            "dynamodb": dynamodb,
            "eventSourceARN": self.config["EventSourceArn"],
        }

    def _matches(self, record: dict) -> bool:
        return not self._patterns or any(p.matches_event(record) for p in self._patterns)

    def _process(self, records: list[dict], shard_id: str) -> None:
        size = int(self.config.get("BatchSize") or 100)
        for start in range(0, len(records), size):
            self._deliver(records[start : start + size], shard_id)

    def _deliver(self, batch: list[dict], shard_id: str) -> None:
        """Deliver one batch until it succeeds, is bisected, or is given up on."""
        max_retries = self._limit("MaximumRetryAttempts")
        max_age = self._limit("MaximumRecordAgeInSeconds")
        attempts = 0
        while batch and not self._stop.is_set():
            oldest = batch[0]["dynamodb"].get("ApproximateCreationDateTime", time.time())
            if max_age >= 0 and time.time() - oldest > max_age:
                self._give_up(batch, shard_id, "RecordAgeExceeded", attempts, None)
                return
            attempts += 1
            try:
                failed_from, error = self._invoke(batch)
            except Exception as exc:
                logger.warning("stream mapping %s: invoking the function failed: %s", self.config["UUID"], exc)
                failed_from, error = 0, type(exc).__name__
            if failed_from is None:
                self.delivered_batches += 1
                return
            if error is None:  # a partial batch response: checkpoint before the lowest failed record
                batch = batch[failed_from:]
            elif self.config.get("BisectBatchOnFunctionError") and len(batch) > 1:
                middle = len(batch) // 2
                self._deliver(batch[:middle], shard_id)
                self._deliver(batch[middle:], shard_id)
                return
            if max_retries >= 0 and attempts > max_retries:
                self._give_up(batch, shard_id, "RetryAttemptsExhausted", attempts, error)
                return
            self._stop.wait(RETRY_DELAY_SECONDS * attempts)

    def _limit(self, key: str) -> int:
        value = self.config.get(key)
        return -1 if value is None else int(value)

    def _invoke(self, batch: list[dict]) -> tuple[int | None, str | None]:
        """Invoke the function; None when every record succeeded, else the index of the first record to retry."""
        response = self._client("lambda").invoke(
            FunctionName=self.config["FunctionArn"],
            InvocationType="RequestResponse",
            Payload=json.dumps({"Records": batch}).encode(),
        )
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            return 0, "Unhandled"
        if "ReportBatchItemFailures" not in (self.config.get("FunctionResponseTypes") or []):
            return None, None
        try:
            failures = (json.loads(payload or b"null") or {}).get("batchItemFailures") or []
        except (ValueError, AttributeError):
            return 0, "InvalidResponse"
        if not failures:
            return None, None
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier not in sequence_numbers:
                return 0, "InvalidItemIdentifier"
            indexes.append(sequence_numbers.index(identifier))
        return min(indexes), None

    def _give_up(self, batch: list[dict], shard_id: str, condition: str, attempts: int, error: str | None) -> None:
        self.dropped_batches += 1
        destination = ((self.config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if not destination:
            return
        document = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.config["FunctionArn"],
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": error or ""},
            "version": "1.0",
            "timestamp": _now_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(batch[0]),
                "approximateArrivalOfLastRecord": _iso(batch[-1]),
                "batchSize": len(batch),
                "streamArn": self.config["EventSourceArn"],
            },
        }
        sqs = self._client("sqs")
        queue_name = destination.split(":")[-1]
        queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(document))


def _iso(record: dict) -> str:
    stamp = record["dynamodb"].get("ApproximateCreationDateTime", time.time())
    return (
        datetime.datetime.fromtimestamp(stamp, datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
