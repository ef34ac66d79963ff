"""The one duration grammar of the project: Go-style strings such as `90s`, `15m`, `1h30m`, `168h`.

Stack settings (components/) and pipeline configs (handlers/) both parse durations here, so a value the preview
accepts is a value the Lambdas accept, and no layer re-parses what another already converted.
"""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_SECONDS = 87_600 * 3600  # ten years: beyond any deadline, lease or retention, and far from datetime's limits
EXAMPLES = "90s, 15m, 1h or 1h30m"


class DurationTooLong(ValueError):
    """A well-formed duration beyond MAX_SECONDS."""


def parse_duration(text: object, *, signed: bool = False) -> float:
    """Seconds in `text`; `signed` admits a leading `+` or `-`. Raises ValueError for anything else, including
    durations longer than MAX_SECONDS."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"invalid duration {text!r}: use e.g. {EXAMPLES}")
    sign, body = 1.0, text
    if signed and text[0] in "+-":
        sign, body = (-1.0 if text[0] == "-" else 1.0), text[1:]
    if body == "0":
        return 0.0
    position, total = 0, 0.0
    while position < len(body):
        match = _PART.match(body, position)
        if not match:
            raise ValueError(f"invalid duration {text!r}: use e.g. {EXAMPLES}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position == 0:
        raise ValueError(f"invalid duration {text!r}: use e.g. {EXAMPLES}")
    if not math.isfinite(total) or total > MAX_SECONDS:
        raise DurationTooLong(f"duration {text!r} is longer than {MAX_SECONDS // 3600}h")
    return sign * total
