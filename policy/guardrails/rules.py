"""The guardrails as plain functions over (resource type, properties).

Nothing here imports pulumi_policy: each rule returns the list of violation messages (empty when the resource
passes), so the same logic runs under the policy pack, in unit tests and over the program's mocked resources.
Properties are the engine's camelCase property bags; values may be any Mapping/Sequence (the policy SDK wraps them
in read-only proxies), never assume dict or list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TABLE = "aws:dynamodb/table:Table"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
TOPIC = "aws:sns/topic:Topic"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
STATE_MACHINE_LOG_LEVELS = ("ALL", "ERROR", "FATAL")

ResourceCheck = Callable[[str, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class StackResource:
    """One resource of a stack as a stack rule sees it: type token, logical name, properties (outputs)."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str | None = field(default=None, compare=False)


StackCheck = Callable[[Sequence[StackResource]], list[tuple[StackResource, str]]]


@dataclass(frozen=True)
class ResourceRule:
    """A rule checked on each resource of the listed types, from its inputs."""

    name: str
    description: str
    resource_types: tuple[str, ...]
    check: ResourceCheck


@dataclass(frozen=True)
class StackRule:
    """A rule that needs several resources at once; reports (offending resource, message) pairs."""

    name: str
    description: str
    check: StackCheck


def _get(props: Mapping[str, Any] | None, *path: str) -> Any:
    """Follow a path of keys through nested mappings; None as soon as a step is missing."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _as_list(value: Any) -> list[Any]:
    """A JSON "one or many" value as a list (policy Action/Resource/Statement may be a scalar)."""
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def parse_policy_document(document: Any) -> Mapping[str, Any]:
    """A policy document given as a JSON string or a mapping, as a mapping; ValueError when it is neither."""
    if isinstance(document, Mapping):
        return document
    if isinstance(document, str):
        parsed = json.loads(document)
        if isinstance(parsed, Mapping):
            return parsed
    raise ValueError("policy document is neither a JSON object nor a mapping")


def table_is_recoverable_and_encrypted(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A DynamoDB table has point-in-time recovery and server-side encryption (KMS) enabled."""
    problems = []
    if not _is_true(_get(props, "pointInTimeRecovery", "enabled")):
        problems.append("DynamoDB table must enable point-in-time recovery (pointInTimeRecovery.enabled)")
    if not _is_true(_get(props, "serverSideEncryption", "enabled")):
        problems.append("DynamoDB table must enable server-side encryption with KMS (serverSideEncryption.enabled)")
    return problems


def _policy_documents(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, document) for every IAM policy document a resource carries."""
    if resource_type == ROLE:
        return [
            (f"inline policy {_get(inline, 'name') or index}", _get(inline, "policy"))
            for index, inline in enumerate(_as_list(_get(props, "inlinePolicies")))
            if _get(inline, "policy") is not None
        ]
    document = _get(props, "policy")
    return [] if document is None else [("policy", document)]


def _wildcard_actions(statement: Mapping[str, Any]) -> list[str]:
    """What makes an Allow statement grant a wildcard action ("*", "svc:*", "svc:Get*", or any NotAction)."""
    if _get(statement, "Effect") == "Deny":
        return []
    found = [action for action in _as_list(_get(statement, "Action")) if isinstance(action, str) and "*" in action]
    if _get(statement, "NotAction") is not None:
        found.append("NotAction (allows everything not listed)")
    return found


def no_wildcard_iam_actions(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No Allow statement of an IAM role's inline policies, a role policy or a managed policy uses a wildcard."""
    problems = []
    for label, document in _policy_documents(resource_type, props):
        try:
            parsed = parse_policy_document(document)
        except ValueError as error:
            problems.append(f"{label}: cannot be checked: {error}")
            continue
        for index, statement in enumerate(_as_list(_get(parsed, "Statement"))):
            sid = _get(statement, "Sid") or f"#{index}"
            for action in _wildcard_actions(statement):
                problems.append(f"{label}, statement {sid}: wildcard action {action} is not allowed; list actions")
    return problems


