"""Render asl/pipeline.asl.json (DESIGN §10.0): exact placeholder replacement, nothing else.

Integer placeholders that stand alone as a JSON value are written quoted in the file ("${Name}") so the raw file
is valid JSON; they are replaced with the bare integer first, then every remaining ${Name} (inside strings) by its
value. `$$.` context paths and braces survive because nothing but these exact tokens is touched.
"""
from __future__ import annotations

import os
import re
from typing import Mapping

from .stack_settings import PROJECT_ROOT, StackSettings

DEFINITION_PATH = os.path.join(PROJECT_ROOT, "asl", "pipeline.asl.json")
ARN_PLACEHOLDERS = ("OrchestratorFunctionArn", "EvaluatorFunctionArn", "TriggerFunctionArn",
                    "RunCheckerFunctionArn", "AlertTopicArn")
INTEGER_PLACEHOLDERS = ("ExecutionTimeoutSeconds", "LockLeaseSeconds", "PollIntervalSeconds", "MaxPollAttempts",
                        "EvaluationIntervalSeconds", "EvaluationWindowSeconds", "MonitoringIntervalSeconds")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")


class RenderError(ValueError):
    """The template and the values disagree (an unknown or unfilled placeholder)."""


def load_template(path: str = DEFINITION_PATH) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def integer_values(settings: StackSettings) -> dict[str, int]:
    """The stack's timing settings as the integer placeholders of the definition."""
    return {
        "ExecutionTimeoutSeconds": settings.execution_timeout_seconds,
        "LockLeaseSeconds": settings.lock_lease_seconds,
        "PollIntervalSeconds": settings.poll_interval_seconds,
        "MaxPollAttempts": settings.max_poll_attempts,
        "EvaluationIntervalSeconds": settings.evaluation_interval_seconds,
        "EvaluationWindowSeconds": settings.evaluation_window_seconds,
        "MonitoringIntervalSeconds": settings.monitoring_interval_seconds,
    }


def render(template: str, arns: Mapping[str, str], integers: Mapping[str, int]) -> str:
    """Fill every placeholder; raises RenderError if the template uses a name without a value or vice versa."""
    expected = set(ARN_PLACEHOLDERS) | set(INTEGER_PLACEHOLDERS)
    given = set(arns) | set(integers)
    used = set(PLACEHOLDER.findall(template))
    if given != expected:
        raise RenderError(f"values for {sorted(given ^ expected)} missing or unexpected")
    if used - expected:
        raise RenderError(f"unknown placeholders in the definition: {sorted(used - expected)}")
    text = template
    for name, value in integers.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise RenderError(f"{name} must be an integer, got {value!r}")
        text = text.replace(f'"${{{name}}}"', str(value))
    for name, value in {**integers, **arns}.items():
        text = text.replace(f"${{{name}}}", str(value))
    if "${" in text:
        raise RenderError("placeholders left after rendering")
    return text
