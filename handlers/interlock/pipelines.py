"""Pipeline configs: parse and validate (every problem at once, with its field path), load YAML/JSON files and
check archetype and trait names against an archetype directory.

The Pulumi program calls `load_pipeline_dir` at preview time, so a bad config fails before anything deploys; the
orchestrator calls `parse_pipeline` on the JSON stored in the table.
"""
from __future__ import annotations

import json
import os
from dataclasses import fields
from typing import Any

from . import schedule
from .durations import parse_duration
from .models import (
    DATE_PATTERN,
    PIPELINE_ID_PATTERN,
    SCHEDULE_ID_PATTERN,
    TRAIT_TYPE_PATTERN,
    ConfigError,
    ExclusionConfig,
    FailureCategory,
    MonitoringConfig,
    PipelineConfig,
    RetryPolicy,
    ScheduleConfig,
    SLAConfig,
    TraitConfig,
    TriggerConfig,
    WatchConfig,
    wire_fields,
    wire_name,
)

MAX_TRAITS = 20
MAX_CONFIG_BYTES = 64 * 1024  # keeps the stored item and the resolvePipeline payload far below their limits


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")

    def string(self, data: dict, key: str, path: str, *, required: bool = False) -> str:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.add(path, "required")
            return ""
        if not isinstance(value, str):
            self.add(path, "must be a string")
            return ""
        return value

    def integer(self, data: dict, key: str, path: str, *, minimum: int = 0, default: int = 0) -> int:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "must be an integer")
            return default
        if value < minimum:
            self.add(path, f"must be >= {minimum}")
            return default
        return value

    def mapping(self, data: dict, key: str, path: str) -> dict | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(path, "must be an object")
            return None
        return value

    def unknown(self, data: dict, known: set[str], path: str) -> None:
        for key in sorted(set(data) - known):
            self.add(f"{path}.{key}" if path else key, "unknown field")

    def duration(self, value: str, path: str) -> None:
        try:
            if parse_duration(value, signed=True) <= 0:
                self.add(path, "must be a positive duration")
        except ValueError as exc:
            self.add(path, str(exc))

    def deadline(self, value: str, path: str) -> None:
        try:
            schedule.deadline_on(value, schedule.now_utc().date())
        except ValueError as exc:
            self.add(path, str(exc))

    def timezone(self, value: str, path: str) -> None:
        try:
            schedule.zone(value)
        except ValueError as exc:
            self.add(path, str(exc))


def parse_pipeline(data: Any, source: str = "") -> PipelineConfig:
    """Validate a pipeline config dict and return it typed. Raises ConfigError listing every problem."""
    p = _Problems()
    if not isinstance(data, dict):
        raise ConfigError(["(root): must be an object"], source)
    size = len(json.dumps(data, default=str))
    if size > MAX_CONFIG_BYTES:
        p.add("(root)", f"config is {size} bytes as JSON; at most {MAX_CONFIG_BYTES}")
    p.unknown(data, wire_fields(PipelineConfig), "")
    name = p.string(data, "name", "name", required=True)
    if name and not PIPELINE_ID_PATTERN.match(name):
        p.add("name", f"{name!r} must match {PIPELINE_ID_PATTERN.pattern} (lowercase letters, digits, . _ -)")
    archetype = p.string(data, "archetype", "archetype", required=True)
    tier = p.integer(data, "tier", "tier")
    config = PipelineConfig(
        name=name,
        archetype=archetype,
        tier=tier,
        traits=_traits(p, data),
        trigger=_trigger(p, data),
        retry=_retry(p, data),
        sla=_sla(p, data),
        watch=_watch(p, data),
        schedules=_schedules(p, data),
        exclusions=_exclusions(p, data),
    )
    if p.items:
        raise ConfigError(p.items, source)
    return config


def _traits(p: _Problems, data: dict) -> dict[str, TraitConfig]:
    raw = p.mapping(data, "traits", "traits") or {}
    if len(raw) > MAX_TRAITS:
        p.add("traits", f"at most {MAX_TRAITS} traits")
    traits: dict[str, TraitConfig] = {}
    for trait_type, body in raw.items():
        path = f"traits.{trait_type}"
        if not isinstance(trait_type, str) or not TRAIT_TYPE_PATTERN.match(trait_type):
            p.add(path, f"trait type must match {TRAIT_TYPE_PATTERN.pattern}")
            continue
        if body is None:
            body = {}
        if not isinstance(body, dict):
            p.add(path, "must be an object")
            continue
        p.unknown(body, wire_fields(TraitConfig), path)
        cfg = p.mapping(body, "config", f"{path}.config") or {}
        upstream = cfg.get("upstreamPipeline")
        if upstream is not None and (not isinstance(upstream, str) or not PIPELINE_ID_PATTERN.match(upstream)):
            p.add(f"{path}.config.upstreamPipeline", "must be a pipeline name")
        traits[trait_type] = TraitConfig(
            evaluator=p.string(body, "evaluator", f"{path}.evaluator"),
            config=dict(cfg),
            ttl=p.integer(body, "ttl", f"{path}.ttl"),
            timeout=p.integer(body, "timeout", f"{path}.timeout"),
        )
    return traits


