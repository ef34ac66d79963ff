"""The Pulumi mocks that create each resource of a program in moto, through boto3, and answer with what moto
really returned: ids and ARNs plus the provider's computed outputs over the resolved inputs (camelCase, as the
provider receives them). A resource type without a creator here is recorded in `skipped`, never silently dropped;
a resource created differently from its inputs is recorded in `adjusted`. Invokes (`getCallerIdentity`,
`getRegion`, `getPartition`, `iam.getPolicyDocument`) are answered for the emulator's account and region.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import pathlib
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from .server import ACCOUNT_ID, region


@dataclasses.dataclass
class DeployedResource:
    type: str
    name: str
    id: str
    outputs: dict


# -- archives ---------------------------------------------------------------------------------------------------
def archive_bytes(archive: Any) -> bytes:
    """The zip bytes of a Pulumi archive input (FileArchive of a .zip or a directory, or an AssetArchive)."""
    if isinstance(archive, pulumi.FileArchive):
        if os.path.isdir(archive.path):
            return _zip_entries(_directory_entries(archive.path, ""))
        with open(archive.path, "rb") as handle:
            return handle.read()
    if isinstance(archive, pulumi.AssetArchive):
        return _zip_entries(_asset_archive_entries(archive.assets, ""))
    raise TypeError(f"unsupported archive input {type(archive).__name__}")


def _directory_entries(path: str, prefix: str) -> dict[str, bytes]:
    entries = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            entries[prefix + os.path.relpath(full, path).replace(os.sep, "/")] = pathlib.Path(full).read_bytes()
    return entries


def _asset_archive_entries(assets: dict, prefix: str) -> dict[str, bytes]:
    entries: dict[str, bytes] = {}
    for name, asset in assets.items():
        key = prefix + name
        if isinstance(asset, pulumi.StringAsset):
            entries[key] = asset.text.encode()
        elif isinstance(asset, pulumi.FileAsset):
            entries[key] = pathlib.Path(asset.path).read_bytes()
        elif isinstance(asset, pulumi.FileArchive) and os.path.isdir(asset.path):
            entries.update(_directory_entries(asset.path, key.rstrip("/") + "/"))
        elif isinstance(asset, pulumi.FileArchive):
            with zipfile.ZipFile(asset.path) as inner:
                for info in inner.infolist():
                    if not info.is_dir():
                        entries[key.rstrip("/") + "/" + info.filename] = inner.read(info)
        elif isinstance(asset, pulumi.AssetArchive):
            entries.update(_asset_archive_entries(asset.assets, key.rstrip("/") + "/"))
        else:
            raise TypeError(f"unsupported asset {type(asset).__name__} at {key}")
    return entries


def _zip_entries(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), entries[name])
    return buffer.getvalue()


# -- the mocks ----------------------------------------------------------------------------------------------------
def _physical_name(args: pulumi_mocks.MockResourceArgs, limit: int = 64) -> str:
    """The name the provider would auto-generate: the logical name plus a random-looking suffix."""
    if args.inputs.get("name"):
        return args.inputs["name"]
    if args.inputs.get("namePrefix"):
        return args.inputs["namePrefix"] + hashlib.sha1(args.name.encode()).hexdigest()[:8]
    suffix = hashlib.sha1(args.name.encode()).hexdigest()[:7]
    return f"{args.name[: limit - 8]}-{suffix}"


def _tags(tags: dict | None, key: str = "Key", value: str = "Value") -> list[dict]:
    return [{key: k, value: v} for k, v in (tags or {}).items()]


def _set_inputs(inputs: dict, api_names: dict[str, str]) -> dict:
    """The inputs that are set (not empty), under their API names (input name -> API name)."""
    return {api: inputs[name] for name, api in api_names.items() if inputs.get(name)}


def _text(value: Any) -> str:
    """A config value as the API wants it: Pulumi's mocks hand numbers over as floats (1209600.0)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _whole_numbers(value: Any) -> Any:
    """Pulumi's mocks hand every number over as a float; the AWS APIs want integers where they are whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


class EmulatorMocks(pulumi.runtime.Mocks):
    """Pulumi mocks that create each resource in the emulator and answer with what it really got."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.resources: list[DeployedResource] = []
        self.skipped: list[str] = []
        self.adjusted: list[str] = []
        self._creators: dict[str, Callable[[pulumi_mocks.MockResourceArgs], tuple[str, dict]]] = {
            "aws:dynamodb/table:Table": self._table,
            "aws:dynamodb/tableItem:TableItem": self._table_item,
            "aws:iam/role:Role": self._role,
            "aws:iam/rolePolicy:RolePolicy": self._role_policy,
            "aws:iam/policy:Policy": self._policy,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": self._role_policy_attachment,
            "aws:lambda/layerVersion:LayerVersion": self._layer_version,
            "aws:lambda/function:Function": self._function,
            "aws:lambda/eventSourceMapping:EventSourceMapping": self._event_source_mapping,
            "aws:lambda/permission:Permission": self._lambda_permission,
            "aws:sns/topic:Topic": self._topic,
            "aws:sns/topicSubscription:TopicSubscription": self._topic_subscription,
            "aws:sns/topicPolicy:TopicPolicy": self._topic_policy,
            "aws:sqs/queue:Queue": self._queue,
            "aws:sqs/queuePolicy:QueuePolicy": self._queue_policy,
            "aws:cloudwatch/logGroup:LogGroup": self._log_group,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._metric_alarm,
            "aws:sfn/stateMachine:StateMachine": self._state_machine,
            "aws:scheduler/scheduleGroup:ScheduleGroup": self._schedule_group,
            "aws:cloudwatch/eventBus:EventBus": self._event_bus,
            "aws:cloudwatch/eventRule:EventRule": self._event_rule,
            "aws:cloudwatch/eventTarget:EventTarget": self._event_target,
            "aws:scheduler/schedule:Schedule": self._schedule,
            "aws:s3/bucket:Bucket": self._bucket,
            "aws:s3/bucketV2:BucketV2": self._bucket,
            "aws:s3/bucketVersioning:BucketVersioning": self._bucket_versioning,
            "aws:s3/bucketVersioningV2:BucketVersioningV2": self._bucket_versioning,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": self._bucket_public_access_block,
            "aws:s3/bucketPolicy:BucketPolicy": self._bucket_policy,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": self._bucket_sse,
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": self._bucket_sse,  # noqa: E501
            "aws:kms/key:Key": self._kms_key,
            "aws:kms/alias:Alias": self._kms_alias,
            "aws:cloudwatch/dashboard:Dashboard": self._dashboard,
            "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration": self._chat_channel,
            "aws:chatbot/teamsChannelConfiguration:TeamsChannelConfiguration": self._chat_channel,
        }

    # pulumi entry points ------------------------------------------------------------------------------------------
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider", dict(args.inputs)
        if not args.custom:  # a ComponentResource: nothing to create
            return "", {}
        creator = self._creators.get(args.typ)
        if creator is None:
            with self._lock:
                self.skipped.append(f"{args.typ} ({args.name})")
            return f"{args.name}-not-emulated", dict(args.inputs)
        args.inputs = _whole_numbers(args.inputs)
        try:
            resource_id, outputs = self._with_retry(lambda: creator(args))
        except Exception as error:
            raise RuntimeError(f"emulator could not create {args.typ} {args.name!r}: {error}") from error
        state = {**args.inputs, **outputs}
        with self._lock:
            self.resources.append(DeployedResource(args.typ, args.name, resource_id, state))
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list]:
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/emulator",
                "userId": "AIDAEMULATOR",
                "id": ACCOUNT_ID,
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {
                "name": region(),
                "region": region(),
                "id": region(),
                "endpoint": f"ec2.{region()}.amazonaws.com",
                "description": "US East (N. Virginia)",
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws",
                "id": "aws",
            }, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            document = _policy_document(args.args)
            return {"json": document, "minifiedJson": document, "id": hashlib.sha1(document.encode()).hexdigest()}, []
        with self._lock:
            self.skipped.append(f"invoke {token}")
        return {}, []

    @staticmethod
    def _with_retry(create: Callable[[], tuple[str, dict]]) -> tuple[str, dict]:
        """Registrations run concurrently; a resource named by a plain string may briefly race its dependency."""
        deadline = time.monotonic() + 5
        while True:
            try:
                return create()
            except Exception as error:
                code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
                if time.monotonic() > deadline or code not in {
                    "ResourceNotFoundException",
                    "NoSuchEntity",
                    "NotFoundException",
                    "NoSuchBucket",
                    "AWS.SimpleQueueService.NonExistentQueue",
                    "NotFound",
                    "InvalidParameterValueException",
                }:
                    raise
                time.sleep(0.05)

    # dynamodb -------------------------------------------------------------------------------------------------------
    def _table(self, args):
        i = args.inputs
        name = _physical_name(args, 255)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]} for a in i["attributes"]],
            "KeySchema": [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
            + ([{"AttributeName": i["rangeKey"], "KeyType": "RANGE"}] if i.get("rangeKey") else []),
            "BillingMode": i.get("billingMode") or "PROVISIONED",
        }
        if kwargs["BillingMode"] == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = {
                "ReadCapacityUnits": int(i.get("readCapacity") or 1),
                "WriteCapacityUnits": int(i.get("writeCapacity") or 1),
            }
        indexes = []
        for gsi in i.get("globalSecondaryIndexes") or []:
            if gsi.get("keySchemas"):
                schema = [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in gsi["keySchemas"]]
            else:
                schema = [{"AttributeName": gsi["hashKey"], "KeyType": "HASH"}] + (
                    [{"AttributeName": gsi["rangeKey"], "KeyType": "RANGE"}] if gsi.get("rangeKey") else []
                )
            projection = {"ProjectionType": gsi.get("projectionType") or "ALL"}
            if gsi.get("nonKeyAttributes"):
                projection["NonKeyAttributes"] = gsi["nonKeyAttributes"]
            index = {"IndexName": gsi["name"], "KeySchema": schema, "Projection": projection}
            if kwargs["BillingMode"] == "PROVISIONED":
                index["ProvisionedThroughput"] = {
                    "ReadCapacityUnits": int(gsi.get("readCapacity") or 1),
                    "WriteCapacityUnits": int(gsi.get("writeCapacity") or 1),
                }
            indexes.append(index)
        if indexes:
            kwargs["GlobalSecondaryIndexes"] = indexes
        if i.get("streamEnabled"):
            view = i.get("streamViewType") or "NEW_AND_OLD_IMAGES"
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        sse = i.get("serverSideEncryption") or {}
        if sse.get("enabled"):
            kwargs["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
            if sse.get("kmsKeyArn"):
                kwargs["SSESpecification"]["KMSMasterKeyId"] = sse["kmsKeyArn"]
        if i.get("deletionProtectionEnabled") is not None:
            kwargs["DeletionProtectionEnabled"] = bool(i["deletionProtectionEnabled"])
        if i.get("tags"):
            kwargs["Tags"] = _tags(i["tags"])
        dynamodb = self._client("dynamodb")
        table = dynamodb.create_table(**kwargs)["TableDescription"]
        ttl = i.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
            )
        if (i.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        return name, {
            "name": name,
            "arn": table["TableArn"],
            "streamArn": table.get("LatestStreamArn", ""),
            "streamLabel": table.get("LatestStreamLabel", ""),
            "billingMode": kwargs["BillingMode"],
        }

    def _table_item(self, args):
        i = args.inputs
        item = json.loads(i["item"])
        self._client("dynamodb").put_item(TableName=i["tableName"], Item=item)
        key = "|".join(str(next(iter(item[k].values()))) for k in (i["hashKey"], i.get("rangeKey")) if k)
        return f"{i['tableName']}|{key}", {}

    # iam ------------------------------------------------------------------------------------------------------------
    def _role(self, args):
        i = args.inputs
        name = _physical_name(args)
        kwargs = {"RoleName": name, "AssumeRolePolicyDocument": i["assumeRolePolicy"], "Path": i.get("path") or "/"}
        if i.get("description"):
            kwargs["Description"] = i["description"]
        if i.get("maxSessionDuration"):
            kwargs["MaxSessionDuration"] = int(i["maxSessionDuration"])
        if i.get("permissionsBoundary"):
            kwargs["PermissionsBoundary"] = i["permissionsBoundary"]
        if i.get("tags"):
            kwargs["Tags"] = _tags(i["tags"])
        iam = self._client("iam")
        role = iam.create_role(**kwargs)["Role"]
        for inline in i.get("inlinePolicies") or []:
            if inline.get("policy"):
                iam.put_role_policy(RoleName=name, PolicyName=inline["name"], PolicyDocument=inline["policy"])
        for arn in i.get("managedPolicyArns") or []:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return name, {
            "name": name,
            "arn": role["Arn"],
            "uniqueId": role["RoleId"],
            "createDate": str(role["CreateDate"]),
        }

    def _role_policy(self, args):
        i = args.inputs
        name = _physical_name(args, 128)
        self._client("iam").put_role_policy(RoleName=i["role"], PolicyName=name, PolicyDocument=i["policy"])
        return f"{i['role']}:{name}", {"name": name}

    def _policy(self, args):
        i = args.inputs
        name = _physical_name(args, 128)
        kwargs = {"PolicyName": name, "PolicyDocument": i["policy"], "Path": i.get("path") or "/"}
        if i.get("description"):
            kwargs["Description"] = i["description"]
        policy = self._client("iam").create_policy(**kwargs)["Policy"]
        return policy["Arn"], {"name": name, "arn": policy["Arn"], "policyId": policy["PolicyId"]}

    def _role_policy_attachment(self, args):
        i = args.inputs
        self._client("iam").attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
        return f"{i['role']}-{hashlib.sha1(i['policyArn'].encode()).hexdigest()[:8]}", {}

    # lambda ---------------------------------------------------------------------------------------------------------
    def _layer_version(self, args):
        i = args.inputs
        kwargs = {
            "LayerName": i["layerName"],
            "Content": {"ZipFile": archive_bytes(i["code"])},
            **_set_inputs(
                i,
                {
                    "compatibleRuntimes": "CompatibleRuntimes",
                    "compatibleArchitectures": "CompatibleArchitectures",
                    "description": "Description",
                },
            ),
        }
        layer = self._client("lambda").publish_layer_version(**kwargs)
        return layer["LayerVersionArn"], {
            "arn": layer["LayerVersionArn"],
            "layerArn": layer["LayerArn"],
            "version": str(layer["Version"]),
            "code": None,
        }

    def _function(self, args):
        i = args.inputs
        name = _physical_name(args)
        kwargs: dict[str, Any] = {
            "FunctionName": name,
            "Role": i["role"],
            "Code": {"ZipFile": archive_bytes(i["code"])},
            "PackageType": "Zip",
        }
        for key, api in (
            ("runtime", "Runtime"),
            ("handler", "Handler"),
            ("description", "Description"),
            ("kmsKeyArn", "KMSKeyArn"),
            ("architectures", "Architectures"),
            ("layers", "Layers"),
        ):
            if i.get(key):
                kwargs[api] = i[key]
        if i.get("memorySize"):
            kwargs["MemorySize"] = int(i["memorySize"])
        if i.get("timeout"):
            kwargs["Timeout"] = int(i["timeout"])
        if (i.get("environment") or {}).get("variables"):
            kwargs["Environment"] = {"Variables": {k: _text(v) for k, v in i["environment"]["variables"].items()}}
        if (i.get("tracingConfig") or {}).get("mode"):
            kwargs["TracingConfig"] = {"Mode": i["tracingConfig"]["mode"]}
        logging_config = i.get("loggingConfig") or {}
        if logging_config:
            kwargs["LoggingConfig"] = _strip_none(
                {
                    "LogFormat": logging_config.get("logFormat"),
                    "LogGroup": logging_config.get("logGroup"),
                    "ApplicationLogLevel": logging_config.get("applicationLogLevel"),
                    "SystemLogLevel": logging_config.get("systemLogLevel"),
                }
            )
        if i.get("tags"):
            kwargs["Tags"] = i["tags"]
        function = self._client("lambda").create_function(**kwargs)
        arn = function["FunctionArn"]
        return name, {
            "name": name,
            "arn": arn,
            "qualifiedArn": f"{arn}:$LATEST",
            "invokeArn": f"arn:aws:apigateway:{region()}:lambda:path/2015-03-31/functions/{arn}/invocations",
            "version": function.get("Version", "$LATEST"),
            "sourceCodeHash": function["CodeSha256"],
            "code": None,
        }

    def _event_source_mapping(self, args):
        i = args.inputs
        kwargs: dict[str, Any] = {"FunctionName": i["functionName"], "EventSourceArn": i["eventSourceArn"]}
        for key, api in (
            ("startingPosition", "StartingPosition"),
            ("functionResponseTypes", "FunctionResponseTypes"),
            ("bisectBatchOnFunctionError", "BisectBatchOnFunctionError"),
        ):
            if i.get(key) is not None:
                kwargs[api] = i[key]
        for key, api in (
            ("batchSize", "BatchSize"),
            ("maximumRetryAttempts", "MaximumRetryAttempts"),
            ("maximumRecordAgeInSeconds", "MaximumRecordAgeInSeconds"),
            ("maximumBatchingWindowInSeconds", "MaximumBatchingWindowInSeconds"),
            ("parallelizationFactor", "ParallelizationFactor"),
        ):
            if i.get(key) is not None:
                kwargs[api] = int(i[key])
        if i.get("enabled") is not None:
            kwargs["Enabled"] = bool(i["enabled"])
        filters = (i.get("filterCriteria") or {}).get("filters") or []
        if filters:
            kwargs["FilterCriteria"] = {"Filters": [{"Pattern": f["pattern"]} for f in filters]}
        on_failure = ((i.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
        if on_failure:
            kwargs["DestinationConfig"] = {"OnFailure": {"Destination": on_failure}}
        mapping = self._client("lambda").create_event_source_mapping(**kwargs)
        return mapping["UUID"], {
            "uuid": mapping["UUID"],
            "arn": mapping.get("EventSourceMappingArn", ""),
            "functionArn": mapping["FunctionArn"],
            "state": mapping.get("State", "Enabled"),
        }

    def _lambda_permission(self, args):
        i = args.inputs
        statement = i.get("statementId") or _physical_name(args, 100)
        kwargs = {
            "FunctionName": i["function"],
            "StatementId": statement,
            "Action": i["action"],
            "Principal": i["principal"],
        }
        if i.get("sourceArn"):
            kwargs["SourceArn"] = i["sourceArn"]
        if i.get("sourceAccount"):
            kwargs["SourceAccount"] = i["sourceAccount"]
        self._client("lambda").add_permission(**kwargs)
        return statement, {"statementId": statement}

    # sns / sqs ------------------------------------------------------------------------------------------------------
    def _topic(self, args):
        i = args.inputs
        name = _physical_name(args, 256)
        attributes = _set_inputs(
            i, {"kmsMasterKeyId": "KmsMasterKeyId", "displayName": "DisplayName", "policy": "Policy"}
        )
        arn = self._client("sns").create_topic(Name=name, Attributes=attributes, Tags=_tags(i.get("tags")))["TopicArn"]
        return arn, {"name": name, "arn": arn, "owner": ACCOUNT_ID}

    def _topic_subscription(self, args):
        i = args.inputs
        attributes = {}
        if i.get("rawMessageDelivery"):
            attributes["RawMessageDelivery"] = "true"
        if i.get("filterPolicy"):
            attributes["FilterPolicy"] = i["filterPolicy"]
        if i.get("filterPolicyScope"):
            attributes["FilterPolicyScope"] = i["filterPolicyScope"]
        arn = self._client("sns").subscribe(
            TopicArn=i["topic"],
            Protocol=i["protocol"],
            Endpoint=i["endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {"arn": arn, "ownerId": ACCOUNT_ID, "pendingConfirmation": False}

    def _topic_policy(self, args):
        i = args.inputs
        self._client("sns").set_topic_attributes(TopicArn=i["arn"], AttributeName="Policy", AttributeValue=i["policy"])
        return i["arn"], {"owner": ACCOUNT_ID}

    def _queue(self, args):
        i = args.inputs
        name = _physical_name(args, 80)
        if i.get("fifoQueue") and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = {}
        for key, api in (
            ("messageRetentionSeconds", "MessageRetentionPeriod"),
            ("visibilityTimeoutSeconds", "VisibilityTimeout"),
            ("delaySeconds", "DelaySeconds"),
            ("receiveWaitTimeSeconds", "ReceiveMessageWaitTimeSeconds"),
            ("maxMessageSize", "MaximumMessageSize"),
            ("kmsMasterKeyId", "KmsMasterKeyId"),
            ("sqsManagedSseEnabled", "SqsManagedSseEnabled"),
            ("redrivePolicy", "RedrivePolicy"),
            ("policy", "Policy"),
            ("fifoQueue", "FifoQueue"),
        ):
            if i.get(key) not in (None, ""):
                attributes[api] = _text(i[key])
        sqs = self._client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=i.get("tags") or {})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, {"name": name, "arn": arn, "url": url}

    def _queue_policy(self, args):
        i = args.inputs
        self._client("sqs").set_queue_attributes(QueueUrl=i["queueUrl"], Attributes={"Policy": i["policy"]})
        return i["queueUrl"], {}

    # logs / cloudwatch ----------------------------------------------------------------------------------------------
    def _log_group(self, args):
        i = args.inputs
        name = _physical_name(args, 512)
        logs = self._client("logs")
        kwargs = {"logGroupName": name}
        if i.get("kmsKeyId"):
            kwargs["kmsKeyId"] = i["kmsKeyId"]
        if i.get("tags"):
            kwargs["tags"] = i["tags"]
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):  # a first invocation may have made it
            logs.create_log_group(**kwargs)
        if i.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(i["retentionInDays"]))
        return name, {"name": name, "arn": f"arn:aws:logs:{region()}:{ACCOUNT_ID}:log-group:{name}"}

    def _metric_alarm(self, args):
        i = args.inputs
        name = _physical_name(args, 255)
        kwargs = _strip_none(
            {
                "AlarmName": name,
                "AlarmDescription": i.get("alarmDescription"),
                "ComparisonOperator": i["comparisonOperator"],
                "EvaluationPeriods": int(i["evaluationPeriods"]),
                "DatapointsToAlarm": int(i["datapointsToAlarm"]) if i.get("datapointsToAlarm") else None,
                "Threshold": float(i["threshold"]) if i.get("threshold") is not None else None,
                "TreatMissingData": i.get("treatMissingData"),
                "ActionsEnabled": i.get("actionsEnabled", True),
                "AlarmActions": i.get("alarmActions") or [],
                "OKActions": i.get("okActions") or [],
                "InsufficientDataActions": i.get("insufficientDataActions") or [],
            }
        )
        if i.get("metricQueries"):
            kwargs["Metrics"] = [_metric_query(q) for q in i["metricQueries"]]
        else:
            kwargs.update(
                _strip_none(
                    {
                        "MetricName": i.get("metricName"),
                        "Namespace": i.get("namespace"),
                        "Period": int(i["period"]) if i.get("period") else None,
                        "Statistic": i.get("statistic"),
                        "ExtendedStatistic": i.get("extendedStatistic"),
                        "Unit": i.get("unit"),
                        "Dimensions": [{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
                    }
                )
            )
        self._client("cloudwatch").put_metric_alarm(**kwargs)
        return name, {"name": name, "arn": f"arn:aws:cloudwatch:{region()}:{ACCOUNT_ID}:alarm:{name}"}

    # step functions / scheduler -------------------------------------------------------------------------------------
    def _state_machine(self, args):
        i = args.inputs
        name = _physical_name(args, 80)
        kwargs: dict[str, Any] = {
            "name": name,
            "definition": i["definition"],
            "roleArn": i["roleArn"],
            "type": i.get("type") or "STANDARD",
        }
        logging_config = i.get("loggingConfiguration") or {}
        if logging_config.get("logDestination"):
            kwargs["loggingConfiguration"] = {
                "level": logging_config.get("level") or "OFF",
                "includeExecutionData": bool(logging_config.get("includeExecutionData")),
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": logging_config["logDestination"]}}],
            }
        if (i.get("tracingConfiguration") or {}).get("enabled") is not None:
            kwargs["tracingConfiguration"] = {"enabled": bool(i["tracingConfiguration"]["enabled"])}
        if i.get("tags"):
            kwargs["tags"] = _tags(i["tags"], "key", "value")
        arn = self._client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
        return arn, {"name": name, "arn": arn, "status": "ACTIVE", "stateMachineVersionArn": ""}

    def _schedule_group(self, args):
        name = _physical_name(args, 64)
        arn = self._client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        return name, {"name": name, "arn": arn, "state": "ACTIVE"}

    def _schedule(self, args):
        i = args.inputs
        name = _physical_name(args, 64)
        target = i["target"]
        api_target = _strip_none(
            {
                "Arn": target["arn"],
                "RoleArn": target["roleArn"],
                "Input": target.get("input"),
                "RetryPolicy": _strip_none(
                    {
                        "MaximumEventAgeInSeconds": (target.get("retryPolicy") or {}).get("maximumEventAgeInSeconds"),
                        "MaximumRetryAttempts": (target.get("retryPolicy") or {}).get("maximumRetryAttempts"),
                    }
                )
                if target.get("retryPolicy")
                else None,
                "DeadLetterConfig": {"Arn": target["deadLetterConfig"]["arn"]}
                if target.get("deadLetterConfig")
                else None,
            }
        )
        window = i.get("flexibleTimeWindow") or {"mode": "OFF"}
        kwargs = _strip_none(
            {
                "Name": name,
                "GroupName": i.get("groupName"),
                "ScheduleExpression": i["scheduleExpression"],
                "ScheduleExpressionTimezone": i.get("scheduleExpressionTimezone"),
                "Description": i.get("description"),
                "State": i.get("state"),
                "FlexibleTimeWindow": _strip_none(
                    {"Mode": window["mode"], "MaximumWindowInMinutes": window.get("maximumWindowInMinutes")}
                ),
                "Target": api_target,
            }
        )
        arn = self._client("scheduler").create_schedule(**kwargs)["ScheduleArn"]
        group = i.get("groupName") or "default"
        return f"{group}/{name}", {"name": name, "arn": arn, "groupName": group}

    # eventbridge ----------------------------------------------------------------------------------------------------
    def _event_bus(self, args):
        i = args.inputs
        name = i.get("name") or _physical_name(args, 256)
        kwargs = _strip_none(
            {
                "Name": name,
                "Description": i.get("description"),
                "KmsKeyIdentifier": i.get("kmsKeyIdentifier"),
                "Tags": _tags(i.get("tags")) or None,
            }
        )
        arn = self._client("events").create_event_bus(**kwargs)["EventBusArn"]
        return name, {"name": name, "arn": arn}

    def _event_rule(self, args):
        i = args.inputs
        name = _physical_name(args, 64)
        state = i.get("state") or ("DISABLED" if i.get("isEnabled") is False else "ENABLED")
        kwargs = _strip_none(
            {
                "Name": name,
                "EventPattern": i.get("eventPattern"),
                "ScheduleExpression": i.get("scheduleExpression"),
                "State": state,
                "Description": i.get("description"),
                "RoleArn": i.get("roleArn"),
                "EventBusName": i.get("eventBusName"),
                "Tags": _tags(i.get("tags")) or None,
            }
        )
        arn = self._client("events").put_rule(**kwargs)["RuleArn"]
        bus = i.get("eventBusName") or "default"
        return (name if bus == "default" else f"{bus}/{name}"), {"name": name, "arn": arn, "state": state}

    def _event_target(self, args):
        i = args.inputs
        target_id = i.get("targetId") or _physical_name(args, 64)
        transformer = i.get("inputTransformer") or {}
        target = _strip_none(
            {
                "Id": target_id,
                "Arn": i["arn"],
                "RoleArn": i.get("roleArn"),
                "Input": i.get("input"),
                "InputPath": i.get("inputPath"),
                "InputTransformer": _strip_none(
                    {"InputPathsMap": transformer.get("inputPaths"), "InputTemplate": transformer["inputTemplate"]}
                )
                if transformer
                else None,
                "RetryPolicy": _strip_none(
                    {
                        "MaximumEventAgeInSeconds": (i.get("retryPolicy") or {}).get("maximumEventAgeInSeconds"),
                        "MaximumRetryAttempts": (i.get("retryPolicy") or {}).get("maximumRetryAttempts"),
                    }
                )
                if i.get("retryPolicy")
                else None,
                "DeadLetterConfig": {"Arn": i["deadLetterConfig"]["arn"]} if i.get("deadLetterConfig") else None,
                "SqsParameters": {"MessageGroupId": i["sqsTarget"]["messageGroupId"]} if i.get("sqsTarget") else None,
            }
        )
        kwargs = _strip_none({"Rule": i["rule"], "EventBusName": i.get("eventBusName"), "Targets": [target]})
        response = self._client("events").put_targets(**kwargs)
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"put_targets failed: {response['FailedEntries']}")
        return f"{i['rule']}-{target_id}", {"targetId": target_id}

    # s3 / kms -------------------------------------------------------------------------------------------------------
    def _bucket(self, args):
        i = args.inputs
        suffix = hashlib.sha1(args.name.encode()).hexdigest()[:12]
        name = (i.get("bucket") or (i.get("bucketPrefix") or args.name[:40] + "-") + suffix).lower()
        self._client("s3").create_bucket(Bucket=name)
        return name, {
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{region()}.amazonaws.com",
            "region": region(),
        }

    def _bucket_versioning(self, args):
        i = args.inputs
        status = (i.get("versioningConfiguration") or {}).get("status") or "Enabled"
        self._client("s3").put_bucket_versioning(Bucket=i["bucket"], VersioningConfiguration={"Status": status})
        return i["bucket"], {}

    def _bucket_public_access_block(self, args):
        i = args.inputs
        self._client("s3").put_public_access_block(
            Bucket=i["bucket"],
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": bool(i.get("blockPublicAcls")),
                "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
                "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
                "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets")),
            },
        )
        return i["bucket"], {}

    def _bucket_policy(self, args):
        """moto ignores policy conditions, so a TLS-only Deny (`aws:SecureTransport` false) would refuse every
        request, while against AWS the SDKs always use TLS and never meet it: such statements are left out."""
        i = args.inputs
        document = json.loads(i["policy"])
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        kept = [s for s in statements if s.get("Condition") != {"Bool": {"aws:SecureTransport": "false"}}]
        if len(kept) < len(statements):
            with self._lock:
                self.adjusted.append(
                    f"{args.typ} ({args.name}): TLS-only Deny left out (moto ignores conditions; "
                    "the emulator speaks plain HTTP)"
                )
        if kept:
            self._client("s3").put_bucket_policy(Bucket=i["bucket"], Policy=json.dumps({**document, "Statement": kept}))
        return i["bucket"], {}

    def _bucket_sse(self, args):
        i = args.inputs
        rules = []
        for rule in i.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            rules.append(
                _strip_none(
                    {
                        "ApplyServerSideEncryptionByDefault": _strip_none(
                            {
                                "SSEAlgorithm": default.get("sseAlgorithm") or "AES256",
                                "KMSMasterKeyID": default.get("kmsMasterKeyId"),
                            }
                        ),
                        "BucketKeyEnabled": rule.get("bucketKeyEnabled"),
                    }
                )
            )
        self._client("s3").put_bucket_encryption(Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules})
        return i["bucket"], {}

    def _kms_key(self, args):
        i = args.inputs
        kwargs = _strip_none(
            {"Description": i.get("description"), "KeyUsage": i.get("keyUsage"), "Policy": i.get("policy")}
        )
        key = self._client("kms").create_key(**kwargs)["KeyMetadata"]
        if i.get("enableKeyRotation"):
            self._client("kms").enable_key_rotation(KeyId=key["KeyId"])
        return key["KeyId"], {"keyId": key["KeyId"], "arn": key["Arn"]}

    def _kms_alias(self, args):
        i = args.inputs
        name = i.get("name") or "alias/" + _physical_name(args)
        self._client("kms").create_alias(AliasName=name, TargetKeyId=i["targetKeyId"])
        key_arn = self._client("kms").describe_key(KeyId=i["targetKeyId"])["KeyMetadata"]["Arn"]
        return name, {"name": name, "arn": f"arn:aws:kms:{region()}:{ACCOUNT_ID}:{name}", "targetKeyArn": key_arn}

    # dashboards / chat channels --------------------------------------------------------------------------------------
    def _dashboard(self, args):
        i = args.inputs
        name = i["dashboardName"]
        self._client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=i["dashboardBody"])
        arn = self._client("cloudwatch").get_dashboard(DashboardName=name)["DashboardArn"]
        return name, {"dashboardName": name, "dashboardArn": arn}

    def _chat_channel(self, args):
        """moto has no Chatbot: the configuration gets its ARN without a backend (nothing posts to a chat)."""
        i = args.inputs
        kind = "slack-channel" if "slack" in args.typ else "microsoft-teams-channel"
        arn = f"arn:aws:chatbot::{ACCOUNT_ID}:chat-configuration/{kind}/{i['configurationName']}"
        with self._lock:
            self.adjusted.append(f"{args.typ} ({args.name}): not created (moto has no Chatbot); ARN only")
        return arn, {"chatConfigurationArn": arn}


