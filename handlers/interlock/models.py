"""Domain vocabulary of Interlock: statuses, failure categories, the run-state transition table and the typed
pipeline configuration (parsed and validated by `pipelines.parse_pipeline`).

Pure Python, no AWS: the handlers, the Pulumi program and the tests all import it.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SCHEDULE = "daily"

# Pipeline ids end up in table keys, lock keys and Step Functions execution names: keep them boring.
PIPELINE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}[a-z0-9]$")
SCHEDULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
TRAIT_TYPE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FailureCategory(str, enum.Enum):
    TRANSIENT = "TRANSIENT"
    TIMEOUT = "TIMEOUT"
    PERMANENT = "PERMANENT"
    EVALUATOR_CRASH = "EVALUATOR_CRASH"
    VALIDATION_TIMEOUT = "VALIDATION_TIMEOUT"


class TraitStatus(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    STALE = "STALE"


class RunStatus(str, enum.Enum):
    PENDING = "PENDING"
    TRIGGERING = "TRIGGERING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPLETED_MONITORING = "COMPLETED_MONITORING"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Result(str, enum.Enum):
    """Orchestrator answers (DESIGN §10.0, result semantics)."""

    PROCEED = "proceed"
    SKIP = "skip"
    ERROR = "error"


DEFAULT_RETRYABLE = (FailureCategory.TRANSIENT, FailureCategory.TIMEOUT)

TERMINAL_RUN_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})

# Synchronous triggers finish inside the trigger Lambda, hence TRIGGERING -> COMPLETED.
RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.TRIGGERING, RunStatus.CANCELLED}),
    RunStatus.TRIGGERING: frozenset(
        {RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
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

@dataclass
class TraitConfig:
    evaluator: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    ttl: int = 0
    timeout: int = 0

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        if self.evaluator:
            out["evaluator"] = self.evaluator
        if self.config:
            out["config"] = dict(self.config)
        if self.ttl:
            out["ttl"] = self.ttl
        if self.timeout:
            out["timeout"] = self.timeout
        return out


@dataclass
class TriggerConfig:
    """The job to start. Its fields belong to the trigger modules (`triggers.validate` checks them); they are kept
    exactly as written, so `to_dict()` round-trips whatever a trigger type defines."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"type": self.type, **self.fields}


@dataclass
class RetryPolicy:
    """Retry of failed runs. Fields omitted in a config take these defaults (unlike the original, which replaced
    the whole default policy and so turned an omitted maxAttempts into 0)."""

    maxAttempts: int = 3
    backoffSeconds: int = 30
    backoffMultiplier: float = 2.0
    retryableFailures: tuple[str, ...] = tuple(c.value for c in DEFAULT_RETRYABLE)

    def to_dict(self) -> dict:
        return {
            "maxAttempts": self.maxAttempts,
            "backoffSeconds": self.backoffSeconds,
            "backoffMultiplier": self.backoffMultiplier,
            "retryableFailures": list(self.retryableFailures),
        }


@dataclass
class SLAConfig:
    evaluationDeadline: str = ""
    completionDeadline: str = ""
    timezone: str = ""
    validationTimeout: str = ""

    def to_dict(self) -> dict:
        out = {"evaluationDeadline": self.evaluationDeadline, "completionDeadline": self.completionDeadline}
        if self.timezone:
            out["timezone"] = self.timezone
        if self.validationTimeout:
            out["validationTimeout"] = self.validationTimeout
        return out


@dataclass
class MonitoringConfig:
    enabled: bool = False
    duration: str = ""

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"enabled": self.enabled}
        if self.duration:
            out["duration"] = self.duration
        return out


@dataclass
class WatchConfig:
    interval: str = ""
    enabled: bool | None = None
    monitoring: MonitoringConfig | None = None

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        if self.interval:
            out["interval"] = self.interval
        if self.enabled is not None:
            out["enabled"] = self.enabled
        if self.monitoring is not None:
            out["monitoring"] = self.monitoring.to_dict()
        return out


@dataclass
class ScheduleConfig:
    name: str
    after: str = ""
    deadline: str = ""
    timezone: str = ""

    def to_dict(self) -> dict:
        out = {"name": self.name}
        for key in ("after", "deadline", "timezone"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass
class ExclusionConfig:
    calendar: str = ""
    days: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        if self.calendar:
            out["calendar"] = self.calendar
        if self.days:
            out["days"] = list(self.days)
        if self.dates:
            out["dates"] = list(self.dates)
        return out


@dataclass
class PipelineConfig:
    name: str
    archetype: str
    tier: int = 0
    traits: dict[str, TraitConfig] = field(default_factory=dict)
    trigger: TriggerConfig | None = None
    retry: RetryPolicy | None = None
    sla: SLAConfig | None = None
    watch: WatchConfig | None = None
    schedules: tuple[ScheduleConfig, ...] = ()
    exclusions: ExclusionConfig | None = None

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

    def to_dict(self) -> dict:
        """The stored JSON form, with the original's field names (omits empty optional fields)."""
        out: dict[str, Any] = {"name": self.name, "archetype": self.archetype}
        if self.tier:
            out["tier"] = self.tier
        if self.traits:
            out["traits"] = {k: v.to_dict() for k, v in self.traits.items()}
        if self.trigger is not None:
            out["trigger"] = self.trigger.to_dict()
        if self.retry is not None:
            out["retry"] = self.retry.to_dict()
        if self.sla is not None:
            out["sla"] = self.sla.to_dict()
        if self.watch is not None:
            out["watch"] = self.watch.to_dict()
        if self.schedules:
            out["schedules"] = [s.to_dict() for s in self.schedules]
        if self.exclusions is not None:
            out["exclusions"] = self.exclusions.to_dict()
        return out
