"""Trigger types: each module starts a job (`start`) and reports its state (`status`), and declares its facts once
in `SPEC` (fields, idempotent start, headers for status calls, IAM permission key); validation, the trigger and
run-checker flows and the stack's trigger permissions read them from there.

Each module also builds the request its start sends (`request`), which a dry run records instead of sending.
Modules never raise for business outcomes except `TriggerError`, which carries a failure category; the trigger and
run-checker handlers turn it into their output. Its message never holds a secret value this container resolved, in any
spelling (`secrets.redact`): the last line of defence before the run state, events, alerts and the history. Modules
are imported on first use so a cold start loads only the type it needs.
"""

from __future__ import annotations

import difflib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Protocol

from .. import secrets
from ..models import FailureCategory
from ..redaction import clean_text
from ..templating import TemplateContext

# type name -> module under this package: the one list of trigger types
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


# Every type accepts these. `timeout` (seconds, > 0) bounds an HTTP call; the AWS types accept it too because the
# original system's trigger format allowed it on every type (it changes nothing for them).
COMMON_FIELDS = ("type", "timeout")


@dataclass(frozen=True)
class JobEvents:
    """The state-change events a job service puts on EventBridge, as a type reads them: `identity` pairs each key of
    the job's metadata with the event `detail` field holding the same value (together they name one job run),
    `state` is the detail field with the service's state (mapped by the type's `job_state`, the table its status
    call uses) and `details` the fields whose text explains a failure, first present wins."""

    source: str
    detail_type: str
    identity: tuple[tuple[str, str], ...]
    state: str = "state"
    details: tuple[str, ...] = ("message",)


@dataclass(frozen=True)
class TriggerSpec:
    """What a trigger type is, declared once in its module.

    `required`: non-empty string fields it cannot start without; `optional`: every other field it reads (with
    `required` and `COMMON_FIELDS`, the complete set it accepts); `idempotent`: a retried start returns the job the
    first one started (so a run left TRIGGERING may be started again); `status_needs_headers`: its status call sends the
    trigger's (secret) headers, read from the stored pipeline; `permission`: its key in the stack's
    `triggerPermissions` (None when it needs no IAM grant); `refused`: fields that are not accepted, with the hint
    to give instead; `check`: its either/or rules, as problems "trigger.<field>: message"; `events`: the service's
    state-change events when it emits them, so a run completes by event instead of by polling (DESIGN §10.3).
    """

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    idempotent: bool = False
    status_needs_headers: bool = False
    permission: str | None = None
    refused: dict[str, str] = field(default_factory=dict)
    check: Callable[[dict], list[str]] | None = None
    events: JobEvents | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return (*COMMON_FIELDS, *self.required, *self.optional)

    @property
    def completion(self) -> str:
        """How the state machine learns that a started job ended: `event` (it waits on a task token) or `poll`."""
        return "event" if self.events else "poll"


class TriggerError(Exception):
    """Starting or checking a job failed; `category` is TRANSIENT, TIMEOUT or PERMANENT."""

    def __init__(self, message: str, category: str = FailureCategory.PERMANENT):
        super().__init__(secrets.redact(message))
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


STATE_TEXT_LIMIT = 60
DETAIL_TEXT_LIMIT = 300


@dataclass(frozen=True)
class JobState:
    """What the run-checker reports: `state` is running, succeeded or failed."""

    state: str
    message: str
    failure_category: str | None = None

    @classmethod
    def of(cls, state: str, success: str, failures: dict[str, str], detail: str | None = None) -> JobState:
        """A job service's state as ours: `success` succeeded, a key of `failures` failed with its category (the
        message adds the service's `detail`, cut short), anything else still running."""
        if state == success:
            return cls("succeeded", state)
        if state in failures:
            detail = clean_text(detail, DETAIL_TEXT_LIMIT) if detail else ""
            return cls("failed", f"{state}: {detail}" if detail else state, failures[state])
        return cls("running", clean_text(state, STATE_TEXT_LIMIT) or "unknown")


