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
from .durations import MAX_SECONDS, parse_duration
from .models import (
    MAX_TRAIT_TIMEOUT_SECONDS,
    PIPELINE_ID_PATTERN,
    SCHEDULE_ID_PATTERN,
    TRAIT_TYPE_PATTERN,
    ConfigError,
    DateSet,
    FailureCategory,
    MonitoringConfig,
    PipelineConfig,
    RetryPolicy,
    ScheduleConfig,
    SLAConfig,
    TraitConfig,
    TriggerConfig,
    WatchConfig,
    did_you_mean,
    matches,
    wire_fields,
    wire_name,
)
from .retry import MAX_BACKOFF_SECONDS
from .yaml_input import data_problems, load_file

MAX_TRAITS = 20
MAX_CONFIG_BYTES = 64 * 1024  # keeps the stored item and the resolvePipeline payload far below their limits
MAX_TIER = 100
MAX_BACKOFF_MULTIPLIER = 10
MAX_DEADLINE_SECONDS = 31 * 86400  # a deadline as a duration counts from the run date's midnight
MAX_WATCH_SECONDS = 7 * 86400  # watch.interval and watch.monitoring.duration
MAX_RUN_SECONDS = 365 * 86400  # sla.maxDuration: an execution (which a run lives in) lasts at most a year


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

    def integer(
        self, data: dict, key: str, path: str, *, minimum: int = 0, maximum: int | None = None, default: int = 0
    ) -> int:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "must be an integer")
            return default
        if value < minimum:
            self.add(path, f"must be >= {minimum}")
            return default
        if maximum is not None and value > maximum:
            self.add(path, f"must be <= {maximum}")
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

    def strings(self, data: dict, key: str, path: str) -> list:
        """A list (empty when absent); its items are checked by the caller."""
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, "must be a list")
            return []
        return value

    def unknown(self, data: dict, known: set[str], path: str) -> None:
        for key in sorted(set(data) - known):
            self.add(f"{path}.{key}" if path else key, "unknown field" + did_you_mean(key, known))

    def duration(self, value: str, path: str, maximum: int) -> None:
        try:
            seconds = parse_duration(value, signed=True)
        except ValueError as exc:
            self.add(path, str(exc))
            return
        if seconds <= 0:
            self.add(path, "must be a positive duration")
        elif seconds > maximum:
            self.add(path, f"must be at most {maximum // 3600}h")

    def deadline(self, value: str, path: str) -> None:
        try:
            schedule.deadline_on(value, schedule.now_utc().date())
        except ValueError as exc:
            self.add(path, str(exc))
            return
        if not schedule.is_time_of_day(value) and abs(parse_duration(value, signed=True)) > MAX_DEADLINE_SECONDS:
            self.add(path, f"must be at most {MAX_DEADLINE_SECONDS // 3600}h")

    def timezone(self, value: str, path: str) -> None:
        try:
            schedule.zone(value)
        except ValueError as exc:
            self.add(path, str(exc))


def parse_pipeline(data: Any, source: str = "") -> PipelineConfig:
    """Validate a pipeline config dict and return it typed. Raises ConfigError listing every problem; nothing else,
    whatever `data` holds."""
    p = _Problems()
    if not isinstance(data, dict):
        raise ConfigError(["(root): must be an object"], source)
    shape = data_problems(data)
    if shape:  # not JSON-shaped: nothing below may walk it
        raise ConfigError(shape, source)
    size = len(json.dumps(data))
    if size > MAX_CONFIG_BYTES:
        p.add("(root)", f"config is {size} bytes as JSON; at most {MAX_CONFIG_BYTES}")
    p.unknown(data, wire_fields(PipelineConfig), "")
    name = p.string(data, "name", "name", required=True)
    if name and not matches(PIPELINE_ID_PATTERN, name):
        p.add("name", f"{name!r} must match {PIPELINE_ID_PATTERN.pattern} (lowercase letters, digits, . _ -)")
    archetype = p.string(data, "archetype", "archetype", required=True)
    tier = p.integer(data, "tier", "tier", maximum=MAX_TIER)
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
        inclusions=_date_set(p, data, "inclusions"),
        exclusions=_date_set(p, data, "exclusions"),
        dry_run=_dry_run(p, data),
    )
    if p.items:
        raise ConfigError(p.items, source)
    return config


def _dry_run(p: _Problems, data: dict) -> bool | None:
    value = data.get("dryRun")
    if value is not None and not isinstance(value, bool):
        p.add("dryRun", "must be true or false")
        return None
    return value


