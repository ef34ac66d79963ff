"""The state backend: a private, versioned, KMS-encrypted, TLS-only S3 bucket for `pulumi login s3://...` and a
KMS key whose alias is the stack secrets provider (`--secrets-provider awskms://alias/...`).

Pulumi's S3 backend locks stacks with objects in the bucket itself, so there is no lock table. The bucket and the key
are protected and retained on delete: losing either loses every stack's state or secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam
from components.data_bucket import block_public_access
from components.pulumi_project import read_project

PROJECT_DIR = os.path.dirname(os.path.abspath(__file__))
NAME_PREFIX_MAX = 40


@dataclass(frozen=True)
class BackendSettings:
    """The backend stack's typed configuration (namespace `interlock-backend:`)."""

    name_prefix: str
    bucket_name: str
    noncurrent_version_expiration_days: int
    key_deletion_window_days: int


def load_backend_settings(config: pulumi.Config | Mapping[str, Any]) -> BackendSettings:
    """Parse the backend config (a pulumi.Config or a plain mapping); defaults come from backend/Pulumi.yaml.

    Raises ValueError naming every invalid key and what is allowed.
    """
    declared = read_project(PROJECT_DIR).config
    raw = {
        key: (config.get(key) if config.get(key) not in (None, "") else spec["default"])
        for key, spec in declared.items()
    }
    problems = []
    prefix = str(raw["namePrefix"])
    if not (
        prefix
        and len(prefix) <= NAME_PREFIX_MAX
        and prefix[0].isalpha()
        and all(c.islower() or c.isdigit() or c == "-" for c in prefix)
    ):
        problems.append(
            f"interlock-backend:namePrefix: {prefix!r} is not allowed; expected 1-{NAME_PREFIX_MAX} "
            "lowercase letters, digits or hyphens, starting with a letter"
        )
    numbers = {}
    for key, low, high in (("noncurrentVersionExpirationDays", 1, 3650), ("keyDeletionWindowDays", 7, 30)):
        try:
            numbers[key] = int(raw[key])
        except (TypeError, ValueError):
            numbers[key] = None
        if numbers[key] is None or not low <= numbers[key] <= high:
            problems.append(
                f"interlock-backend:{key}: {raw[key]!r} is not allowed; expected an integer from {low} to {high}"
            )
    if problems:
        raise ValueError("invalid backend configuration:\n  - " + "\n  - ".join(problems))
    return BackendSettings(
        prefix, str(raw["bucketName"]), numbers["noncurrentVersionExpirationDays"], numbers["keyDeletionWindowDays"]
    )


@dataclass
class StateBackendArgs:
    """Inputs of the state backend."""

    key_alias: pulumi.Input[str]
    noncurrent_version_expiration_days: pulumi.Input[int]
    key_deletion_window_days: pulumi.Input[int] = 30
    bucket_name: pulumi.Input[str] | None = None

    @staticmethod
    def from_settings(settings: BackendSettings) -> StateBackendArgs:
        """The component's inputs for a parsed backend configuration."""
        return StateBackendArgs(
            key_alias=f"alias/{settings.name_prefix}-pulumi-secrets",
            noncurrent_version_expiration_days=settings.noncurrent_version_expiration_days,
            key_deletion_window_days=settings.key_deletion_window_days,
            bucket_name=settings.bucket_name or None,
        )


class StateBackend(pulumi.ComponentResource):
    """S3 state bucket + KMS secrets key; outputs `backend_url` and `secrets_provider` ready for the CLI."""

    backend_url: pulumi.Output[str]
    secrets_provider: pulumi.Output[str]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:StateBackend", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)

        self.key = aws.kms.Key(
            f"{name}-key",
            description="Interlock: encrypts Pulumi state and stack secrets",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            opts=kept,
        )
        self.alias = aws.kms.Alias(f"{name}-key-alias", name=args.key_alias, target_key_id=self.key.key_id, opts=child)

        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket=args.bucket_name, force_destroy=False, opts=kept)
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=self.bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child
        )
        self.public_access_block = block_public_access(f"{name}-public-access-block", self.bucket, child)
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=self.bucket.id, versioning_configuration={"status": "Enabled"}, opts=child
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-noncurrent-state-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_expiration_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                }
            ],
            # expiring noncurrent versions only means something once versioning is on
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=iam.tls_only_bucket_policy(self.bucket.arn),
            # S3 rejects a bucket policy while the public access block is still being applied
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )

        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.backend_url = pulumi.Output.format("s3://{0}?region={1}", self.bucket.bucket, region)
        self.secrets_provider = pulumi.Output.format("awskms://{0}?region={1}", self.alias.name, region)

        self.register_outputs(
            {
                "backend_url": self.backend_url,
                "secrets_provider": self.secrets_provider,
                "bucket_name": self.bucket.bucket,
                "key_arn": self.key.arn,
            }
        )
