"""Physical schema of the single Interlock table.

Shared by the Pulumi components (which create the table) and the store (which reads and writes it), and by the
tests that build the table in moto, so the three can never disagree. Pure constants: no boto3 import.
"""

PARTITION_KEY = "PK"
SORT_KEY = "SK"
GSI1_NAME = "GSI1"
GSI1_PARTITION_KEY = "GSI1PK"
GSI1_SORT_KEY = "GSI1SK"
TTL_ATTRIBUTE = "expiresAt"
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
MARKER_PREFIX = "MARKER#"


def create_table_kwargs(table_name: str) -> dict:
    """Arguments for `dynamodb.create_table` that mirror the deployed table (tests and the emulator use it)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (PARTITION_KEY, SORT_KEY, GSI1_PARTITION_KEY, GSI1_SORT_KEY)
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI1_NAME,
                "KeySchema": [
                    {"AttributeName": GSI1_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": GSI1_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
    }
