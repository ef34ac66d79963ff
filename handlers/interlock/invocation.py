"""Reading a Lambda invocation and bounding its answer: the event's fields, how much of the invocation's time is
left, and the caps on values from outside.

Every entry module reads its event through these. A field of the wrong type reads as absent, so a malformed event is
answered as invalid input (each handler's contract) instead of raising. Every entry module passes its answer through
`bounded`, so no value from outside (a job state, a message, an evaluator's value or reason, an error text) can grow
an execution's state towards Step Functions' 256 KiB limit.
"""

from __future__ import annotations

import json

MIN_BUDGET_SECONDS = 1.0
TEXT_LIMIT = 1024  # characters of one text from outside: message, reason, error, job state
VALUE_LIMIT = 2048  # bytes of JSON of one structured value from outside (an evaluator's value)
IDENTITY_LIMIT = 2048  # bytes of JSON of a started job's identity (never cut: an ID cut short is wrong)
ANSWER_LIMIT = 96 * 1024  # bytes of JSON of a whole answer (resolvePipeline's carries the pipeline config)


class AnswerTooLarge(ValueError):
    """An answer that is still larger than ANSWER_LIMIT after its outside values were capped."""


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


def oversized(value: object, limit: int) -> int:
    """The size in bytes of `value` as JSON when it exceeds `limit`, else 0."""
    size = len(json.dumps(value, default=str).encode())
    return size if size > limit else 0


def capped(text: object, limit: int = TEXT_LIMIT) -> object:
    """A text cut to `limit` characters, saying how much was cut; anything else unchanged."""
    if not isinstance(text, str) or len(text) <= limit:
        return text
    note = f" ... [{len(text) - limit} more characters cut]"
    return text[: limit - len(note)] + note


def bounded(answer: dict, texts: tuple[str, ...] = (), values: tuple[str, ...] = ()) -> dict:
    """`answer` with its `texts` fields capped to TEXT_LIMIT characters and its `values` fields replaced by a note
    when their JSON exceeds VALUE_LIMIT; AnswerTooLarge when the result still exceeds ANSWER_LIMIT."""
    answer = dict(answer)
    for key in set(texts) & set(answer):
        answer[key] = capped(answer[key])
    for key in set(values) & set(answer):
        size = oversized(answer[key], VALUE_LIMIT)
        if size:
            answer[key] = {"omitted": f"a value of {size} bytes (limit {VALUE_LIMIT}); the stored result has it"}
    size = oversized(answer, ANSWER_LIMIT)
    if size:
        raise AnswerTooLarge(f"answer of {size} bytes exceeds {ANSWER_LIMIT} bytes")
    return answer
