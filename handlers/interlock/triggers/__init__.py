"""Trigger types: each module starts a job (`start`) and reports its state (`status`).

Modules never raise for business outcomes except `TriggerError`, which carries a failure category; the trigger and
run-checker handlers turn it into their output. Modules are imported on first use so a cold start loads only the
type it needs.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from types import ModuleType

from ..models import FailureCategory
from ..templating import TemplateContext

# type name -> module under this package
_MODULES = {
    "http": "http",
    "airflow": "airflow",
    "glue": "glue",
    "emr": "emr",
    "emr-serverless": "emr_serverless",
    "step-function": "step_function",
    "databricks": "databricks",
    "lambda": "aws_lambda",
}
TRIGGER_TYPES = tuple(_MODULES)

TRANSIENT = FailureCategory.TRANSIENT.value
TIMEOUT = FailureCategory.TIMEOUT.value
PERMANENT = FailureCategory.PERMANENT.value


class TriggerError(Exception):
    """Starting or checking a job failed; `category` is TRANSIENT, TIMEOUT or PERMANENT."""

    def __init__(self, message: str, category: str = PERMANENT):
        super().__init__(message)
        self.category = category


@dataclass(frozen=True)
class RunContext:
    """Who is triggering: the values templates may use, and the run ID (used for idempotency where an API allows)."""

    pipeline_id: str
    schedule_id: str
    date: str
    run_id: str
    budget_seconds: float | None = None  # what is left of the Lambda invocation for the job's start call

    @property
    def template(self) -> TemplateContext:
        return TemplateContext(pipeline_id=self.pipeline_id, schedule_id=self.schedule_id, date=self.date)


@dataclass(frozen=True)
class Started:
    """A job was started: `status` is `running` (poll it) or `completed` (synchronous types)."""

    status: str
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JobState:
    """What the run-checker reports: `state` is running, succeeded or failed."""

    state: str
    message: str
    failure_category: str | None = None

    @classmethod
    def of(cls, state: str, success: str, failures: dict[str, str], detail: str | None = None) -> "JobState":
        """A job service's state as ours: `success` succeeded, a key of `failures` failed with its category (the
        message adds the service's `detail`), anything else still running."""
        if state == success:
            return cls("succeeded", state)
        if state in failures:
            return cls("failed", f"{state}: {detail}" if detail else state, failures[state])
        return cls("running", state or "unknown")


# Fields each type cannot work without; `validate` adds the either/or rules.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "http": ("url",),
    "airflow": ("url", "dagID"),
    "glue": ("jobName",),
    "emr": ("clusterId", "jobName"),
    "emr-serverless": ("applicationId", "executionRoleArn", "jobName"),
    "step-function": ("stateMachineArn",),
    "databricks": ("workspaceUrl",),
    "lambda": ("functionName",),
}


def validate(config: object) -> list[str]:
    """Problems of a trigger config as "trigger.<field>: message" (empty when valid). Pure: no AWS, no network.

    Used when a pipeline config is loaded, so a bad trigger fails at `pulumi preview`, not at run time.
    """
    if not isinstance(config, dict):
        return ["trigger: must be an object"]
    ttype = config.get("type")
    if ttype == "command":
        return ["trigger.type: 'command' is not supported (the Lambda has no shell); use http, lambda or a job service"]
    if ttype not in REQUIRED_FIELDS:
        return [f"trigger.type: must be one of {', '.join(TRIGGER_TYPES)}"]
    problems = [
        f"trigger.{name}: required for type {ttype}"
        for name in REQUIRED_FIELDS[ttype]
        if not isinstance(config.get(name), str) or not config[name].strip()
    ]
    headers = config.get("headers")
    if headers is not None and (
        not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())
    ):
        problems.append("trigger.headers: must be a map of strings (values may hold {{secret:...}} references)")
    body = config.get("body")
    if body is not None and not isinstance(body, (str, dict, list)):
        problems.append("trigger.body: must be a string or a JSON object")
    if ttype == "databricks" and config.get("jobId") in (None, "") and not isinstance(body, dict):
        problems.append("trigger.jobId: set jobId (jobs/run-now) or body with tasks (jobs/runs/submit)")
    if ttype == "emr-serverless" and not config.get("jobDriver") and not config.get("entryPoint"):
        problems.append("trigger.jobDriver: set jobDriver or entryPoint")
    try:
        string_map(config, "arguments", ttype)
        timeout_seconds(config)
    except TriggerError as exc:
        problems.append(f"trigger: {exc}")
    return problems


def module_for(trigger_type: str) -> ModuleType:
    """The module implementing `trigger_type`; TriggerError (PERMANENT) for `command` or an unknown type."""
    if trigger_type == "command":
        raise TriggerError("trigger type 'command' is not supported: the Lambda has no shell; use http, lambda or a job service")
    name = _MODULES.get(trigger_type)
    if name is None:
        raise TriggerError(f"unknown trigger type {trigger_type!r}; expected one of {', '.join(TRIGGER_TYPES)}")
    return importlib.import_module(f"{__name__}.{name}")


def require(config: dict, key: str, trigger_type: str, hint: str = "") -> str:
    """A required non-empty string field of a trigger config."""
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TriggerError(f"{trigger_type} trigger: {key} is required{hint}")
    return value.strip()


def string_map(config: dict, key: str, trigger_type: str) -> dict[str, str]:
    """An optional map of string to string (e.g. `arguments`); values may be numbers or booleans in YAML."""
    value = config.get(key) or {}
    if not isinstance(value, dict):
        raise TriggerError(f"{trigger_type} trigger: {key} must be a map of strings")
    out = {}
    for name, item in value.items():
        if isinstance(item, (dict, list)) or item is None:
            raise TriggerError(f"{trigger_type} trigger: {key}.{name} must be a string")
        out[str(name)] = str(item).lower() if isinstance(item, bool) else str(item)
    return out


def json_body(config: dict, trigger_type: str):
    """The optional `body` as JSON data (a YAML mapping or a JSON string); None when absent."""
    body = config.get("body")
    if body in (None, ""):
        return None
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError as exc:
            raise TriggerError(f"{trigger_type} trigger: body is not valid JSON: {exc}") from None
    return body


def timeout_seconds(config: dict, budget: float | None = None, default: float = 30.0) -> float:
    """The `timeout` field (seconds, > 0) or the default, capped by `budget`; a non-number is a config error."""
    value = config.get("timeout")
    if value in (None, "", 0):
        value = default
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise TriggerError(f"trigger timeout must be a positive number of seconds, got {value!r}")
    return min(float(value), budget) if budget else float(value)
