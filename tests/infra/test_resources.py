"""The resource inventory of the real program and the properties DESIGN §4 asks of each resource."""

from __future__ import annotations

import json
import re
from collections import Counter

from handlers.interlock import schema, store
from tests.infra.conftest import ACCOUNT, FULL_CONFIG

CORE = {
    "orchestrator": "handlers.orchestrator.handler",
    "evaluator": "handlers.evaluator.handler",
    "trigger": "handlers.trigger.handler",
    "run-checker": "handlers.run_checker.handler",
}
HANDLERS = {
    **CORE,
    "stream-router": "handlers.stream_router.handler",
    "reconciler": "handlers.reconciler.handler",
    "job-events": "handlers.job_events.handler",
    "watchdog": "handlers.watchdog.handler",
}
EXECUTION_ENDS = {
    "source": ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    "detail": {
        "status": ["ABORTED", "TIMED_OUT", "FAILED"],
        "stateMachineArn": [f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:team-a-pipeline"],
    },
}
COMMON_ENV = {
    "TABLE_NAME",
    "SNS_TOPIC_ARN",
    "ARCHETYPE_DIR",
    "READINESS_TTL_SECONDS",
    "RETENTION_TTL_SECONDS",
    "EVALUATOR_BASE_URL",
    "DATA_BUCKET",
    "INTERLOCK_ALLOWED_NETWORKS",
    "INTERLOCK_DRY_RUN",
    "POWERTOOLS_SERVICE_NAME",
    "LOG_LEVEL",
}
OWN_ENV = {
    "orchestrator": {"EVALUATOR_FUNCTION"},
    "stream-router": {"STATE_MACHINE_ARN"},
    "watchdog": {"STATE_MACHINE_ARN", "EXECUTION_TIMEOUT_SECONDS", "WATCHDOG_SCHEDULES"},
}


def custom(run) -> Counter:
    return Counter(resource.type for resource in run.resources if not resource.type.startswith("interlock:"))


def functions(run) -> dict[str, object]:
    return {
        resource.inputs["name"].removeprefix("team-a-"): resource
        for resource in run.of_type("aws:lambda/function:Function")
    }


def test_default_inventory(default_run):
    assert custom(default_run) == Counter(
        {
            "aws:dynamodb/table:Table": 1,
            "aws:sns/topic:Topic": 1,
            "aws:lambda/layerVersion:LayerVersion": 1,
            "aws:lambda/function:Function": 8,
            "aws:iam/role:Role": 10,  # eight functions, the state machine, the Scheduler (markers and the watchdog)
            "aws:iam/rolePolicy:RolePolicy": 10,
            "aws:cloudwatch/logGroup:LogGroup": 9,
            "aws:sfn/stateMachine:StateMachine": 1,
            "aws:sqs/queue:Queue": 1,
            "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
            "aws:scheduler/scheduleGroup:ScheduleGroup": 1,
            "aws:scheduler/schedule:Schedule": 1,  # the watchdog's
            "aws:cloudwatch/metricAlarm:MetricAlarm": 12,
            "aws:dynamodb/tableItem:TableItem": 5,  # 3 pipeline configs, 2 downstream-index edges
            "aws:kms/key:Key": 1,
            "aws:kms/alias:Alias": 1,
            "aws:cloudwatch/eventRule:EventRule": 1,  # no job rules without trigger permissions
            "aws:cloudwatch/eventTarget:EventTarget": 1,
            "aws:lambda/permission:Permission": 1,
            "aws:cloudwatch/dashboard:Dashboard": 1,
        }
    )


def test_full_inventory_adds_bucket_schedules_and_subscriptions(full_run):
    counts = custom(full_run)
    assert counts["aws:scheduler/schedule:Schedule"] == 3  # two configured, the watchdog's
    assert counts["aws:sns/topicSubscription:TopicSubscription"] == 4
    # the pager subscription, the reconciler's rule and one job rule per permitted job service
    assert counts["aws:lambda/permission:Permission"] == 6
    assert counts["aws:cloudwatch/eventRule:EventRule"] == counts["aws:cloudwatch/eventTarget:EventTarget"] == 5
    for bucket_type in (
        "bucket:Bucket",
        "bucketVersioning:BucketVersioning",
        "bucketPolicy:BucketPolicy",
        "bucketPublicAccessBlock:BucketPublicAccessBlock",
        "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ):
        assert counts[f"aws:s3/{bucket_type}"] == 1


def test_components_follow_the_component_rules(default_run):
    components = {r.name: r for r in default_run.resources if r.type.startswith("interlock:index:")}
    assert {r.type for r in components.values()} >= {
        "interlock:index:InterlockStack",
        "interlock:index:Table",
        "interlock:index:AlertTopic",
        "interlock:index:CoreFunctions",
        "interlock:index:FunctionPackage",
        "interlock:index:LambdaFunction",
        "interlock:index:PipelineStateMachine",
        "interlock:index:StreamRouter",
        "interlock:index:Schedules",
        "interlock:index:PipelineRegistry",
        "interlock:index:Alarms",
        "interlock:index:ExecutionEvents",
        "interlock:index:JobEvents",
    }
    for resource in default_run.resources:
        if resource.type != "interlock:index:InterlockStack":
            assert resource.parent in components, f"{resource.name} is not parented to a component"
            assert resource.name.startswith(resource.parent), f"{resource.name} not derived from {resource.parent}"


def test_table(default_run, full_run):
    (table,) = default_run.of_type("aws:dynamodb/table:Table")
    inputs = table.inputs
    assert inputs["name"] == "team-a" and inputs["billingMode"] == "PAY_PER_REQUEST"
    assert (inputs["hashKey"], inputs["rangeKey"]) == (schema.PARTITION_KEY, schema.SORT_KEY)
    assert {a["name"] for a in inputs["attributes"]} == {"PK", "SK", "GSI1PK", "GSI1SK"}
    (gsi,) = inputs["globalSecondaryIndexes"]
    assert gsi["name"] == "GSI1" and gsi["projectionType"] == "ALL"
    assert [(k["attributeName"], k["keyType"]) for k in gsi["keySchemas"]] == [("GSI1PK", "HASH"), ("GSI1SK", "RANGE")]
    assert inputs["streamEnabled"] and inputs["streamViewType"] == schema.STREAM_VIEW_TYPE
    assert inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert inputs["pointInTimeRecovery"]["enabled"] is True
    assert inputs["deletionProtectionEnabled"] is True
    assert inputs["serverSideEncryption"] == {"enabled": True}
    (full_table,) = full_run.of_type("aws:dynamodb/table:Table")
    assert full_table.inputs["serverSideEncryption"]["kmsKeyArn"] == FULL_CONFIG["kmsKeyArn"]


def test_functions(default_run):
    found = functions(default_run)
    assert set(found) == set(HANDLERS)
    (layer,) = default_run.of_type("aws:lambda/layerVersion:LayerVersion")
    code_hashes = set()
    for kind, function in found.items():
        inputs = function.inputs
        assert inputs["handler"] == HANDLERS[kind]
        assert inputs["runtime"] == "python3.12" and inputs["architectures"] == ["arm64"]
        assert (inputs["memorySize"], inputs["timeout"]) == (256, 60)
        assert inputs["role"] == f"arn:aws:iam::{ACCOUNT}:role/team-a-{kind}"
        assert inputs["layers"] == [layer.outputs["arn"]]
        assert re.search(r"/build/lambda-code-[0-9a-f]{16}\.zip$", inputs["code"].path)
        code_hashes.add(inputs["sourceCodeHash"])
        env = inputs["environment"]["variables"]
        expected = COMMON_ENV | OWN_ENV.get(kind, set())
        assert set(env) == expected, kind
        assert env["TABLE_NAME"] == "team-a" and env["SNS_TOPIC_ARN"].endswith(":team-a-alerts")
        assert env["ARCHETYPE_DIR"] == "/var/task/archetypes"
        if kind == "orchestrator":
            assert env["EVALUATOR_FUNCTION"] == "team-a-evaluator" == found["evaluator"].inputs["name"]
        assert (env["READINESS_TTL_SECONDS"], env["RETENTION_TTL_SECONDS"]) == ("3600", "604800")
        assert env["INTERLOCK_ALLOWED_NETWORKS"] == "" and env["DATA_BUCKET"] == ""
        assert f"{function.parent}-logs" in function.dependencies, "function must wait for its log group"
        assert f"{function.parent}-policy" in function.dependencies, "function must wait for its policy"
    assert len(code_hashes) == 1
    assert found["stream-router"].inputs["environment"]["variables"]["STATE_MACHINE_ARN"] == (
        f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:team-a-pipeline"
    )
    assert layer.inputs["compatibleRuntimes"] == ["python3.12"]
    assert layer.inputs["compatibleArchitectures"] == ["arm64"]
    assert layer.inputs["code"].path.endswith(".zip") and "layer-arm64-py3.12-" in layer.inputs["code"].path


def test_function_settings_follow_config(full_run):
    env = functions(full_run)["trigger"].inputs["environment"]["variables"]
    assert env["INTERLOCK_ALLOWED_NETWORKS"] == "10.0.0.0/8,127.0.0.1/32"
    assert env["DATA_BUCKET"] == "team-a-interlock-data"


def test_log_groups(default_run):
    names = {
        r.inputs["name"]: r.inputs["retentionInDays"] for r in default_run.of_type("aws:cloudwatch/logGroup:LogGroup")
    }
    assert names == {
        **{f"/aws/lambda/team-a-{kind}": 7 for kind in HANDLERS},
        "/aws/vendedlogs/states/team-a-pipeline": 7,
    }


def test_stream_mapping(default_run):
    (mapping,) = default_run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    inputs = mapping.inputs
    (table,) = default_run.of_type("aws:dynamodb/table:Table")
    (queue,) = default_run.of_type("aws:sqs/queue:Queue")
    assert inputs["eventSourceArn"] == table.outputs["streamArn"]
    assert inputs["functionName"] == functions(default_run)["stream-router"].outputs["arn"]
    (pattern,) = [json.loads(f["pattern"]) for f in inputs["filterCriteria"]["filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"SK": {"S": [{"prefix": "MARKER#"}]}}}}
    assert inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert inputs["bisectBatchOnFunctionError"] is True
    assert 0 <= inputs["maximumRetryAttempts"] <= 10
    assert 60 <= inputs["maximumRecordAgeInSeconds"] <= 6 * 3600
    assert inputs["destinationConfig"]["onFailure"]["destinationArn"] == queue.outputs["arn"]
    assert inputs["startingPosition"] == "TRIM_HORIZON"
    assert "team-a-stream-function-policy" in mapping.dependencies
    assert queue.inputs["sqsManagedSseEnabled"] is True and queue.inputs["name"] == "team-a-stream-dlq"


def test_state_machine(default_run):
    (machine,) = default_run.of_type("aws:sfn/stateMachine:StateMachine")
    inputs = machine.inputs
    assert inputs["name"] == "team-a-pipeline" and inputs["type"] == "STANDARD"
    assert inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/team-a-states"
    logging = inputs["loggingConfiguration"]
    assert logging["logDestination"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/vendedlogs/states/team-a-pipeline:*"
    )
    assert logging["includeExecutionData"] is False and logging["level"] in ("ERROR", "ALL")
    assert "team-a-lifecycle-policy" in machine.dependencies
    definition = json.loads(inputs["definition"])
    for kind, function in functions(default_run).items():
        # the state machine calls the core functions but the evaluator (the orchestrator calls it)
        assert (function.outputs["arn"] in inputs["definition"]) == (kind in CORE and kind != "evaluator"), kind
    assert definition["TimeoutSeconds"] == 12 * 3600


def test_alert_topic_gets_a_dedicated_customer_key_cloudwatch_may_use(default_run):
    (key,) = default_run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert 7 <= key.inputs["deletionWindowInDays"] <= 30
    assert "team-a-alerts" in key.inputs["description"]
    policy = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert set(policy) == {"EnableIamPolicies", "AllowCloudWatchAlarms"}
    assert policy["EnableIamPolicies"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    cloudwatch = policy["AllowCloudWatchAlarms"]
    assert cloudwatch["Effect"] == "Allow"
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    (alias,) = default_run.of_type("aws:kms/alias:Alias")
    assert alias.inputs["name"] == "alias/team-a-alerts"
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]
    (topic,) = default_run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]


def test_alert_topic_and_subscriptions(default_run, full_run):
    (topic,) = default_run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["name"] == "team-a-alerts" and topic.inputs["kmsMasterKeyId"] != "alias/aws/sns"
    (full_topic,) = full_run.of_type("aws:sns/topic:Topic")
    assert full_topic.inputs["kmsMasterKeyId"] == FULL_CONFIG["kmsKeyArn"]
    assert full_run.of_type("aws:kms/key:Key") == [] and full_run.of_type("aws:kms/alias:Alias") == []
    subscriptions = {
        (s.inputs["protocol"], s.inputs["endpoint"])
        for s in full_run.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert subscriptions == {(s["protocol"], s["endpoint"]) for s in FULL_CONFIG["alertSubscriptions"]}
    (permission,) = [
        p for p in full_run.of_type("aws:lambda/permission:Permission") if p.inputs["principal"] == "sns.amazonaws.com"
    ]
    assert permission.inputs["principal"] == "sns.amazonaws.com"
    assert permission.inputs["sourceArn"] == full_topic.outputs["arn"]
    assert permission.inputs["function"].endswith(":function:pager")


def test_alarms_publish_to_the_topic(default_run):
    (topic,) = default_run.of_type("aws:sns/topic:Topic")
    alarms = {a.inputs["name"]: a.inputs for a in default_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [topic.outputs["arn"]]
    for kind in CORE:
        assert alarms[f"team-a-{kind}-errors"]["metricName"] == "Errors"
        assert alarms[f"team-a-{kind}-errors"]["dimensions"] == {"FunctionName": f"team-a-{kind}"}
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:team-a-pipeline"
    assert alarms["team-a-pipeline-executionsfailed"]["metricName"] == "ExecutionsFailed"
    assert alarms["team-a-pipeline-executionstimedout"]["metricName"] == "ExecutionsTimedOut"
    assert alarms["team-a-pipeline-executionsfailed"]["dimensions"] == {"StateMachineArn": machine}
    assert alarms["team-a-stream-iterator-age"]["metricName"] == "IteratorAge"
    assert alarms["team-a-stream-iterator-age"]["dimensions"] == {"FunctionName": "team-a-stream-router"}
    assert alarms["team-a-stream-dlq-depth"]["dimensions"] == {"QueueName": "team-a-stream-dlq"}


def test_schedules_write_marker_items(full_run):
    (group,) = full_run.of_type("aws:scheduler/scheduleGroup:ScheduleGroup")
    assert group.inputs["name"] == "team-a"
    schedules = {s.inputs["name"]: s.inputs for s in full_run.of_type("aws:scheduler/schedule:Schedule")}
    daily = schedules["ingest-daily"]
    assert daily["groupName"] == "team-a" and daily["scheduleExpression"] == "cron(0 6 * * ? *)"
    assert daily["scheduleExpressionTimezone"] == "Europe/London"
    assert daily["flexibleTimeWindow"] == {"mode": "OFF"}
    target = daily["target"]
    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:dynamodb:putItem"
    assert target["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/team-a-scheduler"
    request = json.loads(target["input"])
    assert request["TableName"] == "team-a"
    assert request["Item"] == {
        "PK": {"S": store.pipeline_pk("sales-raw-ingest")},
        "SK": {"S": "MARKER#schedule#<aws.scheduler.scheduled-time>#ingest-daily"},
        "scheduleID": {"S": "daily"},
        "date": {"S": "<aws.scheduler.scheduled-time>"},
        "timezone": {"S": "Europe/London"},
        "source": {"S": "schedule"},
    }
    assert schedules["features-hourly"]["scheduleExpressionTimezone"] == "UTC"
    assert json.loads(schedules["features-hourly"]["target"]["input"])["Item"]["scheduleID"] == {"S": "daily"}


def test_data_bucket_is_private_versioned_encrypted_and_tls_only(default_run, full_run):
    assert not default_run.of_type("aws:s3/bucket:Bucket")
    (bucket,) = full_run.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "team-a-interlock-data"
    (versioning,) = full_run.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (encryption,) = full_run.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    (rule,) = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    (block,) = full_run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True
        for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (policy,) = full_run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    (deny,) = json.loads(policy.inputs["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [bucket.outputs["arn"], bucket.outputs["arn"] + "/*"]


def test_exports(default_run, full_run):
    assert default_run.exports == {
        "tableName": "team-a",
        "alertTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:team-a-alerts",
        "stateMachineArn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:team-a-pipeline",
        "functionNames": {kind: f"team-a-{kind}" for kind in HANDLERS},
        "dataBucket": "",
        "dashboardUrl": "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#dashboards:name=team-a",
    }
    assert full_run.exports["dataBucket"] == "team-a-interlock-data"


def test_abnormal_execution_ends_reach_the_reconciler_from_its_rule_only(default_run):
    (rule,) = default_run.of_type("aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["name"] == "team-a-execution-ends"
    assert json.loads(rule.inputs["eventPattern"]) == EXECUTION_ENDS
    assert rule.inputs.get("state", "ENABLED") == "ENABLED" and "scheduleExpression" not in rule.inputs
    reconciler = functions(default_run)["reconciler"]
    (target,) = default_run.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["rule"] == "team-a-execution-ends"
    assert target.inputs["arn"] == reconciler.outputs["arn"]
    assert not {"input", "inputPath", "inputTransformer"} & set(target.inputs), "the reconciler reads the whole event"
    (permission,) = default_run.of_type("aws:lambda/permission:Permission")
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["function"] == "team-a-reconciler"
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["sourceArn"] == rule.outputs["arn"]
    assert permission.name in target.dependencies, "the target must not deliver before the permission exists"
    alarms = {a.inputs["name"]: a.inputs for a in default_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms["team-a-reconciler-errors"]["dimensions"] == {"FunctionName": "team-a-reconciler"}
    failed = alarms["team-a-execution-ends-failed-deliveries"]
    assert (failed["namespace"], failed["metricName"], failed["statistic"]) == (
        "AWS/Events",
        "FailedInvocations",
        "Sum",
    )
    assert failed["dimensions"] == {"RuleName": "team-a-execution-ends"} and failed["threshold"] == 1
