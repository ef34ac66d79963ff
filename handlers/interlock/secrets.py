"""Secrets Manager references in outbound header values.

Syntax, anywhere inside a header value:
    {{secret:<name-or-arn>}}              the whole SecretString
    {{secret:<name-or-arn>#<jsonKey>}}    one top-level key of a JSON SecretString
e.g. `Authorization: "Bearer {{secret:prod/airflow/api#token}}"`. Only the reference travels through the table and the
Step Functions history; the value is fetched inside the Lambda, cached for a few minutes per container, and is
never returned, logged or stored. `known_values()` lists the values this container has resolved, for
`redaction.safe_excerpt` / `netguard.request(secrets=...)`; `redact()` masks every echo form of them in a text.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping

from . import clients, redaction

CACHE_SECONDS = 300.0
_REFERENCE = re.compile(r"\{\{secret:([A-Za-z0-9/_+=.@:\-]+)(?:#([^{}#]+))?\}\}")
_TRANSIENT_CODES = {"ThrottlingException", "InternalServiceError", "RequestTimeout", "ServiceUnavailable"}

_cache: dict[str, tuple[float, str]] = {}


class SecretError(Exception):
    """A reference could not be resolved; `transient` says whether trying again later may help."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


def has_reference(value: str) -> bool:
    return "{{secret:" in value


def _secret_string(secret_id: str) -> str:
    now = time.monotonic()
    cached = _cache.get(secret_id)
    if cached and cached[0] > now:
        return cached[1]
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = clients.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        raise SecretError(
            f"secret {secret_id!r} could not be read ({code})", transient=code in _TRANSIENT_CODES
        ) from None
    except BotoCoreError as exc:
        raise SecretError(f"secret {secret_id!r} could not be read ({type(exc).__name__})", transient=True) from None
    value = response.get("SecretString")
    if value is None:
        raise SecretError(f"secret {secret_id!r} has no SecretString (binary secrets are not supported)")
    _cache[secret_id] = (now + CACHE_SECONDS, value)
    return value


def _resolve_match(match: re.Match) -> str:
    secret_id, json_key = match.group(1), match.group(2)
    value = _secret_string(secret_id)
    if json_key is None:
        return value
    try:
        document = json.loads(value)
    except ValueError:
        raise SecretError(f"secret {secret_id!r} is not JSON, so key {json_key!r} cannot be read") from None
    if not isinstance(document, dict) or json_key not in document:
        raise SecretError(f"secret {secret_id!r} has no key {json_key!r}")
    item = document[json_key]
    return item if isinstance(item, str) else json.dumps(item)


def resolve(value: str) -> str:
    """`value` with every secret reference replaced by the secret; raises SecretError on a bad reference."""
    if not has_reference(value):
        return value
    if has_reference(_REFERENCE.sub("", value)):
        raise SecretError("malformed secret reference: use {{secret:<name-or-arn>}} or {{secret:<name-or-arn>#<key>}}")
    return _REFERENCE.sub(_resolve_match, value)


def resolve_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Header values with their secret references resolved (names are never secret)."""
    return {str(name): resolve(str(value)) for name, value in (headers or {}).items()}


def known_values() -> list[str]:
    """Every secret value this container has resolved: whole SecretStrings and, for a JSON secret, each of its top-level
    string values (a reflected token can come back alone)."""
    values = []
    for _, value in _cache.values():
        values.append(value)
        try:
            document = json.loads(value)
        except ValueError:
            continue
        if isinstance(document, dict):
            values.extend(item for item in document.values() if isinstance(item, str))
    return values


def redact(text: str) -> str:
    """`text` with every echo form (raw, JSON-escaped, URL-encoded, base64, ...) of every resolved value replaced by
    `***`; nothing else changes. For text from a server answer use `redaction.safe_excerpt(text, known_values())`."""
    return redaction.mask_secrets(text, known_values())


def clear_cache() -> None:
    _cache.clear()
