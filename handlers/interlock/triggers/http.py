"""`http`: one synchronous request; a 2xx answer means the job is done.

Config: `url` (required), `method` (POST), `headers` (values may hold secret references), `body` (string or JSON
object; templated), `timeout` (seconds, 30).
"""

from __future__ import annotations

from ..templating import render_value
from . import JobState, RunContext, Started, TriggerError, TriggerSpec, timeout_seconds
from .webcall import WebRequest

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}

SPEC = TriggerSpec(required=("url",), optional=("method", "headers", "body"))


def request(config: dict, run: RunContext) -> WebRequest:
    method = str(config.get("method") or "POST").upper()
    if method not in _METHODS:
        raise TriggerError(f"http trigger: method {method!r} is not one of {', '.join(sorted(_METHODS))}")
    body = config.get("body")
    if body is not None and not isinstance(body, (str, dict, list)):
        raise TriggerError("http trigger: body must be a string or a JSON object")
    return WebRequest(
        "http trigger",
        method,
        config["url"],
        headers=config.get("headers"),
        body=render_value(body, run.template) if body not in (None, "") else None,
        timeout=timeout_seconds(config, run.budget_seconds),
    )


def start(config: dict, run: RunContext) -> Started:
    return Started("completed", {"http_status": request(config, run).send().status})


def status(metadata: dict, config: dict) -> JobState:
    return JobState("succeeded", "synchronous trigger: completed when it was triggered")
