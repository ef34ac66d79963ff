"""The state backend project (backend/__main__.py) under Pulumi mocks: bucket hardening, KMS key, outputs, config."""

import json
import os
import sys

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from emulator.program import run_program
from policy.guardrails import rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BACKEND_DIR = os.path.join(ROOT, "backend")
REGION = "eu-west-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:123456789012:key/{KEY_ID}"

sys.path.insert(0, BACKEND_DIR)  # as the Pulumi CLI runs backend/__main__.py: its directory first on sys.path
from state_backend import load_backend_settings  # noqa: E402


class BackendMocks(pulumi.runtime.Mocks):
    """Returns provider-like outputs and records every resource as (type, name, inputs, outputs)."""

    def __init__(self):
        self.resources = []

    def new_resource(self, args):
        outputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        if args.typ == "aws:s3/bucket:Bucket":
            resource_id = args.inputs.get("bucket") or f"{args.name}-4f2a9c1"
            outputs.update(bucket=resource_id, arn=f"arn:aws:s3:::{resource_id}")
        elif args.typ == "aws:kms/key:Key":
            resource_id = KEY_ID
            outputs.update(keyId=KEY_ID, arn=KEY_ARN)
        elif args.typ == "aws:kms/alias:Alias":
            resource_id = args.inputs["name"]
            outputs.update(arn=f"arn:aws:kms:{REGION}:123456789012:{args.inputs['name']}")
        self.resources.append((args.typ, args.name, args.inputs, outputs))
        return resource_id, outputs

    def call(self, args):
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION}, []
        raise AssertionError(f"unexpected invoke {args.token}")

    def one(self, type_token):
        found = [resource for resource in self.resources if resource[0] == type_token]
        assert len(found) == 1, f"{type_token}: {found}"
        return found[0]


class OptionRecordingMonitor(MockMonitor):
    """The mock monitor, also keeping each registration's protect / retainOnDelete options by resource name."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.options = {}

    def RegisterResource(self, request):
        self.options[request.name] = {"protect": request.protect, "retain_on_delete": request.retainOnDelete}
        return super().RegisterResource(request)


def run_backend(config):
    """Run backend/__main__.py under mocks with `interlock-backend:` config; returns (mocks, monitor, exports)."""
    mocks = BackendMocks()
    monitor = OptionRecordingMonitor(mocks)
    exports = run_program(BACKEND_DIR, config, mocks, stack="bootstrap", monitor=monitor)
    pulumi.runtime.set_all_config({})
    return mocks, monitor, exports


@pytest.fixture
def default_backend():
    return run_backend({})


def test_outputs_are_ready_for_pulumi_login_and_secrets_provider(default_backend):
    mocks, _, exports = default_backend
    bucket_name = mocks.one("aws:s3/bucket:Bucket")[3]["bucket"]
    assert exports["backendUrl"] == f"s3://{bucket_name}?region={REGION}"
    assert exports["secretsProvider"] == f"awskms://alias/interlock-pulumi-secrets?region={REGION}"
    assert exports["bucketName"] == bucket_name
    assert exports["kmsKeyArn"] == KEY_ARN


def test_bucket_is_versioned_kms_encrypted_and_private(default_backend):
    mocks, _, _ = default_backend
    bucket_id = mocks.one("aws:s3/bucket:Bucket")[3]["bucket"]
    assert mocks.one("aws:s3/bucket:Bucket")[2].get("forceDestroy") is False

    versioning = mocks.one("aws:s3/bucketVersioning:BucketVersioning")[2]
    assert versioning["bucket"] == bucket_id
    assert versioning["versioningConfiguration"]["status"] == "Enabled"

    encryption = mocks.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[2]
    assert encryption["bucket"] == bucket_id
    [rule] = encryption["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}
    assert rule["bucketKeyEnabled"] is True

    block = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[2]
    assert block["bucket"] == bucket_id
    assert all(block[flag] is True for flag in rules.PUBLIC_ACCESS_FLAGS)

    ownership = mocks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")[2]
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_bucket_policy_denies_every_request_without_tls(default_backend):
    mocks, _, _ = default_backend
    bucket_id = mocks.one("aws:s3/bucket:Bucket")[3]["bucket"]
    policy = mocks.one("aws:s3/bucketPolicy:BucketPolicy")[2]
    assert policy["bucket"] == bucket_id
    [statement] = json.loads(policy["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
    assert statement["Resource"] == [f"arn:aws:s3:::{bucket_id}", f"arn:aws:s3:::{bucket_id}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_noncurrent_versions_expire_after_the_default_days(default_backend):
    mocks, _, _ = default_backend
    [rule] = mocks.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[2]["rules"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert "expiration" not in rule  # current state files are never expired


def test_key_rotates_and_alias_targets_it(default_backend):
    mocks, _, _ = default_backend
    key = mocks.one("aws:kms/key:Key")[2]
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] == 30
    alias = mocks.one("aws:kms/alias:Alias")[2]
    assert alias == {"name": "alias/interlock-pulumi-secrets", "targetKeyId": KEY_ID}


def test_bucket_and_key_are_protected_and_retained(default_backend):
    mocks, monitor, _ = default_backend
    for type_token in ("aws:s3/bucket:Bucket", "aws:kms/key:Key"):
        name = mocks.one(type_token)[1]
        assert monitor.options[name] == {"protect": True, "retain_on_delete": True}, name


def test_config_sets_bucket_name_prefix_and_days():
    mocks, _, exports = run_backend(
        {
            "bucketName": "acme-pulumi-state",
            "namePrefix": "acme",
            "noncurrentVersionExpirationDays": "14",
            "keyDeletionWindowDays": "7",
        }
    )
    assert exports["backendUrl"] == f"s3://acme-pulumi-state?region={REGION}"
    assert exports["secretsProvider"] == f"awskms://alias/acme-pulumi-secrets?region={REGION}"
    [rule] = mocks.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[2]["rules"]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 14}
    assert mocks.one("aws:kms/key:Key")[2]["deletionWindowInDays"] == 7


@pytest.mark.parametrize(
    "config, key",
    [
        ({"noncurrentVersionExpirationDays": "0"}, "noncurrentVersionExpirationDays"),
        ({"noncurrentVersionExpirationDays": "ninety"}, "noncurrentVersionExpirationDays"),
        ({"keyDeletionWindowDays": "3"}, "keyDeletionWindowDays"),
        ({"namePrefix": "Acme_Corp"}, "namePrefix"),
    ],
)
def test_invalid_config_names_the_key(config, key):
    with pytest.raises(ValueError, match=f"interlock-backend:{key}"):
        load_backend_settings(config)


def test_backend_resources_pass_the_guardrails(default_backend):
    mocks, _, _ = default_backend
    for type_token, _, inputs, _ in mocks.resources:
        assert rules.resource_violations(type_token, inputs) == [], type_token
    stack = [
        rules.StackResource(type_token, name, {**inputs, **outputs})
        for type_token, name, inputs, outputs in mocks.resources
    ]
    assert rules.stack_violations(stack) == []
    assert any(r.type in rules.BUCKETS for r in stack)  # the bucket rule really had a bucket to check
