"""Interlock's shape in miniature: a table whose MARKER items reach a stream-router (filtered mapping, bounded
retries, on-failure queue), which starts a state machine that calls an orchestrator and publishes to a topic;
EventBridge rules on the machine's status changes and on Glue job events deliver to a watcher function."""

import json
import os

import pulumi
import pulumi_aws as aws

project = pulumi.Config().require("projectName")
here = os.path.dirname(os.path.abspath(__file__))
code = pulumi.AssetArchive({"handlers": pulumi.FileArchive(os.path.join(here, "handlers"))})


def trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


table = aws.dynamodb.Table(
    "table",
    name=project,
    billing_mode="PAY_PER_REQUEST",
    hash_key="PK",
    range_key="SK",
    attributes=[{"name": "PK", "type": "S"}, {"name": "SK", "type": "S"}],
    stream_enabled=True,
    stream_view_type="NEW_AND_OLD_IMAGES",
    ttl={"attribute_name": "expiresAt", "enabled": True},
)
topic = aws.sns.Topic("alerts", name=f"{project}-alerts")
dead_letters = aws.sqs.Queue("stream-dlq", name=f"{project}-stream-dlq")
lambda_role = aws.iam.Role("lambda-role", assume_role_policy=trust("lambda.amazonaws.com"))
machine_role = aws.iam.Role("machine-role", assume_role_policy=trust("states.amazonaws.com"))
environment = {"TABLE_NAME": table.name, "SNS_TOPIC_ARN": topic.arn}


def function(name: str, variables: dict) -> aws.lambda_.Function:
    """A function of the shared code archive, its handler the module named like it (stream-router: stream_router)."""
    return aws.lambda_.Function(
        name,
        name=f"{project}-{name}",
        role=lambda_role.arn,
        runtime="python3.12",
        handler=f"handlers.{name.replace('-', '_')}.handler",
        code=code,
        environment={"variables": variables},
    )


orchestrator = function("orchestrator", environment)
definition = pulumi.Output.all(orchestrator.arn, topic.arn).apply(
    lambda a: json.dumps(
        {
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": a[0],
                    "ResultPath": "$.work",
                    "Next": "Announce",
                    "Parameters": {"pipelineID.$": "$.pipelineID", "date.$": "$.date", "scheduleID.$": "$.scheduleID"},
                    "Retry": [
                        {
                            "ErrorEquals": ["ProvisionedThroughputExceededException"],
                            "IntervalSeconds": 1,
                            "MaxAttempts": 2,
                            "BackoffRate": 1.0,
                        }
                    ],
                },
                "Announce": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "ResultPath": None,
                    "Next": "Done",
                    "Parameters": {"TopicArn": a[1], "Message.$": "States.JsonToString($.work)"},
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
)
machine = aws.sfn.StateMachine("machine", role_arn=machine_role.arn, definition=definition)
router = function("stream-router", {**environment, "STATE_MACHINE_ARN": machine.arn})
aws.lambda_.EventSourceMapping(
    "markers",
    event_source_arn=table.stream_arn,
    function_name=router.arn,
    starting_position="LATEST",
    filter_criteria={
        "filters": [{"pattern": json.dumps({"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "MARKER#"}]}}}})}]
    },
    function_response_types=["ReportBatchItemFailures"],
    bisect_batch_on_function_error=True,
    maximum_retry_attempts=2,
    destination_config={"on_failure": {"destination_arn": dead_letters.arn}},
)
group = aws.scheduler.ScheduleGroup("schedules", name=project)
scheduler_role = aws.iam.Role("scheduler-role", assume_role_policy=trust("scheduler.amazonaws.com"))
aws.scheduler.Schedule(
    "nightly",
    name="nightly",
    group_name=group.name,
    schedule_expression="cron(0 2 * * ? *)",
    flexible_time_window={"mode": "OFF"},
    target={
        "arn": "arn:aws:scheduler:::aws-sdk:dynamodb:putItem",
        "role_arn": scheduler_role.arn,
        "input": table.name.apply(
            lambda name: json.dumps(
                {
                    "TableName": name,
                    "Item": {
                        "PK": {"S": "PIPELINE#nightly"},
                        "SK": {"S": "MARKER#schedule#<aws.scheduler.scheduled-time>"},
                        "scheduleID": {"S": "daily"},
                        "date": {"S": "2026-11-28"},
                    },
                }
            )
        ),
    },
)
watcher = function("watcher", environment)
status_change = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]}
finished = machine.arn.apply(
    lambda arn: json.dumps(
        {
            **status_change,
            "detail": {"stateMachineArn": [arn], "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]},
        }
    )
)
rules = {
    # every end of the machine's executions, the whole event
    "finished-runs": (finished, {}),
    # starts, reshaped by an input transformer
    "started-runs": (
        json.dumps({**status_change, "detail": {"status": ["RUNNING"]}}),
        {
            "input_transformer": {
                "input_paths": {"execution": "$.detail.executionArn"},
                "input_template": '{"started": <execution>}',
            }
        },
    ),
    # failed Glue jobs, only the detail
    "glue-failures": (
        json.dumps({"source": ["aws.glue"], "detail-type": ["Glue Job State Change"], "detail": {"state": ["FAILED"]}}),
        {"input_path": "$.detail"},
    ),
    # the same ends as finished-runs, switched off
    "paused": (finished, {"input": json.dumps({"from": "paused"})}),
}
for rule_name, (pattern, target_input) in rules.items():
    rule = aws.cloudwatch.EventRule(
        rule_name,
        name=f"{project}-{rule_name}",
        event_pattern=pattern,
        state="DISABLED" if rule_name == "paused" else "ENABLED",
    )
    aws.cloudwatch.EventTarget(f"{rule_name}-watcher", rule=rule.name, arn=watcher.arn, **target_input)
    aws.lambda_.Permission(
        f"{rule_name}-invokes-watcher",
        action="lambda:InvokeFunction",
        function=watcher.name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
    )
# a target whose function does not allow EventBridge to invoke it
unpermitted = aws.cloudwatch.EventRule(
    "unpermitted", name=f"{project}-unpermitted", event_pattern=json.dumps({"source": ["sample.unpermitted"]})
)
aws.cloudwatch.EventTarget("unpermitted-orchestrator", rule=unpermitted.name, arn=orchestrator.arn)
# every Glue event, to a queue
glue_queue = aws.sqs.Queue("glue-events", name=f"{project}-glue-events")
glue_rule = aws.cloudwatch.EventRule(
    "all-glue", name=f"{project}-all-glue", event_pattern=json.dumps({"source": ["aws.glue"]})
)
aws.cloudwatch.EventTarget("all-glue-queue", rule=glue_rule.name, arn=glue_queue.arn)
aws.ec2.Vpc("not-emulated", cidr_block="10.0.0.0/16")
pulumi.export("stateMachineArn", machine.arn)
pulumi.export("tableName", table.name)