def _traits(p: _Problems, data: dict) -> dict[str, TraitConfig]:
    raw = p.mapping(data, "traits", "traits") or {}
    if len(raw) > MAX_TRAITS:
        p.add("traits", f"at most {MAX_TRAITS} traits")
    traits: dict[str, TraitConfig] = {}
    for trait_type, body in raw.items():
        path = f"traits.{trait_type}"
        if not matches(TRAIT_TYPE_PATTERN, trait_type):
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
        if upstream is not None and not matches(PIPELINE_ID_PATTERN, upstream):
            p.add(f"{path}.config.upstreamPipeline", "must be a pipeline name")
        evaluator = p.string(body, "evaluator", f"{path}.evaluator")
        if evaluator:
            _evaluator(p, evaluator, cfg, path)
        traits[trait_type] = TraitConfig(
            evaluator=evaluator,
            config=dict(cfg),
            ttl=p.integer(body, "ttl", f"{path}.ttl", maximum=int(MAX_SECONDS)),
            timeout=p.integer(body, "timeout", f"{path}.timeout", maximum=MAX_TRAIT_TIMEOUT_SECONDS),
        )
    return traits


def _evaluator(p: _Problems, evaluator: str, config: dict, path: str) -> None:
    """What can be known about an evaluator before it runs: a builtin's name and its either/or fields, and that
    anything else is an http(s) URL or a path (a path needs the stack's evaluatorBaseUrl: checked with the stack)."""
    from .evaluators import BUILTIN_PREFIX
    from .evaluators.builtins import BUILTIN_FIELDS, config_problems

    text = evaluator.strip()
    if text.startswith(BUILTIN_PREFIX):
        name = text[len(BUILTIN_PREFIX) :]
        if name not in BUILTIN_FIELDS:
            p.add(
                f"{path}.evaluator",
                f"unknown builtin evaluator {name!r} (known: {', '.join(BUILTIN_FIELDS)})"
                + did_you_mean(name, BUILTIN_FIELDS),
            )
            return
        for problem in config_problems(name, config):
            p.add(f"{path}.config", problem)
    elif not is_absolute_url(text) and ("://" in text or text.startswith("//") or any(c.isspace() for c in text)):
        p.add(f"{path}.evaluator", f"{evaluator!r} is neither an http(s) URL, a path nor builtin:<name>")


def is_absolute_url(evaluator: str) -> bool:
    """An evaluator that names its own http(s) URL (anything else but a builtin is relative to evaluatorBaseUrl)."""
    return evaluator.strip().lower().startswith(("http://", "https://"))


def _trigger(p: _Problems, data: dict) -> TriggerConfig | None:
    raw = p.mapping(data, "trigger", "trigger")
    if raw is None:
        return None
    ttype = raw.get("type")
    if not isinstance(ttype, str):
        p.add("trigger.type", "required" if ttype is None else "must be a string")
        return TriggerConfig(type="", fields={k: v for k, v in raw.items() if k != "type"})
    from .triggers import validate  # the trigger modules own their field rules (pure, no AWS import)

    p.items += validate(raw)
    return TriggerConfig(type=ttype, fields={k: v for k, v in raw.items() if k != "type"})


