"""boto3 clients, created once per Lambda container and only when first used.

Importing boto3 costs most of a cold start, so no module imports it at load time except through here.
`reset()` drops the cache (tests switch regions or endpoints between cases).
"""

from __future__ import annotations

import functools


@functools.cache
def client(service: str):
    import boto3

    return boto3.client(service)


def reset() -> None:
    client.cache_clear()


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (`""` for anything else)."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")
