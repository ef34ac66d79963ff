"""Domain vocabulary of Interlock: statuses, failure categories, the run-state transition table and the typed
pipeline configuration (parsed and validated by `pipelines.parse_pipeline`).

Pure Python, no AWS: the handlers, the Pulumi program and the tests all import it.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_SCHEDULE = "daily"
DEFAULT_TRAIT_TIMEOUT_SECONDS = 30.0  # an evaluator's time for a trait whose item names none

# Pipeline ids end up in table keys, lock keys and Step Functions execution names: keep them boring. Match them
# with `fullmatch` (or `matches`): `$` would admit a trailing newline.
PIPELINE_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}[a-z0-9]")
SCHEDULE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
TRAIT_TYPE_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TRAIT_TIMEOUT_SECONDS = 900  # an evaluator call runs inside one Lambda invocation


class NamedEnum(enum.StrEnum):
    """A StrEnum whose values are the member names (statuses and categories travel upper case)."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list) -> str:
        return name


FailureCategory = NamedEnum("FailureCategory", "TRANSIENT TIMEOUT PERMANENT EVALUATOR_CRASH VALIDATION_TIMEOUT")
TraitStatus = NamedEnum("TraitStatus", "PASS FAIL STALE")
RunStatus = NamedEnum("RunStatus", "PENDING TRIGGERING RUNNING COMPLETED COMPLETED_MONITORING FAILED CANCELLED")
Result = enum.StrEnum("Result", "PROCEED SKIP ERROR")  # orchestrator answers, lower case (DESIGN §10.0)

DEFAULT_RETRYABLE: tuple[str, ...] = (FailureCategory.TRANSIENT, FailureCategory.TIMEOUT)

TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})

