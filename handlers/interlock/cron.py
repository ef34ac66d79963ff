"""When an EventBridge Scheduler expression fires: the watchdog's expectation of a schedule's markers.

`cron(minutes hours day-of-month month day-of-week year)` with lists, ranges, `/` steps, names, `?`, `L`, `W`, `#`
(day-of-week 1-7 is SUN-SAT, as Scheduler counts) and `at(yyyy-mm-ddThh:mm:ss)`, both in the schedule's time zone.
`rate(...)` fires relative to the schedule's creation, which nothing here knows: it has no expected times.
The program validates expressions at preview (components/stack_settings.py); an expression that does not parse here
has no expected times either.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from .schedule import zone

_CRON = re.compile(r"cron\(([^()]*)\)")
_AT = re.compile(r"at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_RANGES = ((0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, _MONTHS), (1, 7, _WEEKDAYS), (1970, 2199, ()))


def last_fire(expression: str, timezone: str, not_after: dt.datetime, within: dt.timedelta) -> dt.datetime | None:
    """The latest time `expression` fires in the window (`not_after - within`, `not_after`], or None (also for
    `rate(...)` and for an expression this module cannot read)."""
    tz = zone(timezone or "UTC")
    at = _AT.fullmatch(expression)
    if at:
        moment = dt.datetime.fromisoformat(at.group(1)).replace(tzinfo=tz)
        return moment if not_after - within < moment <= not_after else None
    cron = _CRON.fullmatch(expression)
    fields = _parse(cron.group(1)) if cron else None
    if fields is None:
        return None
    local = not_after.astimezone(tz).replace(second=0, microsecond=0)
    for minutes_back in range(int(within.total_seconds() // 60)):
        moment = local - dt.timedelta(minutes=minutes_back)
        if _fires(fields, moment):
            return moment
    return None


def _parse(body: str) -> tuple | None:
    parts = body.split(" ")
    if len(parts) != 6:
        return None
    try:
        fields = tuple(text if index in (2, 4) else _values(text, *_RANGES[index]) for index, text in enumerate(parts))
        _day_matches(parts[2], dt.date(2000, 1, 1))  # the day fields are read when matched: try them once
        _weekday_matches(parts[4], dt.date(2000, 1, 1))
    except ValueError:
        return None
    return fields


def _values(text: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    """The values a field (a list of `*`, `n`, `a-b`, each with an optional `/step`) stands for."""

    def number(token: str) -> int:
        value = names.index(token.upper()) + 1 if token.upper() in names else int(token)
        if not low <= value <= high:
            raise ValueError(token)
        return value

    values: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base in ("*", "?"):
            first, last = low, high
        else:
            first_text, _, last_text = base.partition("-")
            first = number(first_text)
            last = number(last_text) if last_text else (high if step else first)
        values.update(range(first, last + 1, int(step) if step else 1))
    return frozenset(values)


def _fires(fields: tuple, moment: dt.datetime) -> bool:
    minutes, hours, day_of_month, months, day_of_week, years = fields
    if moment.minute not in minutes or moment.hour not in hours or moment.month not in months:
        return False
    if moment.year not in years:
        return False
    if day_of_month == "?":
        return _weekday_matches(day_of_week, moment.date())
    if day_of_week == "?":
        return _day_matches(day_of_month, moment.date())
    return _day_matches(day_of_month, moment.date()) and _weekday_matches(day_of_week, moment.date())


def _day_matches(text: str, day: dt.date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    for item in text.split(","):
        if item == "L" and day.day == last:
            return True
        if item == "LW" and day == _nearest_weekday(day.replace(day=last)):
            return True
        if item.endswith("W") and item[:-1].isdigit():
            wanted = int(item[:-1])
            if wanted <= last and day == _nearest_weekday(day.replace(day=wanted)):
                return True
        elif item not in ("L", "LW") and day.day in _values(item, 1, 31, ()):
            return True
    return False


def _nearest_weekday(day: dt.date) -> dt.date:
    """The weekday nearest to `day` within its month (`W`)."""
    if day.weekday() < 5:
        return day
    last = calendar.monthrange(day.year, day.month)[1]
    if day.weekday() == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - dt.timedelta(days=1) if day.day > 1 else day + dt.timedelta(days=2)
    return day + dt.timedelta(days=1) if day.day < last else day - dt.timedelta(days=2)  # Sunday


def _weekday_matches(text: str, day: dt.date) -> bool:
    weekday = (day.weekday() + 1) % 7 + 1  # Scheduler: 1 = SUN ... 7 = SAT
    last = calendar.monthrange(day.year, day.month)[1]
    for item in text.split(","):
        if item == "L":
            if weekday == 7:
                return True
        elif item.endswith("L"):
            if weekday in _values(item[:-1], 1, 7, _WEEKDAYS) and day.day + 7 > last:
                return True
        elif "#" in item:
            name, _, nth = item.partition("#")
            if weekday in _values(name, 1, 7, _WEEKDAYS) and (day.day - 1) // 7 + 1 == int(nth):
                return True
        elif weekday in _values(item, 1, 7, _WEEKDAYS):
            return True
    return False
