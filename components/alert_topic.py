"""The alert topic (encrypted with a customer managed key) and its subscriptions from config.

CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key alias/aws/sns, so without a
configured kmsKeyArn the topic gets a dedicated key whose policy admits cloudwatch.amazonaws.com (DESIGN §10.1).
Slack and Microsoft Teams channels subscribe through AWS Chatbot, which subscribes to the topic itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from . import iam
from .service_role import ServiceRoleArgs, service_role
from .stack_settings import AlertSubscription, ChatSubscription

KEY_DELETION_WINDOW_DAYS = 30
# Caps what anyone in a chat channel may do through Chatbot (without it AWS applies AdministratorAccess).
CHATBOT_GUARDRAIL_POLICY = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"


@dataclass
class AlertTopicArgs:
    topic_name: str
    alias_name: str  # alias/<projectName>-alerts for the dedicated key
    account_id: pulumi.Input[str]
    kms_key_arn: str = ""  # configured customer key; empty: create the dedicated key
    subscriptions: Sequence[AlertSubscription | ChatSubscription] = field(default_factory=tuple)
    name_prefix: str = ""  # <projectName>: the Chatbot role and channel configuration names
    alarm_arn_prefix: pulumi.Input[str] = ""  # arn:aws:cloudwatch:<region>:<account>:alarm:<projectName>-


class AlertTopic(pulumi.ComponentResource):
    """SNS topic every alert goes to, its customer managed key (created unless configured; `key_arn`),
    email/https/sqs/lambda subscriptions (Lambda endpoints get an invoke permission) and Slack/Teams channels
    (AWS Chatbot channel configurations sharing one read-only channel role)."""

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:AlertTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.key: aws.kms.Key | None = None
        if args.kms_key_arn:
            self.key_arn: pulumi.Output[str] = pulumi.Output.from_input(args.kms_key_arn)
        else:
            self.key = aws.kms.Key(
                f"{name}-key",
                description=f"Encrypts the alert topic {args.topic_name}; CloudWatch alarms may publish to it",
                enable_key_rotation=True,
                deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
                policy=alert_key_policy(args.account_id),
                opts=child,
            )
            aws.kms.Alias(f"{name}-key-alias", name=args.alias_name, target_key_id=self.key.key_id, opts=child)
            self.key_arn = self.key.arn
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=args.topic_name,
            kms_master_key_id=self.key_arn,
            opts=child,
        )
        self.subscriptions = []
        endpoints = [item for item in args.subscriptions if isinstance(item, AlertSubscription)]
        channels = [item for item in args.subscriptions if isinstance(item, ChatSubscription)]
        for index, subscription in enumerate(endpoints):
            depends_on = []
            if subscription.protocol == "lambda":
                depends_on.append(
                    aws.lambda_.Permission(
                        f"{name}-subscriber-{index}-invoke",
                        action="lambda:InvokeFunction",
                        function=subscription.endpoint,
                        principal="sns.amazonaws.com",
                        source_arn=self.topic.arn,
                        opts=child,
                    )
                )
            self.subscriptions.append(
                aws.sns.TopicSubscription(
                    f"{name}-subscription-{index}",
                    topic=self.topic.arn,
                    protocol=subscription.protocol,
                    endpoint=subscription.endpoint,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
                )
            )
        self.chat_channels = self._chat_channels(name, args, channels) if channels else []
        self.arn = self.topic.arn
        self.register_outputs({"arn": self.arn, "name": self.topic.name, "keyArn": self.key_arn})

    def _chat_channels(self, name: str, args: AlertTopicArgs, channels: Sequence[ChatSubscription]) -> list:
        """Chatbot delivers what SNS hands it over HTTPS, decrypted by SNS: the key policy needs no Chatbot
        statement (only publishers use the key); the channel role only reads this stack's alarms."""
        role = service_role(
            f"{name}-chatbot",
            ServiceRoleArgs(
                role_name=f"{args.name_prefix}-chatbot",
                service="chatbot.amazonaws.com",
                account_id=args.account_id,
                statements=iam.chatbot_statements(args.alarm_arn_prefix),
            ),
            self,
        ).role
        configurations = []
        for channel in channels:
            suffix = f"{channel.protocol}-{hashlib.sha1(channel.channel_id.encode()).hexdigest()[:8]}"
            common = dict(
                configuration_name=f"{args.name_prefix}-{suffix}",
                iam_role_arn=role.arn,
                sns_topic_arns=[self.topic.arn],
                guardrail_policy_arns=[CHATBOT_GUARDRAIL_POLICY],
                logging_level="ERROR",
                user_authorization_required=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            if channel.protocol == "slack":
                configurations.append(
                    aws.chatbot.SlackChannelConfiguration(
                        f"{name}-{suffix}",
                        slack_team_id=channel.workspace_id,
                        slack_channel_id=channel.channel_id,
                        **common,
                    )
                )
            else:
                configurations.append(
                    aws.chatbot.TeamsChannelConfiguration(
                        f"{name}-{suffix}",
                        team_id=channel.team_id,
                        tenant_id=channel.tenant_id,
                        channel_id=channel.channel_id,
                        **common,
                    )
                )
        return configurations


def alert_key_policy(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The account administers the key through IAM; CloudWatch (of this account only) may encrypt alarm messages."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EnableIamPolicies",
                    "Effect": "Allow",
                    "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", account_id, ":root")},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "AllowCloudWatchAlarms",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        }
    )
