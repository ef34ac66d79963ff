"""The single Interlock table (DESIGN §4, §5); its physical schema comes from handlers/interlock/schema.py."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from handlers.interlock import schema


@dataclass
class TableArgs:
    table_name: str
    deletion_protection: bool
    point_in_time_recovery: bool
    kms_key_arn: str = ""


class InterlockTable(pulumi.ComponentResource):
    """PK/SK on demand, GSI1 (ALL), stream with new and old images, TTL on expiresAt, PITR, SSE."""

    def __init__(self, name: str, args: TableArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:Table", name, None, opts)
        key_names = (schema.PARTITION_KEY, schema.SORT_KEY, schema.GSI1_PARTITION_KEY, schema.GSI1_SORT_KEY)
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=schema.PARTITION_KEY,
            range_key=schema.SORT_KEY,
            attributes=[aws.dynamodb.TableAttributeArgs(name=key, type="S") for key in key_names],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=schema.GSI1_NAME,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=schema.GSI1_PARTITION_KEY, key_type="HASH"
                        ),
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=schema.GSI1_SORT_KEY, key_type="RANGE"
                        ),
                    ],
                    projection_type="ALL",
                )
            ],
            stream_enabled=True,
            stream_view_type=schema.STREAM_VIEW_TYPE,
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=schema.TTL_ATTRIBUTE, enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=args.point_in_time_recovery),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=args.kms_key_arn or None
            ),
            deletion_protection_enabled=args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.table.name
        self.arn = self.table.arn
        self.stream_arn = self.table.stream_arn
        self.register_outputs({"name": self.name, "arn": self.arn, "streamArn": self.stream_arn})
