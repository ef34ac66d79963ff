"""The alert topic (encrypted) and its subscriptions from config."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from .settings import AlertSubscription

AWS_MANAGED_SNS_KEY = "alias/aws/sns"


@dataclass
class AlertTopicArgs:
    topic_name: str
    kms_key_arn: str = ""
    subscriptions: Sequence[AlertSubscription] = field(default_factory=tuple)


class AlertTopic(pulumi.ComponentResource):
    """SNS topic every alert goes to; email/https/sqs/lambda subscriptions (Lambda endpoints get an invoke permission)."""

    def __init__(self, name: str, args: AlertTopicArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("interlock:index:AlertTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=args.topic_name,
            kms_master_key_id=args.kms_key_arn or AWS_MANAGED_SNS_KEY,
            opts=child,
        )
        self.subscriptions = []
        for index, subscription in enumerate(args.subscriptions):
            depends_on = []
            if subscription.protocol == "lambda":
                depends_on.append(aws.lambda_.Permission(
                    f"{name}-subscriber-{index}-invoke",
                    action="lambda:InvokeFunction",
                    function=subscription.endpoint,
                    principal="sns.amazonaws.com",
                    source_arn=self.topic.arn,
                    opts=child,
                ))
            self.subscriptions.append(aws.sns.TopicSubscription(
                f"{name}-subscription-{index}",
                topic=self.topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
            ))
        self.arn = self.topic.arn
        self.register_outputs({"arn": self.arn, "name": self.topic.name})