def _metric_query(query: dict) -> dict:
    metric = query.get("metric")
    return _strip_none(
        {
            "Id": query["id"],
            "Expression": query.get("expression"),
            "Label": query.get("label"),
            "ReturnData": query.get("returnData"),
            "MetricStat": _strip_none(
                {
                    "Metric": {
                        "MetricName": metric["metricName"],
                        "Namespace": metric.get("namespace"),
                        "Dimensions": [{"Name": k, "Value": v} for k, v in (metric.get("dimensions") or {}).items()],
                    },
                    "Period": int(metric["period"]),
                    "Stat": metric["stat"],
                    "Unit": metric.get("unit"),
                }
            )
            if metric
            else None,
        }
    )


def _policy_document(args: dict) -> str:
    """Render `aws.iam.get_policy_document` arguments the way the provider does (the common subset)."""
    statements = []
    for s in args.get("statements") or []:
        statement: dict[str, Any] = {}
        if s.get("sid"):
            statement["Sid"] = s["sid"]
        statement["Effect"] = s.get("effect") or "Allow"
        for key, api in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if s.get(key):
                values = sorted(s[key])
                statement[api] = values[0] if len(values) == 1 else values
        for key, api in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if s.get(key):
                principals: dict[str, Any] = {}
                for p in s[key]:
                    ids = p["identifiers"]
                    principals[p["type"]] = ids[0] if len(ids) == 1 else ids
                statement[api] = principals
        if s.get("conditions"):
            conditions: dict[str, dict] = {}
            for c in s["conditions"]:
                values = c["values"]
                conditions.setdefault(c["test"], {})[c["variable"]] = values[0] if len(values) == 1 else values
            statement["Condition"] = conditions
        statements.append(statement)
    return json.dumps({"Version": args.get("version") or "2012-10-17", "Statement": statements}, indent=2)
