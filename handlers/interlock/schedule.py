"""Time: Go-style durations, SLA deadlines in the pipeline's time zone, schedules, calendars, inclusions and
exclusions.

Deadlines are anchored on the run's date (the marker's date), not on "today", so a run that crosses midnight and
a replay of a past date measure against the day they are about.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from .durations import DurationTooLong, parse_duration
from .models import DateSet, PipelineConfig

UTC = dt.UTC
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_TIME_OF_DAY = re.compile(r"([0-9]{1,2}):([0-9]{2})")
# Run dates the orchestrator accepts: every deadline, TTL and timestamp derived from them stays far from datetime's
# limits (year 1 and 9999).
FIRST_DATE = dt.date(1970, 1, 1)
LAST_DATE = dt.date(2999, 12, 31)


def zone(name: str) -> dt.tzinfo:
    """The IANA zone `name` ("" is UTC). Raises ValueError for an unknown zone."""
    if not name:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"invalid timezone {name!r}") from exc


def parse_time_of_day(text: str) -> tuple[int, int]:
    """(hour, minute) of "HH:MM" / "H:MM". Raises ValueError."""
    match = _TIME_OF_DAY.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"invalid time of day {text!r}: use HH:MM")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"invalid time of day {text!r}: hour 0-23, minute 0-59")
    return hour, minute


def is_time_of_day(text: str) -> bool:
    """`text` has the HH:MM shape (a deadline that is not a duration)."""
    return isinstance(text, str) and _TIME_OF_DAY.fullmatch(text.strip()) is not None


def parse_date(text: str) -> dt.date:
    """A YYYY-MM-DD date from FIRST_DATE to LAST_DATE. Raises ValueError."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError(f"invalid date {text!r}: use YYYY-MM-DD")
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid date {text!r}: not a calendar date") from None
    if not FIRST_DATE <= date <= LAST_DATE:
        raise ValueError(f"date {text!r} is outside {FIRST_DATE} .. {LAST_DATE}")
    return date


def parse_timestamp(text: str) -> dt.datetime:
    """An RFC 3339 timestamp; accepts "Z" or an offset and any fraction (AWS gives millis, moto micros)."""
    if not isinstance(text, str) or not text:
        raise ValueError("empty timestamp")
    s = text.strip().replace("z", "Z")
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", s)
    if match and match.group(2):  # fromisoformat on 3.11 wants 3 or 6 fraction digits
        s = match.group(1) + (match.group(2) + "000000")[:7] + match.group(3)
    try:
        parsed = dt.datetime.fromisoformat(s)
    except ValueError as exc:
        raise ValueError(f"invalid timestamp {text!r}: use RFC 3339") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def now_utc() -> dt.datetime:
    return dt.datetime.now(UTC)


def today_utc() -> str:
    return now_utc().date().isoformat()


def rfc3339(moment: dt.datetime) -> str:
    """UTC, millisecond precision, "Z" suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def deadline_on(spec: str, run_date: dt.date, tz_name: str = "", relative_to: dt.datetime | None = None) -> dt.datetime:
    """The moment a deadline `spec` falls on for the run of `run_date`.

    "HH:MM" is that time on the run date in the zone; a duration ("2h", "90m") is measured from the run date's local
    midnight; a "+duration" is measured from `relative_to` when given (the execution start, for the validation
    timeout) and from midnight otherwise. Raises ValueError.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("empty deadline")
    tz = zone(tz_name)
    spec = spec.strip()
    if _TIME_OF_DAY.fullmatch(spec):
        hour, minute = parse_time_of_day(spec)
        return dt.datetime.combine(run_date, dt.time(hour, minute), tzinfo=tz)
    try:
        seconds = parse_duration(spec, signed=True)
    except DurationTooLong:
        raise
    except ValueError:
        raise ValueError(f"invalid deadline format {spec!r}: must be HH:MM or a duration") from None
    if spec.startswith("+") and relative_to is not None:
        return relative_to + dt.timedelta(seconds=seconds)
    return dt.datetime.combine(run_date, dt.time(0, 0), tzinfo=tz) + dt.timedelta(seconds=seconds)


def is_breached(deadline: dt.datetime, now: dt.datetime) -> bool:
    """Strictly after the deadline."""
    return now > deadline


