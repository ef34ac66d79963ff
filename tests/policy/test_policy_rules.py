"""Each guardrail rule on passing and failing resource properties, and the rules' wiring into Pulumi policies."""

import json

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.policy import PolicyResource, PolicyResourceOptions
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policy.guardrails import policies, rules
from policy.guardrails.rules import StackResource

GOOD_TABLE = {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"enabled": True}}


def policy_doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="arn:aws:dynamodb:us-east-1:123456789012:table/t"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.mark.parametrize(
    "props, expected",
    [
        (GOOD_TABLE, []),
        ({"serverSideEncryption": {"enabled": True}}, ["point-in-time recovery"]),
        (
            {"pointInTimeRecovery": {"enabled": False}, "serverSideEncryption": {"enabled": True}},
            ["point-in-time recovery"],
        ),
        ({"pointInTimeRecovery": {"enabled": True}}, ["server-side encryption"]),
        ({}, ["point-in-time recovery", "server-side encryption"]),
    ],
)
def test_table_needs_pitr_and_encryption(props, expected):
    problems = rules.table_is_recoverable_and_encrypted(rules.TABLE, props)
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem


@pytest.mark.parametrize("action", ["dynamodb:GetItem", ["dynamodb:GetItem", "dynamodb:PutItem"]])
def test_explicit_actions_pass_in_every_policy_carrier(action):
    document = policy_doc(allow(action))
    assert rules.no_wildcard_iam_actions(rules.ROLE_POLICY, {"policy": document}) == []
    assert rules.no_wildcard_iam_actions(rules.MANAGED_POLICY, {"policy": json.loads(document)}) == []
    assert rules.no_wildcard_iam_actions(rules.ROLE, {"inlinePolicies": [{"name": "table", "policy": document}]}) == []


@pytest.mark.parametrize(
    "statement",
    [
        allow("*"),
        allow("dynamodb:*"),
        allow(["dynamodb:GetItem", "dynamodb:Get*"]),
        {"Action": "s3:*", "Resource": "*"},  # Effect defaults to Allow
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    ],
)
def test_wildcard_actions_fail_in_every_policy_carrier(statement):
    document = policy_doc(allow("sns:Publish"), statement)
    for resource_type, props in [
        (rules.ROLE_POLICY, {"policy": document}),
        (rules.MANAGED_POLICY, {"policy": json.loads(document)}),
        (
            rules.ROLE,
            {
                "inlinePolicies": [
                    {"name": "ok", "policy": policy_doc(allow("sns:Publish"))},
                    {"name": "bad", "policy": document},
                ]
            },
        ),
    ]:
        problems = rules.no_wildcard_iam_actions(resource_type, props)
        assert len(problems) == 1, (resource_type, problems)
        assert "wildcard action" in problems[0]
    assert (
        "inline policy bad"
        in rules.no_wildcard_iam_actions(rules.ROLE, {"inlinePolicies": [{"name": "bad", "policy": document}]})[0]
    )


def test_wildcard_in_deny_statement_and_single_statement_object_are_handled():
    deny_all = {"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}
    assert rules.no_wildcard_iam_actions(rules.MANAGED_POLICY, {"policy": deny_all}) == []
    allow_all = {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    assert len(rules.no_wildcard_iam_actions(rules.MANAGED_POLICY, {"policy": allow_all})) == 1


def test_unparseable_policy_document_is_a_violation_not_a_crash():
    problems = rules.no_wildcard_iam_actions(rules.ROLE_POLICY, {"policy": "{not json"})
    assert problems and "cannot be checked" in problems[0]


@pytest.mark.parametrize(
    "logging, ok",
    [
        ({"level": "ALL", "logDestination": "arn:aws:logs:us-east-1:1:log-group:/aws/vendedlogs/states/x:*"}, True),
        ({"level": "ERROR", "logDestination": "arn:aws:logs:us-east-1:1:log-group:g:*"}, True),
        ({"level": "OFF", "logDestination": "arn:aws:logs:us-east-1:1:log-group:g:*"}, False),
        ({"level": "ALL"}, False),
        (None, False),
    ],
)
def test_state_machine_logging(logging, ok):
    props = {} if logging is None else {"loggingConfiguration": logging}
    assert (rules.state_machine_logs(rules.STATE_MACHINE, props) == []) is ok


def test_topic_encryption():
    assert rules.topic_is_encrypted(rules.TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}) == []
    assert rules.topic_is_encrypted(rules.TOPIC, {"kmsMasterKeyId": ""}) != []
    assert rules.topic_is_encrypted(rules.TOPIC, {"name": "alerts"}) != []


def test_stream_mapping_needs_on_failure_destination():
    stream = {"eventSourceArn": "arn:aws:dynamodb:us-east-1:1:table/t/stream/2026", "startingPosition": "LATEST"}
    with_dlq = {**stream, "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:sqs:us-east-1:1:dlq"}}}
    assert rules.stream_mapping_has_failure_destination(rules.EVENT_SOURCE_MAPPING, with_dlq) == []
    assert rules.stream_mapping_has_failure_destination(rules.EVENT_SOURCE_MAPPING, stream) != []
    assert (
        rules.stream_mapping_has_failure_destination(
            rules.EVENT_SOURCE_MAPPING, {**stream, "destinationConfig": {"onFailure": {}}}
        )
        != []
    )
    queue = {"eventSourceArn": "arn:aws:sqs:us-east-1:1:q"}
    assert rules.stream_mapping_has_failure_destination(rules.EVENT_SOURCE_MAPPING, queue) == []


def function(name, **extra):
    return StackResource(rules.FUNCTION, name, {"name": name, **extra})