def _retry(p: _Problems, data: dict) -> RetryPolicy | None:
    raw = p.mapping(data, "retry", "retry")
    if raw is None:
        return None
    p.unknown(raw, wire_fields(RetryPolicy), "retry")
    defaults = RetryPolicy()
    multiplier = raw.get("backoffMultiplier", defaults.backoff_multiplier)
    if (
        isinstance(multiplier, bool)
        or not isinstance(multiplier, (int, float))
        or not 0 < multiplier <= MAX_BACKOFF_MULTIPLIER
    ):
        p.add("retry.backoffMultiplier", f"must be a number > 0 and <= {MAX_BACKOFF_MULTIPLIER}")
        multiplier = defaults.backoff_multiplier
    failures = raw.get("retryableFailures")
    categories = defaults.retryable_failures
    if failures is not None:
        if not isinstance(failures, list):
            p.add("retry.retryableFailures", "must be a list")
        else:
            known = [str(c) for c in FailureCategory]
            for i, cat in enumerate(failures):
                if cat == FailureCategory.PERMANENT:
                    p.add(f"retry.retryableFailures[{i}]", "PERMANENT failures are never retried")
                elif not isinstance(cat, str) or cat not in known:
                    p.add(
                        f"retry.retryableFailures[{i}]",
                        f"unknown failure category {cat!r} (known: "
                        f"{', '.join(k for k in known if k != FailureCategory.PERMANENT)})",
                    )
            categories = tuple(c for c in failures if isinstance(c, str))
    max_attempts = p.integer(raw, "maxAttempts", "retry.maxAttempts", minimum=1, default=defaults.max_attempts)
    if max_attempts > 10:
        p.add("retry.maxAttempts", "must be <= 10")
    max_reruns = p.integer(raw, "maxReruns", "retry.maxReruns", minimum=0, default=defaults.max_reruns)
    if max_reruns > 10:
        p.add("retry.maxReruns", "must be <= 10")
    return RetryPolicy(
        max_attempts=max_attempts,
        backoff_seconds=p.integer(
            raw, "backoffSeconds", "retry.backoffSeconds", maximum=MAX_BACKOFF_SECONDS, default=defaults.backoff_seconds
        ),
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
    if sla.warn_before:
        p.duration(sla.warn_before, "sla.warnBefore", MAX_DEADLINE_SECONDS)
    if sla.max_duration:
        p.duration(sla.max_duration, "sla.maxDuration", MAX_RUN_SECONDS)
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
        p.duration(interval, "watch.interval", MAX_WATCH_SECONDS)
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
            p.duration(duration, "watch.monitoring.duration", MAX_WATCH_SECONDS)
        monitoring = MonitoringConfig(enabled=mon_enabled, duration=duration)
    return WatchConfig(interval=interval, enabled=enabled, monitoring=monitoring)


def _schedules(p: _Problems, data: dict) -> tuple[ScheduleConfig, ...]:
    raw = p.strings(data, "schedules", "schedules")
    out: list[ScheduleConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"schedules[{i}]"
        if not isinstance(item, dict):
            p.add(path, "must be an object")
            continue
        p.unknown(item, wire_fields(ScheduleConfig), path)
        name = p.string(item, "name", f"{path}.name", required=True)
        if name and not matches(SCHEDULE_ID_PATTERN, name):
            p.add(f"{path}.name", f"must match {SCHEDULE_ID_PATTERN.pattern}")
        if name in seen:
            p.add(f"{path}.name", f"duplicate schedule {name!r}")
        seen.add(name)
        sched = ScheduleConfig(
            name=name, **{k: p.string(item, k, f"{path}.{k}") for k in ("after", "deadline", "timezone")}
        )
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


def _date_set(p: _Problems, data: dict, key: str) -> DateSet | None:
    """`inclusions` or `exclusions`: a calendar (built-in rule or calendar file: the file is checked with the
    archetype directory), weekday names and dates."""
    raw = p.mapping(data, key, key)
    if raw is None:
        return None
    p.unknown(raw, wire_fields(DateSet), key)
    calendar = p.string(raw, "calendar", f"{key}.calendar")
    days = p.strings(raw, "days", f"{key}.days")
    dates = p.strings(raw, "dates", f"{key}.dates")
    for bad in schedule.validate_weekdays(days):
        p.add(f"{key}.days", f"{bad!r} is not a weekday name (monday ... sunday)")
    for i, value in enumerate(dates):
        try:
            schedule.parse_date(value)
        except ValueError:
            p.add(f"{key}.dates[{i}]", f"must be YYYY-MM-DD (a real date), not {value!r}")
    if key == "inclusions" and not (calendar or days or dates):
        p.add(key, "names no calendar, day or date: the pipeline would never run (remove it to run every day)")
    return DateSet(
        calendar=calendar,
        days=tuple(d for d in days if isinstance(d, str)),
        dates=tuple(d for d in dates if isinstance(d, str)),
    )


def load_pipeline_file(path: str) -> PipelineConfig:
    """Parse one pipeline file (.yaml/.yml/.json) with the limits of yaml_input. Errors name the file."""
    return parse_pipeline(load_file(path), source=path)


def check_references(config: PipelineConfig, archetype_dir: str) -> list[str]:
    """Problems with the archetype and trait names of `config` against the archetypes (and calendars) in
    `archetype_dir`: unknown archetype, trait types the archetype does not define, an inclusion or exclusion
    calendar that is neither a built-in rule nor a calendar file."""
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
    files = archetypes.load_calendars(archetype_dir) if schedule.file_calendars(config) else {}
    for key, selection in (("inclusions", config.inclusions), ("exclusions", config.exclusions)):
        name = selection.calendar if selection else ""
        if name and name not in schedule.CALENDAR_RULES and name not in files:
            known = [*schedule.CALENDAR_RULES, *files]
            problems.append(f"{key}.calendar: unknown calendar {name!r}{did_you_mean(name, known)}")
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
    return list(load_pipeline_files(directory, archetype_dir).values())


def load_pipeline_files(directory: str, archetype_dir: str | None = None) -> dict[str, PipelineConfig]:
    """`load_pipeline_dir` keyed by file path (so later checks can name the file)."""
    configs: dict[str, PipelineConfig] = {}
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
        configs[path] = config
    if problems:
        raise ConfigError(problems, directory)
    return configs
