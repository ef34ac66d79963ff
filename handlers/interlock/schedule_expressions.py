"""EventBridge Scheduler expressions: whether Scheduler accepts one, and when it fires.

`cron(minutes hours day-of-month month day-of-week year)` with lists, ranges (a range may wrap, as FRI-MON), `/`
steps, names, `?`, `L`, `W` and `#` (day-of-week 1-7 is SUN-SAT, as Scheduler counts), `rate(n unit)` and
`at(yyyy-mm-ddThh:mm:ss)`; cron and at read in the schedule's time zone. As Scheduler does, a local time that
daylight saving time skips does not fire that day and a local time it repeats fires once (the first); a rate schedule
fires every interval of elapsed time from its start, which only the schedule knows.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from .schedule import zone

CRON = re.compile(r"cron\(([^()]*)\)")
RATE = re.compile(r"rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)")
AT = re.compile(r"at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)")
EXPRESSION_FORMS = "expected cron(<6 fields>), rate(<n> minute(s)|hour(s)|day(s)) or at(yyyy-mm-ddThh:mm:ss)"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# the cron fields: name, lowest, highest value, names standing for 1, 2, ...
CRON_FIELDS = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, WEEKDAYS),
    ("year", 1970, 2199, ()),
)
RATE_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def problem(expression: str) -> str:
    """Why EventBridge Scheduler would refuse `expression`, or "" when it is a valid cron, rate or at expression."""
    cron = CRON.fullmatch(expression)
    if cron:
        return _cron_problem(cron.group(1))
    at = AT.fullmatch(expression)
    if at:
        try:
            dt.datetime.fromisoformat(at.group(1))
        except ValueError:
            return "at(...) must name a real date and time (yyyy-mm-ddThh:mm:ss)"
        return ""
    rate = RATE.fullmatch(expression)
    if rate and int(rate.group(1)) >= 1 and (int(rate.group(1)) == 1) == (not rate.group(2).endswith("s")):
        return ""
    return EXPRESSION_FORMS


def _cron_problem(body: str) -> str:
    fields = body.split(" ")
    if len(fields) != 6 or not all(fields):
        return f"{EXPRESSION_FORMS}; cron takes 6 fields (minutes hours day-of-month month day-of-week year)"
    for (name, low, high, names), text in zip(CRON_FIELDS, fields, strict=True):
        if text == "?" and name in ("day-of-month", "day-of-week"):
            continue
        for item in text.split(","):
            if not _cron_item_ok(item, name, low, high, names):
                spelled = f", {names[0]}-{names[-1]}" if names else ""
                return f"cron {name} {text!r} is not valid (values {low}-{high}{spelled})"
    if (fields[2] == "?") == (fields[4] == "?"):
        return "cron needs ? in exactly one of day-of-month and day-of-week (e.g. cron(0 6 * * ? *))"
    return ""


def _cron_item_ok(item: str, name: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    def value(text: str) -> int | None:
        if text.upper() in names:
            return names.index(text.upper()) + 1
        return int(text) if re.fullmatch(r"[0-9]{1,4}", text) and low <= int(text) <= high else None

    if name == "day-of-month" and (item in ("L", "LW") or (item.endswith("W") and value(item[:-1]) is not None)):
        return True
    if name == "day-of-week" and (item == "L" or (item.endswith("L") and value(item[:-1]) is not None)):
        return True
    if name == "day-of-week" and "#" in item:
        day, _, nth = item.partition("#")
        return value(day) is not None and nth in ("1", "2", "3", "4", "5")
    base, _, step = item.partition("/")
    if step and not (re.fullmatch(r"[0-9]{1,4}", step) and 1 <= int(step) <= high):
        return False
    if base == "*":
        return True
    first, _, last = base.partition("-")
    return value(first) is not None and (not last or value(last) is not None)


@dataclass(frozen=True)
class Cron:
    """A valid cron expression's fields; the day fields are read per day (`L`, `W`, `#` depend on the month)."""

    times: tuple[tuple[int, int], ...]  # (hour, minute), in order
    day_of_month: str
    months: frozenset[int]
    day_of_week: str
    years: frozenset[int]

    def fires_on(self, day: dt.date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        if self.day_of_month != "?":
            return any(_month_day_matches(day, item, last) for item in self.day_of_month.split(","))
        return any(_week_day_matches(day, item, last) for item in self.day_of_week.split(","))


def parse_cron(expression: str) -> Cron:
    """The fields of `cron(...)`; ValueError when Scheduler would refuse the expression or it is not a cron one."""
    why = problem(expression)
    cron = CRON.fullmatch(expression)
    if why or not cron:
        raise ValueError(f"{expression!r} is not a cron expression: {why or 'it is rate(...) or at(...)'}")
    minutes, hours, day_of_month, month, day_of_week, year = cron.group(1).split(" ")
    times = tuple(sorted((h, m) for h in _values(hours, 0, 23) for m in _values(minutes, 0, 59)))
    return Cron(times, day_of_month, _values(month, 1, 12, MONTHS), day_of_week, _values(year, 1970, 2199))


def next_fire(
    expression: str,
    timezone: str = "UTC",
    after: dt.datetime | None = None,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dt.datetime | None:
    """The first moment (UTC) strictly after `after` (default: now) at which the schedule fires, or None when it
    never fires again. `start`/`end`: the schedule's StartDate/EndDate (for rate, its start; else its creation).
    ValueError when Scheduler would refuse the expression."""
    after = (after or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if start is not None and start > after:
        after = start - dt.timedelta(microseconds=1)
    why = problem(expression)
    if why:
        raise ValueError(f"{expression!r} is not a cron, rate or at expression: {why}")
    tz = zone(timezone)
    at, rate = AT.fullmatch(expression), RATE.fullmatch(expression)
    if at:
        moment = dt.datetime.fromisoformat(at.group(1)).replace(tzinfo=tz).astimezone(dt.UTC)
        found = moment if moment > after else None
    elif rate:
        found = _next_rate(int(rate.group(1)) * RATE_UNIT_SECONDS[rate.group(2).rstrip("s")], after, start)
    else:
        found = _next_cron(parse_cron(expression), tz, after)
    return found if found is None or end is None or found <= end else None


def last_fire(expression: str, timezone: str, not_after: dt.datetime, within: dt.timedelta) -> dt.datetime | None:
    """The latest time (in the schedule's zone) `expression` fires in the window (`not_after - within`, `not_after`],
    or None (also for `rate(...)` and for an expression Scheduler would refuse)."""
    tz = zone(timezone)
    at = AT.fullmatch(expression)
    if at and not problem(expression):
        moment = dt.datetime.fromisoformat(at.group(1)).replace(tzinfo=tz)
        return moment if not_after - within < moment <= not_after else None
    try:
        cron = parse_cron(expression)
    except ValueError:
        return None
    day = not_after.astimezone(tz).date()
    first_day = (not_after - within).astimezone(tz).date()
    while day >= first_day:
        if cron.fires_on(day):
            for moment in reversed(_firings(cron, tz, day)):
                if not_after - within < moment <= not_after:
                    return moment.astimezone(tz)
        day -= dt.timedelta(days=1)
    return None


def _next_rate(period_seconds: int, after: dt.datetime, start: dt.datetime | None) -> dt.datetime | None:
    period = dt.timedelta(seconds=period_seconds)
    if start is None:
        return None  # fires every period from a start this schedule does not say
    if start > after:
        return start
    return start + period * ((after - start) // period + 1)


def _next_cron(cron: Cron, tz: dt.tzinfo, after: dt.datetime) -> dt.datetime | None:
    first_day = after.astimezone(tz).date() - dt.timedelta(days=1)  # a repeated hour can put `after` a day ahead
    for year in sorted(y for y in cron.years if y >= first_day.year):
        for month in sorted(m for m in cron.months if (year, m) >= (first_day.year, first_day.month)):
            for number in range(1, calendar.monthrange(year, month)[1] + 1):
                day = dt.date(year, month, number)
                if day < first_day or not cron.fires_on(day):
                    continue
                for moment in _firings(cron, tz, day):
                    if moment > after:
                        return moment
    return None


def _firings(cron: Cron, tz: dt.tzinfo, day: dt.date) -> list[dt.datetime]:
    """The moments (UTC, in order) the cron fires on `day`, a day it fires on: a local time daylight saving time
    skips does not fire, a repeated one fires at its first occurrence."""
    found = []
    for hour, minute in cron.times:
        wall = dt.datetime(day.year, day.month, day.day, hour, minute)
        moment = wall.replace(tzinfo=tz).astimezone(dt.UTC)  # fold=0: a repeated time's first
        if moment.astimezone(tz).replace(tzinfo=None) == wall:
            found.append(moment)
    return found


def _values(field: str, low: int, high: int, names: tuple[str, ...] = ()) -> frozenset[int]:
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
    return frozenset(found)


def _nearest_weekday(day: dt.date, last: int) -> dt.date:
    """The weekday nearest to `day` within its month (`W`); `last` is the month's last day."""
    if day.weekday() == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - dt.timedelta(days=1) if day.day > 1 else day + dt.timedelta(days=2)
    if day.weekday() == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + dt.timedelta(days=1) if day.day < last else day - dt.timedelta(days=2)
    return day


def _month_day_matches(day: dt.date, item: str, last: int) -> bool:
    if item == "L":
        return day.day == last
    if item == "LW":
        return day == _nearest_weekday(day.replace(day=last), last)
    if item.endswith("W"):
        wanted = int(item[:-1])
        return wanted <= last and day == _nearest_weekday(day.replace(day=wanted), last)
    return day.day in _values(item, 1, 31)


def _week_day_matches(day: dt.date, item: str, last: int) -> bool:
    weekday = (day.weekday() + 1) % 7 + 1  # Scheduler: 1 = SUN ... 7 = SAT
    if item == "L":
        return weekday == 7
    if item.endswith("L"):  # the last such weekday of the month
        return weekday in _values(item[:-1], 1, 7, WEEKDAYS) and day.day + 7 > last
    if "#" in item:  # the nth such weekday of the month
        name, _, nth = item.partition("#")
        return weekday in _values(name, 1, 7, WEEKDAYS) and (day.day - 1) // 7 + 1 == int(nth)
    return weekday in _values(item, 1, 7, WEEKDAYS)