def log_group(name, retention=7):
    props = {"name": name} if retention is None else {"name": name, "retentionInDays": retention}
    return StackResource(rules.LOG_GROUP, name, props)


def test_every_lambda_needs_a_retained_log_group():
    resources = [
        function("t-evaluator"),
        log_group("/aws/lambda/t-evaluator"),
        function("t-trigger", loggingConfig={"logFormat": "JSON", "logGroup": "/custom/trigger"}),
        log_group("/custom/trigger", 30),
    ]
    assert rules.lambda_log_groups_retained(resources) == []

    missing = rules.lambda_log_groups_retained([function("t-orchestrator"), log_group("/aws/lambda/other")])
    assert [(resource.name, "no log group" in message) for resource, message in missing] == [("t-orchestrator", True)]

    unretained = rules.lambda_log_groups_retained([function("t-x"), log_group("/aws/lambda/t-x", None)])
    assert [(resource.type, "retentionInDays" in message) for resource, message in unretained] == [
        (rules.LOG_GROUP, True)
    ]

    # loggingConfig.logGroup wins over the default name: the default group alone does not satisfy it
    redirected = [function("t-y", loggingConfig={"logGroup": "/custom/y"}), log_group("/aws/lambda/t-y")]
    assert len(rules.lambda_log_groups_retained(redirected)) == 1


def bucket_resources(name="state", block=True, tls_policy=True, policy_as_dict=False):
    resources = [StackResource("aws:s3/bucket:Bucket", "state", {"bucket": name, "arn": f"arn:aws:s3:::{name}"})]
    flags = {flag: True for flag in rules.PUBLIC_ACCESS_FLAGS}
    if block is not None:
        resources.append(
            StackResource(rules.PUBLIC_ACCESS_BLOCK, "pab", {"bucket": name, **flags, "restrictPublicBuckets": block})
        )
    if tls_policy is not None:
        statement = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false" if tls_policy else "true"}},
        }
        document = {"Version": "2012-10-17", "Statement": [statement]}
        resources.append(
            StackResource(
                rules.BUCKET_POLICY,
                "policy",
                {"bucket": name, "policy": document if policy_as_dict else json.dumps(document)},
            )
        )
    return resources


def test_bucket_private_and_tls_only():
    assert rules.buckets_private_and_tls_only(bucket_resources()) == []
    assert rules.buckets_private_and_tls_only(bucket_resources(policy_as_dict=True)) == []
    assert [
        "public access block" in m for _, m in rules.buckets_private_and_tls_only(bucket_resources(block=False))
    ] == [True]
    assert [
        "public access block" in m for _, m in rules.buckets_private_and_tls_only(bucket_resources(block=None))
    ] == [True]
    assert ["without TLS" in m for _, m in rules.buckets_private_and_tls_only(bucket_resources(tls_policy=False))] == [
        True
    ]
    assert ["without TLS" in m for _, m in rules.buckets_private_and_tls_only(bucket_resources(tls_policy=None))] == [
        True
    ]


def test_bucket_controls_must_target_that_bucket():
    resources = bucket_resources(name="other")[1:] + bucket_resources(name="state", block=None, tls_policy=None)
    assert len(rules.buckets_private_and_tls_only(resources)) == 2


def test_resource_rules_apply_only_to_their_types():
    assert rules.resource_violations("aws:sqs/queue:Queue", {}) == []
    assert rules.resource_violations(rules.TABLE, GOOD_TABLE) == []
    assert rules.resource_violations(rules.TOPIC, {})[0].startswith("sns-topic-encrypted: ")


def test_rules_read_policy_sdk_proxies_and_propagate_unknowns():
    props = unknown_checking_proxy({"inlinePolicies": [{"name": "p", "policy": policy_doc(allow("s3:*"))}]})
    assert len(rules.no_wildcard_iam_actions(rules.ROLE, props)) == 1
    unknown = unknown_checking_proxy({"kmsMasterKeyId": UNKNOWN_STRING_VALUE})
    with pytest.raises(UnknownValueError):
        rules.topic_is_encrypted(rules.TOPIC, unknown)


def test_every_rule_is_a_mandatory_policy():
    names = {rule.name for rule in rules.RESOURCE_RULES + rules.STACK_RULES}
    assert {policy.name for policy in policies.POLICIES} == names
    assert len(names) == 7
    assert all(policy.enforcement_level is EnforcementLevel.MANDATORY for policy in policies.POLICIES)


def _resource_args(resource_type, props):
    return ResourceValidationArgs(
        resource_type,
        unknown_checking_proxy(props),
        f"urn:x::{resource_type}::r",
        "r",
        PolicyResourceOptions(False, [], False, [], None, []),
        None,
    )


def test_resource_policy_reports_each_violation_of_its_rule_only():
    policy = next(p for p in policies.POLICIES if p.name == "dynamodb-table-pitr-and-encryption")
    reported = []
    policy.validate(_resource_args(rules.TABLE, {}), lambda message, urn=None: reported.append(message))
    assert len(reported) == 2
    reported.clear()
    policy.validate(_resource_args(rules.TOPIC, {}), lambda message, urn=None: reported.append(message))
    assert reported == []


def test_stack_policy_reports_the_offending_resource_urn():
    policy = next(p for p in policies.POLICIES if p.name == "lambda-log-group-retention")
    opts = PolicyResourceOptions(False, [], False, [], None, [])
    resources = [
        PolicyResource(rules.FUNCTION, unknown_checking_proxy({"name": "f"}), "urn:f", "f", opts, None, None, [], {})
    ]
    reported = []
    policy.validate(StackValidationArgs(resources), lambda message, urn=None: reported.append((message, urn)))
    assert len(reported) == 1 and reported[0][1] == "urn:f"