def _trigger(p: _Problems, data: dict) -> TriggerConfig | None:
    raw = p.mapping(data, "trigger", "trigger")
    if raw is None:
        return None
    from .triggers import validate  # the trigger modules own their field rules (pure, no AWS import)

    p.items += validate(raw)
    ttype = raw.get("type")
    return TriggerConfig(type=ttype if isinstance(ttype, str) else "",
                         fields={k: v for k, v in raw.items() if k != "type"})


def _retry(p: _Problems, data: dict) -> RetryPolicy | None:
    raw = p.mapping(data, "retry", "retry")
    if raw is None:
        return None
    p.unknown(raw, wire_fields(RetryPolicy), "retry")
    defaults = RetryPolicy()
    multiplier = raw.get("backoffMultiplier", defaults.backoff_multiplier)
    if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or multiplier <= 0:
        p.add("retry.backoffMultiplier", "must be a number > 0")
        multiplier = defaults.backoff_multiplier
    failures = raw.get("retryableFailures")
    categories = defaults.retryable_failures
    if failures is not None:
        if not isinstance(failures, list):
            p.add("retry.retryableFailures", "must be a list")
        else:
            known = tuple(FailureCategory)
            for i, cat in enumerate(failures):
                if cat == FailureCategory.PERMANENT:
                    p.add(f"retry.retryableFailures[{i}]", "PERMANENT failures are never retried")
                elif cat not in known:
                    p.add(f"retry.retryableFailures[{i}]", f"unknown failure category {cat!r}")
            categories = tuple(c for c in failures if isinstance(c, str))
    max_attempts = p.integer(raw, "maxAttempts", "retry.maxAttempts", minimum=1, default=defaults.max_attempts)
    if max_attempts > 10:
        p.add("retry.maxAttempts", "must be <= 10")
    max_reruns = p.integer(raw, "maxReruns", "retry.maxReruns", minimum=0, default=defaults.max_reruns)
    if max_reruns > 10:
        p.add("retry.maxReruns", "must be <= 10")
    return RetryPolicy(
        max_attempts=max_attempts,
        backoff_seconds=p.integer(raw, "backoffSeconds", "retry.backoffSeconds", default=defaults.backoff_seconds),
        backoff_multiplier=float(multiplier),
        retryable_failures=categories,
        max_reruns=max_reruns,
    )


def _sla(p: _Problems, data: dict) -> SLAConfig | None:
    raw = p.mapping(data, "sla", "sla")
    if raw is None:
        return None
    p.unknown(raw, wire_fields(SLAConfig), "sla")
    names = [f.name for f in fields(SLAConfig)]
    sla = SLAConfig(**{n: p.string(raw, wire_name(n), f"sla.{wire_name(n)}") for n in names})
    if sla.timezone:
        p.timezone(sla.timezone, "sla.timezone")
    for name in ("evaluation_deadline", "completion_deadline", "validation_timeout"):
        if getattr(sla, name):
            p.deadline(getattr(sla, name), f"sla.{wire_name(name)}")
    return sla


def _watch(p: _Problems, data: dict) -> WatchConfig | None:
    raw = p.mapping(data, "watch", "watch")
    if raw is None:
        return None
    p.unknown(raw, wire_fields(WatchConfig), "watch")
    enabled = raw.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        p.add("watch.enabled", "must be true or false")
        enabled = None
    interval = p.string(raw, "interval", "watch.interval")
    if interval:
        p.duration(interval, "watch.interval")
    monitoring = None
    mon = p.mapping(raw, "monitoring", "watch.monitoring")
    if mon is not None:
        p.unknown(mon, wire_fields(MonitoringConfig), "watch.monitoring")
        mon_enabled = mon.get("enabled", False)
        if not isinstance(mon_enabled, bool):
            p.add("watch.monitoring.enabled", "must be true or false")
            mon_enabled = False
        duration = p.string(mon, "duration", "watch.monitoring.duration", required=mon_enabled)
        if duration:
            p.duration(duration, "watch.monitoring.duration")
        monitoring = MonitoringConfig(enabled=mon_enabled, duration=duration)
    return WatchConfig(interval=interval, enabled=enabled, monitoring=monitoring)