def validate(config: object) -> list[str]:
    """Problems of a trigger config as "trigger.<field>: message" (empty when valid). Pure: no AWS, no network.

    Used when a pipeline config is loaded, so a bad trigger fails at `pulumi preview`, not at run time.
    """
    if not isinstance(config, dict):
        return ["trigger: must be an object"]
    ttype = config.get("type")
    if ttype == "command":
        return ["trigger.type: 'command' is not supported (the Lambda has no shell); use http, lambda or a job service"]
    if ttype not in _MODULES:
        return [f"trigger.type: must be one of {', '.join(TRIGGER_TYPES)}"]
    spec = spec_of(ttype)
    problems = [_unknown(name, ttype, spec) for name in config if name not in spec.fields]
    problems += [
        f"trigger.{name}: required for type {ttype}"
        for name in spec.required
        if not isinstance(config.get(name), str) or not config[name].strip()
    ]
    headers = config.get("headers")
    if headers is not None and (not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values())):
        problems.append("trigger.headers: must be a map of strings (values may hold {{secret:...}} references)")
    body = config.get("body")
    if body is not None and not isinstance(body, (str, dict, list)):
        problems.append("trigger.body: must be a string or a JSON object")
    if spec.check:
        problems += spec.check(config)
    try:
        string_map(config, "arguments", ttype)
        timeout_seconds(config)
    except TriggerError as exc:
        problems.append(f"trigger: {exc}")
    return problems


def _unknown(name: str, trigger_type: str, spec: TriggerSpec) -> str:
    if name in spec.refused:
        return f"trigger.{name}: not a field of type {trigger_type}; {spec.refused[name]}"
    by_lower = {known.lower(): known for known in spec.fields}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1)
    hint = f"; did you mean '{by_lower[close[0]]}'?" if close else ""
    return f"trigger.{name}: unknown field for type {trigger_type} (accepted: {', '.join(spec.fields)}){hint}"


def module_for(trigger_type: str) -> ModuleType:
    """The module implementing `trigger_type`; TriggerError (PERMANENT) for `command` or an unknown type."""
    if trigger_type == "command":
        raise TriggerError(
            "trigger type 'command' is not supported: the Lambda has no shell; use http, lambda or a job service"
        )
    name = _MODULES.get(trigger_type)
    if name is None:
        raise TriggerError(f"unknown trigger type {trigger_type!r}; expected one of {', '.join(TRIGGER_TYPES)}")
    return importlib.import_module(f"{__name__}.{name}")


def spec_of(trigger_type: str) -> TriggerSpec:
    return module_for(trigger_type).SPEC


def completion_of(trigger_type: str) -> str:
    """`event` or `poll` for a type (`poll` for an unknown one: the run-checker then reports the problem)."""
    return spec_of(trigger_type).completion if trigger_type in _MODULES else "poll"


def event_types() -> dict[tuple[str, str], str]:
    """(source, detail-type) of each job service's state-change event -> the trigger type it concerns."""
    specs = {name: spec_of(name) for name in TRIGGER_TYPES}
    return {(s.events.source, s.events.detail_type): name for name, s in specs.items() if s.events}


def permission_keys() -> tuple[str, ...]:
    """The stack's `triggerPermissions` keys: one per trigger type that needs an IAM grant, in registry order."""
    return tuple(spec.permission for spec in map(spec_of, TRIGGER_TYPES) if spec.permission)


class JobRequest(Protocol):
    """What a start sends (`awscall.ApiCall`, `webcall.WebRequest`), resolved from the config and the run: each type's
    `request(config, run)` builds it and its `start` sends it, so a dry run shows exactly what a start would send."""

    def prepare(self) -> None:
        """Resolve what is resolved only when sending (secret references); TriggerError when that fails."""

    def describe(self) -> dict:
        """`{target, ...}` as JSON data, never holding a resolved secret."""


def _checked(config: dict) -> tuple[ModuleType, dict]:
    """The type's module and `config` with its required fields checked (and stripped), so modules index them."""
    trigger_type = str(config.get("type") or "")
    module = module_for(trigger_type)
    return module, {**config, **{name: require(config, name, trigger_type) for name in module.SPEC.required}}


def start(config: dict, run: RunContext) -> Started:
    """Start the job `config` describes."""
    module, checked = _checked(config)
    return module.start(checked, run)


def request(config: dict, run: RunContext) -> JobRequest:
    """The request a start of `config` for `run` would send; TriggerError when it cannot be built."""
    module, checked = _checked(config)
    return module.request(checked, run)


def job_metadata(metadata: dict, trigger_type: str, *keys: str) -> list:
    """The values of `keys` in a started job's metadata; TriggerError (PERMANENT) naming them when one is missing."""
    values = [metadata.get(key) for key in keys]
    if not all(values):
        raise TriggerError(f"missing {trigger_type} metadata ({', '.join(keys)})")
    return values


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


def choice(config: dict, key: str, trigger_type: str, choices: tuple[str, ...]) -> str:
    """An optional field that names one of `choices`; the first when it is absent."""
    value = str(config.get(key) or choices[0])
    if value not in choices:
        raise TriggerError(f"{trigger_type} trigger: {key} must be one of {', '.join(choices)}")
    return value


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