def schedule_deadline(config: PipelineConfig, schedule_id: str, run_date: dt.date) -> dt.datetime | None:
    """Completion deadline for one schedule: the schedule's own `deadline` (in its time zone, else the SLA's),
    else `sla.completionDeadline`. Raises ValueError for an unparseable value."""
    sla_tz = config.sla.timezone if config.sla else ""
    sched = config.schedule(schedule_id)
    if sched is not None and sched.deadline:
        return deadline_on(sched.deadline, run_date, sched.timezone or sla_tz)
    if config.sla is not None and config.sla.completion_deadline:
        return deadline_on(config.sla.completion_deadline, run_date, sla_tz)
    return None


def _month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def _is_weekday(day: dt.date) -> bool:
    return day.weekday() < 5


def _first_weekday_of_month(day: dt.date) -> bool:
    return _is_weekday(day) and not any(_is_weekday(day.replace(day=d)) for d in range(1, day.day))


def _last_weekday_of_month(day: dt.date) -> bool:
    later = (day + dt.timedelta(days=n) for n in range(1, 4))
    return _is_weekday(day) and not any(_is_weekday(d) and d.month == day.month for d in later)


# Built-in calendars: rules on the date alone (the run date, in the pipeline's time zone as the marker carries it).
# A "weekday" is Monday to Friday; holidays are a calendar file's business, excluded on top.
CALENDAR_RULES = {
    "month-start": lambda day: day.day == 1,
    "month-end": _month_end,
    "month-first-weekday": _first_weekday_of_month,
    "month-last-weekday": _last_weekday_of_month,
    "quarter-start": lambda day: day.day == 1 and day.month % 3 == 1,
    "quarter-end": lambda day: _month_end(day) and day.month % 3 == 0,
}


def _match(selection: DateSet, day: dt.date, calendars: dict[str, dict] | None) -> str | None:
    """What in `selection` names `day` ("day (friday)", "date (2026-12-25)", "calendar month-end"), or None. A
    calendar is a built-in rule or a calendar file (`calendars`, by name), whose days and dates join the inline
    ones. Raises ValueError for a calendar that is neither."""
    days, dates = list(selection.days), list(selection.dates)
    if selection.calendar in CALENDAR_RULES:
        if CALENDAR_RULES[selection.calendar](day):
            return f"calendar {selection.calendar}"
    elif selection.calendar:
        cal = (calendars or {}).get(selection.calendar)
        if cal is None:
            raise ValueError(f"calendar {selection.calendar!r} not found")
        days += cal.get("days", [])
        dates += cal.get("dates", [])
    weekday = WEEKDAYS[day.weekday()]
    if weekday in {d.lower() for d in days}:
        return f"day ({weekday})"
    if day.isoformat() in set(dates):
        return f"date ({day.isoformat()})"
    return None


def skip_reason(config: PipelineConfig, run_date: dt.date, calendars: dict[str, dict] | None = None) -> str | None:
    """Why `run_date` is not a run date of the pipeline, or None: a date runs when it is included (or the pipeline
    has no `inclusions`) and not excluded. `calendars` holds the calendar files the config names (see
    `file_calendars`). Raises ValueError for an unknown calendar."""
    if config.inclusions is not None and _match(config.inclusions, run_date, calendars) is None:
        return f"not an included date ({run_date.isoformat()})"
    excluded = _match(config.exclusions, run_date, calendars) if config.exclusions else None
    return f"excluded {excluded}" if excluded else None


def file_calendars(config: PipelineConfig) -> set[str]:
    """The calendars the pipeline names that are calendar files (not built-in rules): what `skip_reason` needs."""
    named = (selection.calendar for selection in (config.inclusions, config.exclusions) if selection)
    return {name for name in named if name and name not in CALENDAR_RULES}


def local_date(moment: dt.datetime, tz_name: str = "") -> dt.date:
    """The date `moment` falls on in the zone `tz_name` ("" is UTC)."""
    return moment.astimezone(zone(tz_name)).date()


def validate_weekdays(days: Iterable[str]) -> list[str]:
    """The entries that are not full English weekday names."""
    return [d for d in days if not isinstance(d, str) or d.lower() not in WEEKDAYS]
