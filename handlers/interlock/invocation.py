"""Reading a Lambda invocation: the event's fields, and how much of the invocation's time is left.

Every entry module reads its event through these. A field of the wrong type reads as absent, so a malformed event is
answered as invalid input (each handler's contract) instead of raising.
"""
from __future__ import annotations

MIN_BUDGET_SECONDS = 1.0


def fields(event: object) -> dict:
    """The event as a dict (anything else reads as an empty event)."""
    return event if isinstance(event, dict) else {}


def text(event: dict, key: str) -> str:
    """A string field, `""` when absent or not a string."""
    value = event.get(key)
    return value if isinstance(value, str) else ""


def mapping(event: dict, key: str) -> dict:
    """An object field, `{}` when absent or not an object."""
    value = event.get(key)
    return value if isinstance(value, dict) else {}


def count(event: dict, key: str) -> int | None:
    """A non-negative whole-number field, None when absent or anything else."""
    value = event.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def positive(event: dict, key: str) -> float | None:
    """A positive number field, None when absent or anything else."""
    value = event.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def budget(context, margin_seconds: float) -> float | None:
    """Seconds this invocation may still spend, keeping `margin_seconds` for the work that must follow (never less
    than one second); None without a Lambda context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return max(MIN_BUDGET_SECONDS, remaining() / 1000 - margin_seconds) if remaining else None
