"""Render asl/pipeline.asl.json (DESIGN §10.0): exact placeholder replacement, nothing else.

STATE_MACHINE_KNOBS is the one list of stack settings the state machine reads. A knob with a `placeholder` is an
integer the definition itself holds (written quoted, "${Name}", so the raw file is valid JSON; replaced by the bare
integer). A knob with a `settings_key` travels in every execution as `$.settings.<key>`: PrepareRun sends the
document rendered into ${ExecutionSettings} and its answer, the execution's state, carries it. Every other ${Name}
(inside strings) is replaced by its value, escaped for a JSON string. `$$.` context paths and braces survive because
nothing but these exact tokens is touched.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .stack_settings import PROJECT_ROOT, StackSettings

DEFINITION_PATH = os.path.join(PROJECT_ROOT, "asl", "pipeline.asl.json")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")
EXECUTION_SETTINGS = "ExecutionSettings"


@dataclass(frozen=True)
class Knob:
    attribute: str  # the StackSettings attribute (an integer)
    placeholder: str = ""  # ${Name} of the definition, or
    settings_key: str = ""  # the key under $.settings of every execution


STATE_MACHINE_KNOBS = (
    Knob("execution_timeout_seconds", placeholder="ExecutionTimeoutSeconds"),
    Knob("poll_interval_seconds", settings_key="pollIntervalSeconds"),
    Knob("max_poll_attempts", settings_key="maxPollAttempts"),
    Knob("completion_check_interval_seconds", settings_key="completionCheckIntervalSeconds"),
    Knob("max_completion_checks", settings_key="maxCompletionChecks"),
    Knob("evaluation_interval_seconds", settings_key="evaluationIntervalSeconds"),
    Knob("evaluation_window_seconds", settings_key="evaluationWindowSeconds"),
    Knob("monitoring_interval_seconds", settings_key="monitoringIntervalSeconds"),
    Knob("lock_lease_seconds", settings_key="lockLeaseSeconds"),
)
INTEGER_PLACEHOLDERS = tuple(knob.placeholder for knob in STATE_MACHINE_KNOBS if knob.placeholder)


class RenderError(ValueError):
    """The template and the values disagree (an unknown or unfilled placeholder, a non-integer integer)."""


def load_template(path: str = DEFINITION_PATH) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def knob_values(settings: StackSettings) -> dict[str, int | str]:
    """The placeholders STATE_MACHINE_KNOBS fill for these settings: the integers and the $.settings document."""
    values: dict[str, int | str] = {
        knob.placeholder: getattr(settings, knob.attribute) for knob in STATE_MACHINE_KNOBS if knob.placeholder
    }
    execution_settings = {
        knob.settings_key: getattr(settings, knob.attribute) for knob in STATE_MACHINE_KNOBS if knob.settings_key
    }
    values[EXECUTION_SETTINGS] = json.dumps(execution_settings, separators=(",", ":"))
    return values


def render(template: str, arns: Mapping[str, str], values: Mapping[str, int | str]) -> str:
    """Fill every placeholder; raises RenderError if the template uses a name without a value or vice versa."""
    given = {**values, **arns}
    used = set(PLACEHOLDER.findall(template))
    if set(given) != used:
        raise RenderError(f"values for {sorted(set(given) ^ used)} missing or without a placeholder")
    text = template
    for name in INTEGER_PLACEHOLDERS:
        value = given[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise RenderError(f"{name} must be an integer, got {value!r}")
        text = text.replace(f'"${{{name}}}"', str(value))
    for name, value in given.items():
        text = text.replace(f"${{{name}}}", json.dumps(str(value))[1:-1])
    if "${" in text:
        raise RenderError("placeholders left after rendering")
    return text
