"""Archetypes: the traits a kind of pipeline must satisfy, loaded from YAML files in ARCHETYPE_DIR, and the
resolution of one pipeline's traits (archetype defaults + the pipeline's overrides).

Exclusion calendars (`{name, days, dates}`) live in the `calendars/` subdirectory of the same directory, so they
ship in the Lambda zip with the archetypes.
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass, field
from typing import Any

from .durations import MAX_SECONDS
from .models import MAX_TRAIT_TIMEOUT_SECONDS, TRAIT_TYPE_PATTERN, ConfigError, PipelineConfig, wire_name
from .schedule import CALENDAR_RULES, parse_date, validate_weekdays
from .yaml_input import data_problems, load_file

READINESS_RULES = ("all-required-pass",)


@dataclass(frozen=True)
class TraitDefinition:
    type: str
    description: str = ""
    default_config: dict[str, Any] = field(default_factory=dict)
    default_ttl: int = 0
    default_timeout: int = 0


@dataclass(frozen=True)
class Archetype:
    name: str
    required_traits: tuple[TraitDefinition, ...]
    optional_traits: tuple[TraitDefinition, ...] = ()
    readiness_rule: str = "all-required-pass"
    description: str = ""

    def trait_types(self) -> list[str]:
        return [t.type for t in self.required_traits + self.optional_traits]

    def required_types(self) -> list[str]:
        return [t.type for t in self.required_traits]


def _trait(raw: Any, path: str, problems: list[str]) -> TraitDefinition | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object")
        return None
    ttype = raw.get("type")
    if not isinstance(ttype, str) or not ttype:
        problems.append(f"{path}.type: required")
        return None
    if not TRAIT_TYPE_PATTERN.fullmatch(ttype):
        problems.append(f"{path}.type: must match {TRAIT_TYPE_PATTERN.pattern}")
    default_config = raw.get("defaultConfig") or {}
    if not isinstance(default_config, dict):
        problems.append(f"{path}.defaultConfig: must be an object")
        default_config = {}
    numbers = {}
    for name, maximum in (("default_ttl", int(MAX_SECONDS)), ("default_timeout", MAX_TRAIT_TIMEOUT_SECONDS)):
        value = raw.get(wire_name(name), 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{path}.{wire_name(name)}: must be an integer >= 0 (seconds)")
            value = 0
        elif value > maximum:
            problems.append(f"{path}.{wire_name(name)}: must be <= {maximum} (seconds)")
            value = 0
        numbers[name] = value
    return TraitDefinition(
        type=ttype, description=str(raw.get("description") or ""), default_config=dict(default_config), **numbers
    )


def parse_archetype(data: Any, source: str = "") -> Archetype:
    """Validate one archetype document. Raises ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError(["(root): must be an object"], source)
    shape = data_problems(data)
    if shape:
        raise ConfigError(shape, source)
    problems: list[str] = []
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append("name: required")
        name = ""
    required_raw = data.get("requiredTraits") or []
    optional_raw = data.get("optionalTraits") or []
    if not isinstance(required_raw, list) or not required_raw:
        problems.append("requiredTraits: at least one required trait is needed")
        required_raw = []
    if not isinstance(optional_raw, list):
        problems.append("optionalTraits: must be a list")
        optional_raw = []
    required = [_trait(t, f"requiredTraits[{i}]", problems) for i, t in enumerate(required_raw)]
    optional = [_trait(t, f"optionalTraits[{i}]", problems) for i, t in enumerate(optional_raw)]
    seen: set[str] = set()
    for trait in (t for t in required + optional if t is not None):
        if trait.type in seen:
            problems.append(f"traits: duplicate trait type {trait.type!r}")
        seen.add(trait.type)
    rule = data.get("readinessRule")
    rule_type = rule.get("type") if isinstance(rule, dict) else None
    if not rule_type:
        problems.append("readinessRule.type: required")
    elif rule_type not in READINESS_RULES:
        problems.append(f"readinessRule.type: unsupported readiness rule type {rule_type!r}")
    if problems:
        raise ConfigError(problems, source)
    return Archetype(
        name=name,
        required_traits=tuple(t for t in required if t is not None),
        optional_traits=tuple(t for t in optional if t is not None),
        readiness_rule=rule_type,
        description=str(data.get("description") or ""),
    )


def _yaml_files(directory: str) -> list[str]:
    if not os.path.isdir(directory):
        return []
    return [os.path.join(directory, f) for f in sorted(os.listdir(directory)) if f.endswith((".yaml", ".yml"))]


@functools.lru_cache(maxsize=8)
def load_dir(directory: str) -> dict[str, Archetype]:
    """All archetypes in `directory` (top level only), by name. Cached per directory for the container's life.
    A missing directory is an empty registry; an invalid file raises ConfigError naming it."""
    registry: dict[str, Archetype] = {}
    for path in _yaml_files(directory):
        arch = parse_archetype(load_file(path), source=path)
        if arch.name in registry:
            raise ConfigError([f"name: duplicate archetype {arch.name!r}"], path)
        registry[arch.name] = arch
    return registry


@functools.lru_cache(maxsize=8)
def load_calendars(directory: str) -> dict[str, dict]:
    """Calendar files in `<directory>/calendars/`, by name: `{"days": [...], "dates": [...]}` (a name of a built-in
    calendar rule is refused: the rule would hide the file)."""
    calendars: dict[str, dict] = {}
    for path in _yaml_files(os.path.join(directory, "calendars")):
        data = load_file(path)
        if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
            raise ConfigError(["name: required"], path)
        if data["name"] in CALENDAR_RULES:
            raise ConfigError([f"name: {data['name']!r} is a built-in calendar; choose another name"], path)
        days, dates = data.get("days") or [], data.get("dates") or []
        if not isinstance(days, list) or not isinstance(dates, list):
            raise ConfigError(["days/dates: must be lists"], path)
        problems = [f"days: {d!r} is not a weekday name (monday ... sunday)" for d in validate_weekdays(days)]
        for i, value in enumerate(dates):
            try:
                parse_date(value)
            except ValueError as exc:
                problems.append(f"dates[{i}]: {exc}")
        if problems:
            raise ConfigError(problems, path)
        calendars[data["name"]] = {"days": list(days), "dates": list(dates)}
    return calendars


def clear_cache() -> None:
    load_dir.cache_clear()
    load_calendars.cache_clear()


def resolve_traits(arch: Archetype, config: PipelineConfig, *, schedule_id: str, date: str) -> list[dict]:
    """The trait items the evaluator Map receives, in archetype order: every required trait, then the optional
    traits the pipeline configures. Config = archetype defaults, overridden key by key by the pipeline, plus the
    run's `scheduleID` and `date` (which win over user keys of those names)."""
    items: list[dict] = []
    for definition, required in [(t, True) for t in arch.required_traits] + [(t, False) for t in arch.optional_traits]:
        override = config.traits.get(definition.type)
        if not required and override is None:
            continue
        trait_config = copy.deepcopy(definition.default_config)
        evaluator, ttl, timeout = "", definition.default_ttl, definition.default_timeout
        if override is not None:
            evaluator = override.evaluator
            trait_config.update(copy.deepcopy(override.config))
            ttl = override.ttl or ttl
            timeout = override.timeout or timeout
        trait_config["scheduleID"] = schedule_id
        trait_config["date"] = date
        items.append(
            {
                "pipelineID": config.name,
                "traitType": definition.type,
                "evaluator": evaluator,
                "config": trait_config,
                "timeout": timeout,
                "ttl": ttl,
                "required": required,
            }
        )
    return items
