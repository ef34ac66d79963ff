"""Environment of the Lambdas, read once per container (and again after `reset()`, which tests use).

The stack sends every value (DESIGN §3); nothing here repeats one of its defaults. A value is checked when it is
first used, so a function that does not need a setting runs without it, and a function that needs one fails with
`SettingError` naming the variable instead of running on an invented default. Logging reads its own variables
(POWERTOOLS_SERVICE_NAME, LOG_LEVEL) through Powertools.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class SettingError(RuntimeError):
    """A setting this function needs is missing or invalid: the deployment is broken."""


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingError(f"{name} environment variable required")
    return value


def _optional(environ: Mapping[str, str], name: str) -> str:
    """A value the stack may send empty: empty means "not configured"."""
    return environ.get(name, "").strip()


def _seconds(environ: Mapping[str, str], name: str) -> int:
    raw = _required(environ, name)
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingError(f"{name} must be a positive whole number of seconds, got {raw!r}")
    return int(raw)


def _base_url(environ: Mapping[str, str], name: str) -> str:
    return _optional(environ, name).rstrip("/")


def _list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _optional(environ, name).split(",") if item.strip())


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = _required(environ, name)
    if raw not in ("true", "false"):
        raise SettingError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def _variable(name: str, read: Callable[[Mapping[str, str], str], object]) -> property:
    """The setting held by environment variable `name`, read (and checked) on each access."""
    return property(lambda self: read(self.environ, name), doc=f"environment variable {name}")


@dataclass(frozen=True)
class Settings:
    environ: Mapping[str, str]

    table_name = _variable("TABLE_NAME", _required)
    sns_topic_arn = _variable("SNS_TOPIC_ARN", _optional)
    archetype_dir = _variable("ARCHETYPE_DIR", _required)
    readiness_ttl_seconds = _variable("READINESS_TTL_SECONDS", _seconds)
    retention_ttl_seconds = _variable("RETENTION_TTL_SECONDS", _seconds)
    evaluator_base_url = _variable("EVALUATOR_BASE_URL", _base_url)
    data_bucket = _variable("DATA_BUCKET", _optional)
    allowed_networks = _variable("INTERLOCK_ALLOWED_NETWORKS", _list)
    dry_run = _variable("INTERLOCK_DRY_RUN", _boolean)  # the stack's dryRun: every pipeline in dry run
    state_machine_arn = _variable("STATE_MACHINE_ARN", _required)
    evaluator_function = _variable("EVALUATOR_FUNCTION", _required)  # the orchestrator's monitoring asks it
    execution_timeout_seconds = _variable("EXECUTION_TIMEOUT_SECONDS", _seconds)  # the watchdog's stuck-run limit
    watchdog_schedules = _variable("WATCHDOG_SCHEDULES", _optional)  # the stack's schedules, compact JSON


@functools.lru_cache(maxsize=1)
def get() -> Settings:
    """The settings of this container."""
    return Settings(dict(os.environ))


def reset() -> None:
    get.cache_clear()
