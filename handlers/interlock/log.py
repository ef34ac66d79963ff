"""Structured JSON logging on aws_lambda_powertools' Logger, created on first use (it costs import time).

Log the identifiers (pipelineID, scheduleID, runID, execution) with `bind`; never log secrets, trigger headers or
whole payloads.
"""
from __future__ import annotations

import functools

from . import settings

CONTEXT_KEYS = ("pipelineID", "scheduleID", "runID", "execution", "action", "date")


@functools.lru_cache(maxsize=1)
def logger():
    """The process-wide Logger (service name from POWERTOOLS_SERVICE_NAME, level from LOG_LEVEL, via settings)."""
    from aws_lambda_powertools.logging.logger import Logger

    env = settings.get()
    return Logger(service=env.service_name, level=env.log_level)


def bind(**keys: object) -> None:
    """Replace the per-invocation context keys (only the known identifier keys; empty values are dropped)."""
    log = logger()
    log.remove_keys(list(CONTEXT_KEYS))
    log.append_keys(**{k: v for k, v in keys.items() if k in CONTEXT_KEYS and v not in (None, "")})
