"""The HTTP call shared by the http, airflow and databricks types: secrets resolved, SSRF-guarded, classified."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .. import netguard, redaction, secrets
from ..models import FailureCategory
from . import STATE_TEXT_LIMIT, TriggerError, timeout_seconds


class StatusError(TriggerError):
    """The endpoint answered with an error status (kept in `status`)."""

    def __init__(self, message: str, status: int):
        super().__init__(message, netguard.status_category(status))
        self.status = status


def call(
    prefix: str,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | dict | list | None = None,
    timeout: float = 30.0,
) -> netguard.Response:
    """Send the request and return a 2xx response; anything else raises TriggerError prefixed by `prefix`.

    A dict/list body is sent as JSON. Header values may hold secret references. Error text never contains a
    resolved secret.
    """
    resolved = resolve_headers(prefix, headers)
    configured = {name.lower() for name in resolved}
    send_headers = {
        k: v
        for k, v in (("Content-Type", "application/json"), ("Accept", "application/json"))
        if k.lower() not in configured
    }
    send_headers.update(resolved)
    if isinstance(body, (dict, list)):
        payload = json.dumps(body).encode()
    elif isinstance(body, str):
        payload = body.encode()
    else:
        payload = body
    try:
        response = netguard.request(
            method, url, headers=send_headers, body=payload, timeout=timeout, secrets=secrets.known_values()
        )
    except netguard.OutboundError as exc:
        raise TriggerError(f"{prefix}: {secrets.redact(str(exc))}", exc.category) from None
    if response.status >= 400:
        raise StatusError(f"{prefix}: returned status {response.status}: {_body_text(response)}", response.status)
    return response


def resolve_headers(prefix: str, headers: Mapping[str, str] | None) -> dict[str, str]:
    """Header values with their secret references resolved; a bad reference raises TriggerError."""
    if headers is not None and not isinstance(headers, Mapping):
        raise TriggerError(f"{prefix}: headers must be a map of strings")
    try:
        return secrets.resolve_headers(headers)
    except secrets.SecretError as exc:
        raise TriggerError(
            f"{prefix}: {exc}", FailureCategory.TRANSIENT if exc.transient else FailureCategory.PERMANENT
        ) from None


@dataclass(frozen=True)
class WebRequest:
    """The HTTP request a start sends: headers as configured (their secret references are resolved only when sent),
    body resolved (templates expanded)."""

    prefix: str  # how errors of this request begin ("airflow trigger")
    method: str
    url: str
    headers: Mapping[str, str] | None = None
    body: bytes | str | dict | list | None = None
    timeout: float = 30.0

    def prepare(self) -> None:
        """Resolve the secret references as the send would, so a broken one shows without sending anything."""
        resolve_headers(self.prefix, self.headers)

    def describe(self) -> dict:
        """The request as data: `target` is `<METHOD> <url>`; headers keep their references, never the values."""
        return {"target": f"{self.method} {self.url}", "headers": dict(self.headers or {}), "body": self.body}

    def send(self) -> netguard.Response:
        return call(self.prefix, self.method, self.url, headers=self.headers, body=self.body, timeout=self.timeout)

    def send_json(self) -> dict:
        """Send it; the answer as a JSON object."""
        return json_object(self.prefix, self.send())


def answer_text(value: object, known: Collection[str] = (), limit: int = STATE_TEXT_LIMIT) -> str:
    """A value from the answer of a call that may have sent a secret, fit for a message: the value itself when it is
    one of the `known` names (a job state the API documents), else a short excerpt with every echo of a secret
    masked."""
    if isinstance(value, str) and value in known:
        return value
    return redaction.safe_excerpt(str(value), secrets.known_values(), limit)


def _body_text(response: netguard.Response, limit: int = redaction.ERROR_TEXT_LIMIT) -> str:
    """Response text for an error message: a short, normalized excerpt with every echo of a secret masked."""
    return response.snippet(limit, secrets.known_values())


def json_object(prefix: str, response: netguard.Response) -> dict:
    """The response body as a JSON object, or TriggerError (PERMANENT)."""
    try:
        document = response.json()
    except (ValueError, UnicodeDecodeError):
        raise TriggerError(f"{prefix}: response is not JSON: {_body_text(response, 120)}") from None
    if not isinstance(document, dict):
        raise TriggerError(f"{prefix}: response is not a JSON object")
    return document


def api_request(
    prefix: str, method: str, url: str, config: dict, *, body: dict | None = None, budget: float | None = None
) -> WebRequest:
    """A request to a job service's JSON API with the trigger's headers and `timeout` (capped by `budget`)."""
    return WebRequest(
        prefix, method, url, headers=config.get("headers"), body=body, timeout=timeout_seconds(config, budget)
    )


def json_call(
    prefix: str, method: str, url: str, config: dict, *, body: dict | None = None, budget: float | None = None
) -> dict:
    """`api_request` sent; the answer as a JSON object."""
    return api_request(prefix, method, url, config, body=body, budget=budget).send_json()