def _schedules(p: _Problems, data: dict) -> tuple[ScheduleConfig, ...]:
    raw = data.get("schedules")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add("schedules", "must be a list")
        return ()
    out: list[ScheduleConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"schedules[{i}]"
        if not isinstance(item, dict):
            p.add(path, "must be an object")
            continue
        p.unknown(item, wire_fields(ScheduleConfig), path)
        name = p.string(item, "name", f"{path}.name", required=True)
        if name and not SCHEDULE_ID_PATTERN.match(name):
            p.add(f"{path}.name", f"must match {SCHEDULE_ID_PATTERN.pattern}")
        if name in seen:
            p.add(f"{path}.name", f"duplicate schedule {name!r}")
        seen.add(name)
        sched = ScheduleConfig(name=name, **{k: p.string(item, k, f"{path}.{k}")
                                             for k in ("after", "deadline", "timezone")})
        for key in ("after", "deadline"):
            if getattr(sched, key):
                try:
                    schedule.parse_time_of_day(getattr(sched, key))
                except ValueError as exc:
                    p.add(f"{path}.{key}", str(exc))
        if sched.timezone:
            p.timezone(sched.timezone, f"{path}.timezone")
        out.append(sched)
    return tuple(out)


def _exclusions(p: _Problems, data: dict) -> ExclusionConfig | None:
    raw = p.mapping(data, "exclusions", "exclusions")
    if raw is None:
        return None
    p.unknown(raw, wire_fields(ExclusionConfig), "exclusions")
    days = raw.get("days") or []
    dates = raw.get("dates") or []
    if not isinstance(days, list):
        p.add("exclusions.days", "must be a list")
        days = []
    for bad in schedule.validate_weekdays(days):
        p.add("exclusions.days", f"{bad!r} is not a weekday name (monday ... sunday)")
    if not isinstance(dates, list):
        p.add("exclusions.dates", "must be a list")
        dates = []
    for i, value in enumerate(dates):
        if not isinstance(value, str) or not DATE_PATTERN.match(value):
            p.add(f"exclusions.dates[{i}]", "must be YYYY-MM-DD")
    return ExclusionConfig(
        calendar=p.string(raw, "calendar", "exclusions.calendar"),
        days=tuple(d for d in days if isinstance(d, str)),
        dates=tuple(d for d in dates if isinstance(d, str)),
    )


def load_pipeline_file(path: str) -> PipelineConfig:
    """Parse one pipeline file (.yaml/.yml/.json). Errors name the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if path.endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (OSError, ValueError) as exc:
        raise ConfigError([f"(file): cannot read: {exc}"], path) from exc
    except Exception as exc:  # yaml.YAMLError without importing yaml at module load
        raise ConfigError([f"(file): invalid YAML: {exc}"], path) from exc
    return parse_pipeline(data, source=path)


def check_references(config: PipelineConfig, archetype_dir: str) -> list[str]:
    """Problems with the archetype and trait names of `config` against the archetypes (and calendars) in
    `archetype_dir`: unknown archetype, trait types the archetype does not define, unknown exclusion calendar."""
    from . import archetypes

    registry = archetypes.load_dir(archetype_dir)
    problems: list[str] = []
    arch = registry.get(config.archetype)
    if arch is None:
        known = ", ".join(sorted(registry)) or "none"
        problems.append(f"archetype: unknown archetype {config.archetype!r} (known: {known})")
    else:
        defined = set(arch.trait_types())
        for trait_type in config.traits:
            if trait_type not in defined:
                problems.append(f"traits.{trait_type}: not a trait of archetype {arch.name!r}")
    if config.exclusions and config.exclusions.calendar:
        if config.exclusions.calendar not in archetypes.load_calendars(archetype_dir):
            problems.append(f"exclusions.calendar: unknown calendar {config.exclusions.calendar!r}")
    return problems


def validate_pipeline(config: PipelineConfig, archetype_dir: str, source: str = "") -> None:
    """Raise ConfigError if the pipeline could never run: it has no trigger, or `check_references` finds problems.
    (`parse_pipeline` accepts a config without trigger so a hand-written stored item still loads and its run ends
    as a clear `error` at resolvePipeline; pipelines as code are refused at preview instead.)"""
    problems = [] if config.trigger else ["trigger: required (without one every run fails)"]
    problems += check_references(config, archetype_dir)
    if problems:
        raise ConfigError(problems, source)


def load_pipeline_dir(directory: str, archetype_dir: str | None = None) -> list[PipelineConfig]:
    """Every pipeline file in `directory` (top level, sorted), validated against `archetype_dir` when given.
    Collects the problems of all files (and duplicate names) into one ConfigError."""
    configs: list[PipelineConfig] = []
    problems: list[str] = []
    names: dict[str, str] = {}
    for filename in sorted(os.listdir(directory)):
        if not filename.endswith((".yaml", ".yml", ".json")):
            continue
        path = os.path.join(directory, filename)
        try:
            config = load_pipeline_file(path)
            if archetype_dir:
                validate_pipeline(config, archetype_dir, path)
        except ConfigError as exc:
            problems += [f"{path}: {item}" for item in exc.problems]
            continue
        if config.name in names:
            problems.append(f"{path}: name: duplicate pipeline {config.name!r} (also in {names[config.name]})")
        names[config.name] = path
        configs.append(config)
    if problems:
        raise ConfigError(problems, directory)
    return configs
