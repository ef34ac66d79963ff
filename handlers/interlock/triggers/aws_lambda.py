"""`lambda`: invoke a function.

Config: `functionName` (name or ARN), `body` (a JSON object, or a string holding one) or else `arguments` (map) as the
payload, templated; `invocationType`: `RequestResponse` (default: waits, the run is completed when the function
returns and failed when it raises) or `Event` (fire and forget: completed once Lambda accepted it).
"""

from __future__ import annotations

import json

from .. import clients, secrets
from ..models import FailureCategory
from ..redaction import ERROR_TEXT_LIMIT, safe_excerpt
from ..templating import render_value
from . import JobState, RunContext, Started, TriggerError, TriggerSpec, choice, json_body, string_map
from .awscall import ApiCall, aws_errors

_INVOCATION_TYPES = ("RequestResponse", "Event")  # the first is the default
_MAX_ERROR_BYTES = 4096

SPEC = TriggerSpec(required=("functionName",), optional=("body", "arguments", "invocationType"), permission="lambda")


def _payload(config: dict, run: RunContext) -> bytes:
    body = json_body(config, "lambda")
    data = body if body is not None else string_map(config, "arguments", "lambda")
    return json.dumps(render_value(data, run.template)).encode()


def request(config: dict, run: RunContext) -> ApiCall:
    parameters = {
        "FunctionName": config["functionName"],
        "InvocationType": choice(config, "invocationType", "lambda", _INVOCATION_TYPES),
        "Payload": _payload(config, run),
    }
    return ApiCall("lambda trigger", "lambda", "invoke", parameters)


def start(config: dict, run: RunContext) -> Started:
    function_name = config["functionName"]
    with aws_errors("lambda trigger: Invoke failed"):
        response = clients.client("lambda").invoke(**request(config, run).parameters)
        # Read at most a bounded amount: only an error's text is ever used.
        result = response["Payload"].read(_MAX_ERROR_BYTES) if "Payload" in response else b""
    metadata = {"lambda_function_name": function_name, "lambda_status_code": response.get("StatusCode")}
    if response.get("FunctionError"):
        text = safe_excerpt(_error_text(result), secrets.known_values(), ERROR_TEXT_LIMIT)
        category = FailureCategory.TIMEOUT if "Task timed out" in text else FailureCategory.TRANSIENT
        raise TriggerError(f"lambda trigger: {function_name} failed: {text}", category)
    return Started("completed", metadata)


def _error_text(payload: bytes) -> str:
    """`ErrorType: message` from Lambda's error document, or the raw (bounded) payload."""
    raw = payload.decode("utf-8", "replace")
    try:
        document = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(document, dict) and "errorMessage" in document:
        return f"{document.get('errorType') or 'Error'}: {document['errorMessage']}"
    return raw


def status(metadata: dict, config: dict) -> JobState:
    return JobState("succeeded", "synchronous trigger: completed when it was triggered")