def state_machine_logs(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A state machine logs executions (level ALL/ERROR/FATAL) to a log destination."""
    level = _get(props, "loggingConfiguration", "level")
    destination = _get(props, "loggingConfiguration", "logDestination")
    if level in STATE_MACHINE_LOG_LEVELS and destination:
        return []
    return [
        f"state machine logging must be on: loggingConfiguration.level one of {STATE_MACHINE_LOG_LEVELS} "
        f"(got {level!r}) and a logDestination"
    ]


def topic_is_encrypted(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """An SNS topic is encrypted with a KMS key."""
    if _get(props, "kmsMasterKeyId"):
        return []
    return ["SNS topic must be encrypted: set kmsMasterKeyId"]


def stream_mapping_has_failure_destination(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A stream event source mapping (it has a startingPosition) sends failed batches to a destination."""
    if not _get(props, "startingPosition"):
        return []  # queue sources (SQS) have no starting position and use the queue's own DLQ
    if _get(props, "destinationConfig", "onFailure", "destinationArn"):
        return []
    return ["stream event source mapping must set destinationConfig.onFailure.destinationArn"]


def _by_type(resources: Sequence[StackResource], *types: str) -> list[StackResource]:
    return [resource for resource in resources if resource.type in types]


def lambda_log_groups_retained(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    """Every Lambda function's log group (loggingConfig.logGroup or /aws/lambda/<name>) is in the stack with a
    retention period."""
    log_groups = {_get(group.props, "name"): group for group in _by_type(resources, LOG_GROUP)}
    problems = []
    for function in _by_type(resources, FUNCTION):
        name = _get(function.props, "name")
        expected = _get(function.props, "loggingConfig", "logGroup") or (name and f"/aws/lambda/{name}")
        group = log_groups.get(expected) if expected else None
        if group is None:
            problems.append(
                (
                    function,
                    f"Lambda function {name or function.name} has no log group "
                    f"{expected or '(unknown name)'} in the stack",
                )
            )
        elif not _get(group.props, "retentionInDays"):
            problems.append((group, f"log group {expected} of Lambda function {name} must set retentionInDays"))
    return problems


def _denies_insecure_transport(document: Any) -> bool:
    """The bucket policy has a Deny statement for everyone on s3:* when aws:SecureTransport is false."""
    try:
        parsed = parse_policy_document(document)
    except ValueError:
        return False
    for statement in _as_list(_get(parsed, "Statement")):
        secure = _get(statement, "Condition", "Bool", "aws:SecureTransport")
        principal = _get(statement, "Principal")
        everyone = principal == "*" or "*" in _as_list(_get(principal, "AWS"))
        actions = _as_list(_get(statement, "Action"))
        if (
            _get(statement, "Effect") == "Deny"
            and everyone
            and ("s3:*" in actions or "*" in actions)
            and str(secure).lower() == "false"
        ):
            return True
    return False


def buckets_private_and_tls_only(resources: Sequence[StackResource]) -> list[tuple[StackResource, str]]:
    """Every S3 bucket has a public access block with all four flags on and a policy denying non-TLS requests."""
    blocks = _by_type(resources, PUBLIC_ACCESS_BLOCK)
    policies = _by_type(resources, BUCKET_POLICY)
    problems = []
    for bucket in _by_type(resources, *BUCKETS):
        names = {value for value in (_get(bucket.props, "bucket"), _get(bucket.props, "id")) if value}
        label = next(iter(sorted(names)), bucket.name)
        if not any(
            _get(block.props, "bucket") in names
            and all(_is_true(_get(block.props, flag)) for flag in PUBLIC_ACCESS_FLAGS)
            for block in blocks
        ):
            problems.append(
                (
                    bucket,
                    f"S3 bucket {label} must have a public access block with {', '.join(PUBLIC_ACCESS_FLAGS)} all true",
                )
            )
        if not any(
            _get(policy.props, "bucket") in names and _denies_insecure_transport(_get(policy.props, "policy"))
            for policy in policies
        ):
            problems.append(
                (
                    bucket,
                    f"S3 bucket {label} must have a bucket policy denying requests without TLS "
                    "(Deny s3:* to * when aws:SecureTransport is false)",
                )
            )
    return problems


RESOURCE_RULES: tuple[ResourceRule, ...] = (
    ResourceRule(
        "dynamodb-table-pitr-and-encryption",
        "DynamoDB tables have point-in-time recovery and KMS server-side encryption.",
        (TABLE,),
        table_is_recoverable_and_encrypted,
    ),
    ResourceRule(
        "iam-no-wildcard-actions",
        "IAM policies (role inline policies, role policies, managed policies) allow no wildcard actions.",
        (ROLE, ROLE_POLICY, MANAGED_POLICY),
        no_wildcard_iam_actions,
    ),
    ResourceRule(
        "state-machine-logging",
        "Step Functions state machines log executions to CloudWatch Logs.",
        (STATE_MACHINE,),
        state_machine_logs,
    ),
    ResourceRule(
        "sns-topic-encrypted", "SNS topics (the alert topic) are encrypted with KMS.", (TOPIC,), topic_is_encrypted
    ),
    ResourceRule(
        "stream-mapping-on-failure-destination",
        "Stream event source mappings send failed batches to an on-failure destination.",
        (EVENT_SOURCE_MAPPING,),
        stream_mapping_has_failure_destination,
    ),
)

STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "lambda-log-group-retention",
        "Every Lambda function has its log group in the stack, with a retention period.",
        lambda_log_groups_retained,
    ),
    StackRule(
        "s3-bucket-private-and-tls-only",
        "S3 buckets (the state backend bucket) block public access and deny requests without TLS.",
        buckets_private_and_tls_only,
    ),
)


def resource_violations(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every resource rule's messages for one resource, prefixed with the rule name."""
    return [
        f"{rule.name}: {message}"
        for rule in RESOURCE_RULES
        if resource_type in rule.resource_types
        for message in rule.check(resource_type, props)
    ]


def stack_violations(resources: Sequence[StackResource]) -> list[str]:
    """Every stack rule's messages for a whole stack, prefixed with the rule name and the resource's name."""
    return [
        f"{rule.name}: {resource.name}: {message}"
        for rule in STACK_RULES
        for resource, message in rule.check(resources)
    ]
