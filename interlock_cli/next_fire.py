"""When an EventBridge Scheduler schedule fires next: cron, rate and at expressions in the schedule's time zone.

As Scheduler does: cron fields are minutes, hours, day-of-month, month, day-of-week (1-7 = SUN-SAT), year, with
`L`, `W` and `#`; a local time that daylight saving time skips does not fire that day, a local time it repeats fires
once (the first); rate schedules fire every interval of elapsed time from their start; at() fires once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
YEARS = (1970, 2199)


def next_fire_time(
    expression: str,
    timezone: str = "UTC",
    after: dt.datetime | None = None,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dt.datetime | None:
    """The first moment (UTC) strictly after `after` (default: now) at which the schedule fires, or None when it
    never fires again. `start`/`end`: the schedule's StartDate/EndDate (for rate, its start; else its creation)."""
    after = (after or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if start is not None and start > after:
        after = start - dt.timedelta(microseconds=1)
    zone = zoneinfo.ZoneInfo(timezone or "UTC")
    kind, _, body = expression.strip().partition("(")
    body = body.rstrip(")").strip()
    if kind == "at":
        moment = dt.datetime.fromisoformat(body).replace(tzinfo=zone).astimezone(dt.UTC)
        found = moment if moment > after else None
    elif kind == "rate":
        found = _next_rate(body, after, start)
    elif kind == "cron":
        found = _next_cron(body, zone, after)
    else:
        raise ValueError(f"{expression!r} is not a cron, rate or at expression")
    return found if found is None or end is None or found <= end else None


def _next_rate(body: str, after: dt.datetime, start: dt.datetime | None) -> dt.datetime | None:
    count, unit = body.split()
    period = dt.timedelta(seconds=int(count) * RATE_UNITS[unit.rstrip("s")])
    if start is None:
        return None  # fires every period from a start this schedule does not say
    if start > after:
        return start
    return start + period * ((after - start) // period + 1)


def _values(field: str, low: int, high: int, names: tuple[str, ...] = ()) -> set[int]:
    """The values a cron field's `*`, `a`, `a-b`, `a/n`, `a-b/n` items (comma-separated) stand for."""

    def number(text: str) -> int:
        return names.index(text.upper()) + 1 if text.upper() in names else int(text)

    found: set[int] = set()
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base in ("*", "?"):
            first, last = low, high
        else:
            first_text, _, last_text = base.partition("-")
            first = number(first_text)
            last = number(last_text) if last_text else (high if step else first)
        span = range(first, last + 1) if first <= last else [*range(first, high + 1), *range(low, last + 1)]
        found.update(span[:: int(step) if step else 1])
    return found


def _aws_weekday(day: dt.date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday is 0 in Python, 2 in cron


def _day_matches(day: dt.date, day_of_month: str, day_of_week: str) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if day_of_month != "?":
        return any(_month_day_matches(day, item, last) for item in day_of_month.split(","))
    return any(_week_day_matches(day, item, last) for item in day_of_week.split(","))


def _month_day_matches(day: dt.date, item: str, last: int) -> bool:
    if item in ("L", "LW"):
        target = last
        if item == "LW":
            target -= max(0, dt.date(day.year, day.month, last).weekday() - 4)  # back from a weekend
        return day.day == target
    if item.endswith("W"):  # the weekday nearest to day n, within the month
        if int(item[:-1]) > last:
            return False
        wanted = dt.date(day.year, day.month, int(item[:-1]))
        if wanted.weekday() == 5:
            wanted += dt.timedelta(days=-1 if wanted.day > 1 else 2)
        elif wanted.weekday() == 6:
            wanted += dt.timedelta(days=1 if wanted.day < last else -2)
        return day == wanted
    return day.day in _values(item, 1, 31)


def _week_day_matches(day: dt.date, item: str, last: int) -> bool:
    weekday = _aws_weekday(day)
    if item == "L":
        return weekday == 7
    if item.endswith("L"):  # the last such weekday of the month
        return weekday in _values(item[:-1], 1, 7, WEEKDAYS) and day.day + 7 > last
    if "#" in item:  # the nth such weekday of the month
        name, _, nth = item.partition("#")
        return weekday in _values(name, 1, 7, WEEKDAYS) and (day.day - 1) // 7 + 1 == int(nth)
    return weekday in _values(item, 1, 7, WEEKDAYS)


def _next_cron(body: str, zone: zoneinfo.ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    fields = re.split(r"\s+", body)
    if len(fields) != 6:
        raise ValueError(f"cron({body}) does not have 6 fields")
    minutes, hours, day_of_month, month, day_of_week, year = fields
    times = sorted((h, m) for h in _values(hours, 0, 23) for m in _values(minutes, 0, 59))
    local_after = after.astimezone(zone)
    first_day = local_after.date() - dt.timedelta(days=1)  # a repeated hour can put `after` a local day ahead
    for y in sorted(v for v in _values(year, *YEARS) if v >= first_day.year):
        for m in sorted(v for v in _values(month, 1, 12, MONTHS) if (y, v) >= (first_day.year, first_day.month)):
            for d in range(1, calendar.monthrange(y, m)[1] + 1):
                day = dt.date(y, m, d)
                if day < first_day or not _day_matches(day, day_of_month, day_of_week):
                    continue
                for hour, minute in times:
                    wall = dt.datetime(y, m, d, hour, minute)
                    moment = wall.replace(tzinfo=zone).astimezone(dt.UTC)  # fold=0: a repeated time's first
                    if moment.astimezone(zone).replace(tzinfo=None) != wall:
                        continue  # skipped by daylight saving time: does not fire that day
                    if moment > after:
                        return moment
    return None