# Synchronous triggers finish inside the trigger Lambda, hence TRIGGERING -> COMPLETED.
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.TRIGGERING, RunStatus.CANCELLED}),
    RunStatus.TRIGGERING: frozenset({RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset(
        {RunStatus.COMPLETED, RunStatus.COMPLETED_MONITORING, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.COMPLETED_MONITORING: frozenset({RunStatus.COMPLETED, RunStatus.FAILED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}


class ConfigError(ValueError):
    """A configuration is invalid. `problems` lists every problem as "field.path: message"."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = list(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "invalid configuration: " + "; ".join(self.problems))


def matches(pattern: re.Pattern, value: object) -> bool:
    """`value` is a string that `pattern` matches completely."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def did_you_mean(name: object, options: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the option closest to `name` (case-insensitive), or "" when none is close."""
    by_lower = {option.lower(): option for option in options}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


class InvalidTransition(Exception):
    """A run-state change that the transition table forbids."""

    def __init__(self, from_status: str, to_status: str):
        self.from_status = from_status
        self.to_status = to_status
        super().__init__(f"invalid transition from {from_status} to {to_status}")


def is_terminal(status: str) -> bool:
    """True for COMPLETED, FAILED and CANCELLED (COMPLETED_MONITORING is not terminal)."""
    try:
        return RunStatus(status) in TERMINAL_RUN_STATUSES
    except ValueError:
        return False


def can_transition(from_status: str, to_status: str) -> bool:
    """Whether the run-state table allows `from_status` -> `to_status`; unknown statuses allow nothing."""
    try:
        return RunStatus(to_status) in RUN_TRANSITIONS[RunStatus(from_status)]
    except (ValueError, KeyError):
        return False


def check_transition(from_status: str, to_status: str) -> None:
    """Raise InvalidTransition unless the table allows the change."""
    if not can_transition(from_status, to_status):
        raise InvalidTransition(from_status, to_status)


# --- pipeline configuration ------------------------------------------------------------------------------------


def wire_name(field_name: str) -> str:
    """The wire (JSON/YAML) spelling of a Python field name: `max_attempts` -> `maxAttempts`."""
    head, *rest = field_name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def wire_fields(record: type) -> set[str]:
    """The wire names of a config dataclass's fields: the keys its section of a pipeline file may have."""
    return {wire_name(f.name) for f in fields(record)}


def _is_empty(value: Any) -> bool:
    return value is None or (not isinstance(value, bool) and not value)


def _wire_value(value: Any) -> Any:
    if isinstance(value, WireRecord):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_wire_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire_value(v) for k, v in value.items()}
    return value


class WireRecord:
    """Base of the config dataclasses. `to_dict()` is the stored JSON form: every field under its wire name, empty
    ones (None, "", 0, empty collections; never False) left out unless named in `ALWAYS`."""

    ALWAYS: frozenset[str] = frozenset()

    def to_dict(self) -> dict:
        return {
            wire_name(f.name): _wire_value(getattr(self, f.name))
            for f in fields(self)
            if f.name in self.ALWAYS or not _is_empty(getattr(self, f.name))
        }


@dataclass
class TraitConfig(WireRecord):
    evaluator: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    ttl: int = 0
    timeout: int = 0


@dataclass
class TriggerConfig(WireRecord):
    """The job to start. Its fields belong to the trigger modules (`triggers.validate` checks them); they are kept
    exactly as written, so `to_dict()` round-trips whatever a trigger type defines."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"type": self.type, **self.fields}


@dataclass
class RetryPolicy(WireRecord):
    """Retry of failed runs. Each field omitted in a config takes its default here."""

    ALWAYS = frozenset({"max_attempts", "backoff_seconds", "backoff_multiplier", "retryable_failures", "max_reruns"})

    max_attempts: int = 3
    backoff_seconds: int = 30
    backoff_multiplier: float = 2.0
    retryable_failures: tuple[str, ...] = DEFAULT_RETRYABLE
    max_reruns: int = 3  # replays and drift reruns of one date


@dataclass
class SLAConfig(WireRecord):
    ALWAYS = frozenset({"evaluation_deadline", "completion_deadline"})

    evaluation_deadline: str = ""
    completion_deadline: str = ""
    timezone: str = ""
    validation_timeout: str = ""
    warn_before: str = ""  # the watchdog's SLA_WARNING this long before the completion deadline
    max_duration: str = ""  # MAX_DURATION_EXCEEDED when a run takes longer than this from its trigger


@dataclass
class MonitoringConfig(WireRecord):
    ALWAYS = frozenset({"enabled"})

    enabled: bool = False
    duration: str = ""


@dataclass
class WatchConfig(WireRecord):
    interval: str = ""
    enabled: bool | None = None
    monitoring: MonitoringConfig | None = None


@dataclass
class ScheduleConfig(WireRecord):
    ALWAYS = frozenset({"name"})

    name: str
    after: str = ""
    deadline: str = ""
    timezone: str = ""


@dataclass
class DateSet(WireRecord):
    """Run dates named by a calendar (a built-in rule or a calendar file), weekdays and dates: a pipeline's
    `inclusions` and `exclusions`."""

    calendar: str = ""
    days: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()


@dataclass
class PipelineConfig(WireRecord):
    """A pipeline; `to_dict()` is the stored form, in the field names pipeline files use."""

    ALWAYS = frozenset({"name", "archetype"})

    name: str
    archetype: str
    tier: int = 0
    traits: dict[str, TraitConfig] = field(default_factory=dict)
    trigger: TriggerConfig | None = None
    retry: RetryPolicy | None = None
    sla: SLAConfig | None = None
    watch: WatchConfig | None = None
    schedules: tuple[ScheduleConfig, ...] = ()
    inclusions: DateSet | None = None  # when set, only the dates it names run
    exclusions: DateSet | None = None
    dry_run: bool | None = None  # True: record what the trigger would send instead of starting the job

    @property
    def retry_policy(self) -> RetryPolicy:
        return self.retry or RetryPolicy()

    @property
    def monitoring_enabled(self) -> bool:
        return bool(self.watch and self.watch.monitoring and self.watch.monitoring.enabled)

    def resolved_schedules(self) -> tuple[ScheduleConfig, ...]:
        """The configured schedules, or the implicit `daily` one."""
        return self.schedules or (ScheduleConfig(name=DEFAULT_SCHEDULE),)

    def schedule(self, schedule_id: str) -> ScheduleConfig | None:
        return next((s for s in self.resolved_schedules() if s.name == schedule_id), None)

    def upstream_pipelines(self) -> set[str]:
        """Pipelines named by any trait's `config.upstreamPipeline` (what notifyDownstream follows)."""
        return {
            str(t.config["upstreamPipeline"])
            for t in self.traits.values()
            if isinstance(t.config.get("upstreamPipeline"), str) and t.config["upstreamPipeline"]
        }
