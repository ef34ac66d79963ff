"""Fixtures for handler tests: a moto account with the Interlock table, the alert topic and a queue that
receives every alert, with the handler caches reset so each test sees a fresh container."""

from __future__ import annotations

import io
import json
import os
import uuid
from dataclasses import dataclass, field

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from moto import mock_aws

from handlers.interlock import archetypes, clients, log, schema, secrets, settings
from tests.handlers.outbound_aws import API_TOKEN
from tests.handlers.outbound_http import allow_loopback, no_allowlist, server  # noqa: F401  (fixtures for every test here)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE_NAME = "interlock-test"


@dataclass
class AwsEnv:
    table_name: str
    topic_arn: str
    queue_url: str
    _seen: list = field(default_factory=list)

    def put_raw_item(self, item: dict) -> None:
        """Writes `item` (plain values) straight into the table, past the store: what another writer left there."""
        serializer = TypeSerializer()
        typed = {name: serializer.serialize(value) for name, value in item.items()}
        boto3.client("dynamodb").put_item(TableName=self.table_name, Item=typed)

    def alerts(self) -> list[dict]:
        """Every alert message delivered to the topic so far (parsed JSON, oldest first)."""
        sqs = boto3.client("sqs")
        while True:
            batch = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                envelope = json.loads(message["Body"])
                alert = json.loads(envelope["Message"])
                alert["_attributes"] = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                alert["_subject"] = envelope.get("Subject")
                self._seen.append(alert)
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return list(self._seen)


def _reset_caches() -> None:
    clients.reset()
    settings.reset()
    archetypes.clear_cache()


@pytest.fixture
def aws_env(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
        monkeypatch.setenv("ARCHETYPE_DIR", os.path.join(ROOT, "archetypes"))
        monkeypatch.setenv("READINESS_TTL_SECONDS", "3600")
        monkeypatch.setenv("RETENTION_TTL_SECONDS", str(168 * 3600))
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "interlock-test")
        monkeypatch.setenv("INTERLOCK_DRY_RUN", "false")
        boto3.client("dynamodb").create_table(**schema.create_table_kwargs(TABLE_NAME))
        sns = boto3.client("sns")
        topic_arn = sns.create_topic(Name="interlock-alerts")["TopicArn"]
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="interlock-alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv("SNS_TOPIC_ARN", topic_arn)
        _reset_caches()
        yield AwsEnv(table_name=TABLE_NAME, topic_arn=topic_arn, queue_url=queue_url)
    _reset_caches()


@pytest.fixture
def api_token(aws_env):
    """A job API's bearer token (API_TOKEN) kept in Secrets Manager: the Authorization header that references it."""
    secrets.clear_cache()
    boto3.client("secretsmanager").create_secret(Name="prod/jobs-api", SecretString=json.dumps({"token": API_TOKEN}))
    yield "Bearer {{secret:prod/jobs-api#token}}"
    secrets.clear_cache()


@pytest.fixture
def captured_logs(monkeypatch):
    """What the handlers log during the test (JSON lines): read with `.getvalue()`. The Logger's own handler is
    pointed at the buffer (pytest swaps sys.stdout between setup and call, so patching stdout would miss it)."""
    buffer = io.StringIO()
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"log-test-{uuid.uuid4().hex}")  # a fresh logging.Logger
    settings.reset()
    log.logger.cache_clear()
    log.logger().registered_handler.setStream(buffer)
    yield buffer
    log.logger.cache_clear()
