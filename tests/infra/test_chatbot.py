"""Slack and Microsoft Teams alert subscriptions through AWS Chatbot: channel configurations on the alert topic,
one read-only channel role (trust and policy through parliament), a guardrail, key-named config errors."""

from __future__ import annotations

import json

import boto3
import parliament
import pytest
from moto import mock_aws
from pulumi.runtime import MockResourceArgs

from components.stack_settings import ConfigurationError, load_settings
from emulator.mocks import EmulatorMocks
from emulator.server import ACCOUNT_ID as EMULATOR_ACCOUNT
from tests.infra.conftest import ACCOUNT, REQUIRED
from tests.infra.harness import run_program_full

SLACK = {"protocol": "slack", "workspaceId": "T07EA123LEP", "channelId": "C07EZ1ABC23"}
TEAMS = {
    "protocol": "teams",
    "teamId": "74361522-da01-538d-aa2e-ac7918c6bb92",
    "tenantId": "0b5f2f7a-1c3e-4f55-9d8a-2c6a1f0e9b31",
    "channelId": "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2",
}
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:team-a-alerts"
SLACK_TYPE = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
TEAMS_TYPE = "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration"


@pytest.fixture(scope="module")
def chat_run():
    return run_program_full(
        {**REQUIRED, "alertSubscriptions": [{"protocol": "email", "endpoint": "oncall@example.com"}, SLACK, TEAMS]}
    )


def test_slack_and_teams_channels_subscribe_to_the_alert_topic(chat_run):
    (role,) = [r for r in chat_run.of_type("aws:iam/role:Role") if r.inputs["name"] == "team-a-chatbot"]
    (slack,) = chat_run.of_type(SLACK_TYPE)
    (teams,) = chat_run.of_type(TEAMS_TYPE)
    common = {
        "iamRoleArn": role.outputs["arn"],
        "snsTopicArns": [TOPIC_ARN],
        "loggingLevel": "ERROR",
        "guardrailPolicyArns": ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"],
        "userAuthorizationRequired": False,
    }
    assert slack.inputs == {
        **common,
        "slackTeamId": SLACK["workspaceId"],
        "slackChannelId": SLACK["channelId"],
        "configurationName": slack.inputs["configurationName"],
    }
    assert teams.inputs == {
        **common,
        "teamId": TEAMS["teamId"],
        "tenantId": TEAMS["tenantId"],
        "channelId": TEAMS["channelId"],
        "configurationName": teams.inputs["configurationName"],
    }
    assert slack.inputs["configurationName"].startswith("team-a-slack-")
    assert teams.inputs["configurationName"].startswith("team-a-teams-")
    # the email endpoint is still an SNS subscription; chat channels are not
    assert [s.inputs["protocol"] for s in chat_run.of_type("aws:sns/topicSubscription:TopicSubscription")] == ["email"]
    assert {chat_run.named(slack.parent).type, chat_run.named(teams.parent).type} == {"interlock:index:AlertTopic"}


def test_the_channel_role_trusts_chatbot_of_this_account_and_only_reads_this_stacks_alarms(chat_run):
    (role,) = [r for r in chat_run.of_type("aws:iam/role:Role") if r.inputs["name"] == "team-a-chatbot"]
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "chatbot.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    (policy,) = [p for p in chat_run.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == "team-a-chatbot"]
    document = json.loads(policy.inputs["policy"])
    findings = parliament.analyze_policy_string(json.dumps(document)).findings
    assert findings == [], [(f.issue, f.detail) for f in findings]
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        (["cloudwatch:DescribeAlarms"], [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:team-a-*"]),
        (["cloudwatch:GetMetricWidgetImage"], "*"),
    ]


def test_the_alert_key_policy_admits_no_chatbot_principal(chat_run):
    """SNS decrypts before it delivers to Chatbot's HTTPS endpoint: only publishers need the key."""
    (key,) = chat_run.of_type("aws:kms/key:Key")
    principals = [s["Principal"] for s in json.loads(key.inputs["policy"])["Statement"]]
    assert principals == [{"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"Service": "cloudwatch.amazonaws.com"}]


def test_without_chat_channels_there_is_no_chatbot_role(default_run):
    assert not default_run.of_type(SLACK_TYPE) and not default_run.of_type(TEAMS_TYPE)
    assert "team-a-chatbot" not in {r.inputs["name"] for r in default_run.of_type("aws:iam/role:Role")}


@pytest.mark.parametrize(
    "subscription, problem",
    [
        ({"protocol": "slack", "channelId": "C07EZ1ABC23"}, "[0]: missing required field 'workspaceId'"),
        ({**SLACK, "workspaceId": "t-lower"}, "[0].workspaceId: 't-lower' is not a Slack workspace ID"),
        ({**SLACK, "channelId": "#alerts"}, "[0].channelId: '#alerts' is not a Slack channel ID"),
        (
            {**SLACK, "endpoint": "x"},
            "[0]: unknown field 'endpoint'; allowed fields are channelId, protocol, workspaceId",
        ),
        ({**TEAMS, "teamId": "my-team"}, "[0].teamId: 'my-team' is not a Microsoft Teams team ID (a UUID)"),
        ({**TEAMS, "channelId": "19:abc@thread.tacv2"}, "[0].channelId: '19:abc@thread.tacv2' is not a URL-encoded"),
        ({"protocol": "teams", "channelId": TEAMS["channelId"]}, "[0]: missing required field 'teamId'"),
        (
            {"protocol": "discord", "endpoint": "x"},
            "'discord' is not allowed; allowed are email, https, sqs, lambda, slack, teams",
        ),
    ],
)
def test_invalid_chat_subscriptions_fail_naming_the_key_and_field(subscription, problem):
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"projectName": "team-a", "alertSubscriptions": [subscription]})
    (message,) = caught.value.problems
    assert message.startswith("interlock:alertSubscriptions: ") and problem in message


def test_a_channel_listed_twice_is_an_error():
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"projectName": "team-a", "alertSubscriptions": [SLACK, SLACK]})
    assert "[1].channelId: 'C07EZ1ABC23' is listed twice" in caught.value.problems[0]


def test_the_emulator_answers_chat_channels_with_an_arn_and_lists_them_as_adjusted():
    with mock_aws():
        mocks = EmulatorMocks(lambda service: boto3.client(service, region_name="us-east-1"))
        resource_id, outputs = mocks.new_resource(
            MockResourceArgs(
                SLACK_TYPE,
                "chan",
                {"configurationName": "team-a-slack-1", "slackTeamId": "T1", "slackChannelId": "C1"},
                custom=True,
            )
        )
    assert (
        resource_id
        == outputs["chatConfigurationArn"]
        == (f"arn:aws:chatbot::{EMULATOR_ACCOUNT}:chat-configuration/slack-channel/team-a-slack-1")
    )
    assert mocks.skipped == [] and mocks.adjusted == [
        f"{SLACK_TYPE} (chan): not created (moto has no Chatbot); ARN only"
    ]
