"""Environment of the Lambdas, read once per container (and again after `reset()`, which tests use)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from .durations import parse_duration

DEFAULT_ARCHETYPE_DIR = "/var/task/archetypes"
DEFAULT_READINESS_TTL = 3600
DEFAULT_RETENTION_TTL = 168 * 3600


@dataclass(frozen=True)
class Settings:
    table_name: str
    sns_topic_arn: str
    archetype_dir: str
    readiness_ttl_seconds: int
    retention_ttl_seconds: int
    evaluator_base_url: str
    data_bucket: str
    allowed_networks: tuple[str, ...]
    state_machine_arn: str
    log_level: str
    service_name: str


def _seconds(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(parse_duration(raw)) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


@functools.lru_cache(maxsize=1)
def get() -> Settings:
    """The settings of this container. TABLE_NAME is checked where the table is used (store), not here, so
    functions without a table (run-checker) need not set it."""
    env = os.environ.get
    return Settings(
        table_name=env("TABLE_NAME", ""),
        sns_topic_arn=env("SNS_TOPIC_ARN", ""),
        archetype_dir=env("ARCHETYPE_DIR", "") or DEFAULT_ARCHETYPE_DIR,
        readiness_ttl_seconds=_seconds("READINESS_TTL", DEFAULT_READINESS_TTL),
        retention_ttl_seconds=_seconds("RETENTION_TTL", DEFAULT_RETENTION_TTL),
        evaluator_base_url=env("EVALUATOR_BASE_URL", "").rstrip("/"),
        data_bucket=env("DATA_BUCKET", ""),
        allowed_networks=tuple(n.strip() for n in env("INTERLOCK_ALLOWED_NETWORKS", "").split(",") if n.strip()),
        state_machine_arn=env("STATE_MACHINE_ARN", ""),
        log_level=env("LOG_LEVEL", "INFO") or "INFO",
        service_name=env("POWERTOOLS_SERVICE_NAME", "") or "interlock",
    )


def reset() -> None:
    get.cache_clear()
