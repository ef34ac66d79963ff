"""alerts.publish against moto SNS -> SQS: message shape, filterable attributes, best-effort failures."""

from __future__ import annotations

import json
import re

import boto3

from handlers.interlock import alerts, schedule, settings

SHAPE = {
    "level",
    "alertType",
    "pipelineID",
    "scheduleID",
    "date",
    "runID",
    "message",
    "details",
    "timestamp",
    "version",
    "source",
    "content",
    "metadata",
}  # the last four: the AWS Chatbot custom-notification envelope


def test_alert_message_and_attributes(aws_env):
    assert (
        alerts.publish(
            "warning",
            alerts.AlertType.EVALUATION_SLA_BREACHED,
            "late",
            pipeline_id="sales",
            schedule_id="daily",
            date="2026-11-28",
            run_id="r1",
            details={"deadline": "x"},
        )
        is True
    )
    (alert,) = aws_env.alerts()
    assert set(alert) - {"_attributes", "_subject"} == SHAPE
    assert (
        alert["level"],
        alert["alertType"],
        alert["pipelineID"],
        alert["scheduleID"],
        alert["date"],
        alert["runID"],
        alert["message"],
        alert["details"],
    ) == ("warning", "EVALUATION_SLA_BREACHED", "sales", "daily", "2026-11-28", "r1", "late", {"deadline": "x"})
    schedule.parse_timestamp(alert["timestamp"])
    assert alert["_attributes"] == {"level": "warning", "alertType": "EVALUATION_SLA_BREACHED", "pipelineID": "sales"}
    assert alert["_subject"] == "[interlock] warning EVALUATION_SLA_BREACHED sales"


def test_unknown_fields_are_null_and_unknown_level_is_error(aws_env):
    alerts.publish("fatal", "X", "m", pipeline_id="p")
    (alert,) = aws_env.alerts()
    assert alert["level"] == "error" and alert["scheduleID"] is None and alert["runID"] is None
    assert alert["details"] == {}


def test_subscription_filter_on_attributes(aws_env):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    url = sqs.create_queue(QueueName="errors-only")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=aws_env.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": '{"level": ["error"]}', "RawMessageDelivery": "true"},
    )
    alerts.publish("info", "X", "info", pipeline_id="p")
    alerts.publish("error", "Y", "error", pipeline_id="p")
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
    assert len(bodies) == 1 and '"alertType": "Y"' in bodies[0]


def test_publish_failure_is_logged_not_raised(aws_env, monkeypatch):
    monkeypatch.setenv("SNS_TOPIC_ARN", aws_env.topic_arn + "-missing")
    settings.reset()
    assert alerts.publish("error", "X", "m", pipeline_id="p") is False


def test_no_topic_configured(aws_env, monkeypatch):
    monkeypatch.delenv("SNS_TOPIC_ARN")
    settings.reset()
    assert alerts.publish("error", "X", "m", pipeline_id="p") is False
    assert aws_env.alerts() == []


def test_subject_is_ascii_and_short(aws_env):
    alerts.publish("error", "X", "m", pipeline_id="p" * 200 + "é")
    (alert,) = aws_env.alerts()
    assert len(alert["_subject"]) < 100 and alert["_subject"].isascii()


def test_alerts_are_archived_in_the_data_bucket_when_the_stack_has_one(aws_env, monkeypatch):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="interlock-data")
    monkeypatch.setenv("DATA_BUCKET", "interlock-data")
    settings.reset()
    alerts.publish("error", alerts.AlertType.RUN_FAILED, "boom", pipeline_id="sales", date="2026-11-27")
    (listed,) = s3.list_objects_v2(Bucket="interlock-data")["Contents"]
    assert re.fullmatch(r"alerts/2026-11-27/sales/\d{8}T\d{6}[.\d]*Z-RUN_FAILED-[0-9a-f]{8}\.json", listed["Key"])
    archived = json.loads(s3.get_object(Bucket="interlock-data", Key=listed["Key"])["Body"].read())
    (published,) = aws_env.alerts()
    assert archived == {k: v for k, v in published.items() if not k.startswith("_")}


def test_an_archive_failure_still_publishes(aws_env, monkeypatch):
    monkeypatch.setenv("DATA_BUCKET", "no-such-bucket")
    settings.reset()
    assert alerts.publish("error", "X", "m", pipeline_id="p") is True
    assert len(aws_env.alerts()) == 1


def test_an_alert_is_also_an_aws_chatbot_custom_notification():
    alert = alerts.build(
        "error", "RUN_FAILED", "sales failed for good", pipeline_id="sales", schedule_id="daily", date="2026-11-27"
    )
    assert (alert["version"], alert["source"]) == ("1.0", "custom")
    assert alert["content"] == {
        "textType": "client-markdown",
        "title": "Interlock error: RUN_FAILED sales",
        "description": "sales failed for good",
    }
    assert alert["metadata"] == {"threadId": "sales/daily/2026-11-27", "eventType": "RUN_FAILED"}
