"""boto3 clients, created once per Lambda container and only when first used.

Importing boto3 costs most of a cold start, so no module imports it at load time except through here.
`reset()` drops the cache (tests switch regions or endpoints between cases).
"""

from __future__ import annotations

import functools

# A synchronous Lambda invoke answers when the function ends (up to 15 minutes). botocore's default 60 s read
# timeout would give up first and retry: the function would run twice (a lambda trigger's job started twice).
READ_TIMEOUTS = {"lambda": 905}


@functools.cache
def client(service: str):
    import boto3

    if service not in READ_TIMEOUTS:
        return boto3.client(service)
    from botocore.config import Config

    return boto3.client(service, config=Config(read_timeout=READ_TIMEOUTS[service]))


def reset() -> None:
    client.cache_clear()


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (`""` for anything else)."""
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")
