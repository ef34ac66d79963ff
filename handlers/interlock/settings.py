"""Environment of the Lambdas, read once per container (and again after `reset()`, which tests use).

The stack sends every value (DESIGN §3); nothing here repeats one of its defaults. A value is checked when it is
first used, so a function that does not need a setting may run without it, and a function that needs one fails
with `SettingError` naming the variable instead of running on an invented default. Logging reads its own variables
(POWERTOOLS_SERVICE_NAME, LOG_LEVEL) through Powertools.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Mapping


class SettingError(RuntimeError):
    """A setting this function needs is missing or invalid: the deployment is broken."""


@dataclass(frozen=True)
class Settings:
    environ: Mapping[str, str]

    def required(self, name: str) -> str:
        value = self.environ.get(name, "").strip()
        if not value:
            raise SettingError(f"{name} environment variable required")
        return value

    def optional(self, name: str) -> str:
        """A value the stack may send empty: empty means "not configured"."""
        return self.environ.get(name, "").strip()

    def seconds(self, name: str) -> int:
        raw = self.required(name)
        if not raw.isdigit() or int(raw) <= 0:
            raise SettingError(f"{name} must be a positive whole number of seconds, got {raw!r}")
        return int(raw)

    @property
    def table_name(self) -> str:
        return self.required("TABLE_NAME")

    @property
    def sns_topic_arn(self) -> str:
        return self.optional("SNS_TOPIC_ARN")

    @property
    def archetype_dir(self) -> str:
        return self.required("ARCHETYPE_DIR")

    @property
    def readiness_ttl_seconds(self) -> int:
        return self.seconds("READINESS_TTL_SECONDS")

    @property
    def retention_ttl_seconds(self) -> int:
        return self.seconds("RETENTION_TTL_SECONDS")

    @property
    def evaluator_base_url(self) -> str:
        return self.optional("EVALUATOR_BASE_URL").rstrip("/")

    @property
    def data_bucket(self) -> str:
        return self.optional("DATA_BUCKET")

    @property
    def allowed_networks(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.optional("INTERLOCK_ALLOWED_NETWORKS").split(",") if n.strip())

    @property
    def state_machine_arn(self) -> str:
        return self.required("STATE_MACHINE_ARN")


@functools.lru_cache(maxsize=1)
def get() -> Settings:
    """The settings of this container."""
    return Settings(dict(os.environ))


def reset() -> None:
    get.cache_clear()
