"""Trigger argument templating: `${date}`, `${hour}`, `${scheduleID}`, `${pipelineID}` and nothing else.

The trigger expands these at trigger time from its own input (the run's date and schedule). Any other `${...}`
and every `$` stays as written: the Lambda's environment is never consulted, so a config cannot exfiltrate
credentials through a template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\$\{(date|hour|scheduleID|pipelineID)\}")
_HOURLY_SCHEDULE = re.compile(r"^h([01]?\d|2[0-3])$")


@dataclass(frozen=True)
class TemplateContext:
    pipeline_id: str
    schedule_id: str
    date: str

    @property
    def hour(self) -> str:
        """Two-digit hour of an hourly schedule ID such as `h15` or `h7`; empty for any other schedule."""
        match = _HOURLY_SCHEDULE.match(self.schedule_id)
        return f"{int(match.group(1)):02d}" if match else ""

    def values(self) -> dict[str, str]:
        return {"date": self.date, "hour": self.hour, "scheduleID": self.schedule_id, "pipelineID": self.pipeline_id}


def render(text: str, context: TemplateContext) -> str:
    """`text` with the four known placeholders replaced; everything else is left untouched."""
    values = context.values()
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def render_value(value, context: TemplateContext):
    """Render every string inside a JSON-like value (dict keys are left alone)."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    return value
