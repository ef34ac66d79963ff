"""Structured JSON logging on aws_lambda_powertools' Logger, created on first use (it costs import time).

Log the identifiers (pipelineID, scheduleID, runID, execution) with `bind`; never log secrets, trigger headers or
whole payloads. The Logger reads its service name and level from POWERTOOLS_SERVICE_NAME and LOG_LEVEL itself.

Powertools idioms this package uses and does not: `clear_state` resets the per-invocation keys (`bind`), and the
stream-router reports partial batch failures with `BatchProcessor` + `process_partial_response`, imported on first
use. The `inject_lambda_context` decorator is not used: a decorator is applied when the handler module loads, so it
would import Powertools at load time, which the cold-start budget forbids (DESIGN §10.2 "Cold start").
"""

from __future__ import annotations

import functools

CONTEXT_KEYS = ("pipelineID", "scheduleID", "runID", "execution", "action", "date")


@functools.lru_cache(maxsize=1)
def logger():
    """The process-wide Logger."""
    from aws_lambda_powertools.logging.logger import Logger

    return Logger()


def bind(**keys: object) -> None:
    """Replace the per-invocation context keys (only the known identifier keys; empty values are dropped)."""
    log = logger()
    log.clear_state()
    log.append_keys(**{k: v for k, v in keys.items() if k in CONTEXT_KEYS and v not in (None, "")})
