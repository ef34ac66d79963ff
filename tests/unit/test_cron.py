"""The watchdog's reading of EventBridge Scheduler expressions: the latest firing in a window, in the schedule's
time zone."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.interlock.cron import last_fire

DAY = dt.timedelta(hours=24)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("expression", "timezone", "not_after", "expected"),
    [
        ("cron(0 9 * * ? *)", "UTC", "2026-03-03T09:20", "2026-03-03T09:00"),
        ("cron(0 9 * * ? *)", "UTC", "2026-03-03T08:59", "2026-03-02T09:00"),
        ("cron(0/15 * * * ? *)", "UTC", "2026-03-03T09:20", "2026-03-03T09:15"),
        ("cron(30 6 ? * MON-FRI *)", "UTC", "2026-03-09T12:00", "2026-03-09T06:30"),  # a Monday
        ("cron(30 6 ? * MON-FRI *)", "UTC", "2026-03-08T12:00", None),  # Sunday: Friday is more than a day back
        ("cron(0 6 L * ? *)", "UTC", "2026-02-28T07:00", "2026-02-28T06:00"),
        ("cron(0 6 ? * 6#1 *)", "UTC", "2026-03-06T07:00", "2026-03-06T06:00"),  # first Friday
        ("cron(0 6 ? * 6#1 *)", "UTC", "2026-03-13T07:00", None),
        ("cron(0 6 1W * ? *)", "UTC", "2026-02-02T07:00", "2026-02-02T06:00"),  # the 1st is a Sunday
        ("cron(0 6 * * ? *)", "America/New_York", "2026-03-03T11:30", "2026-03-03T11:00"),
        ("at(2026-03-03T09:00:00)", "UTC", "2026-03-03T10:00", "2026-03-03T09:00"),
        ("at(2026-03-01T09:00:00)", "UTC", "2026-03-03T10:00", None),
        ("rate(5 minutes)", "UTC", "2026-03-03T10:00", None),
        ("cron(0 9 * *)", "UTC", "2026-03-03T10:00", None),
    ],
)
def test_the_latest_firing_within_a_day(expression, timezone, not_after, expected):
    fired = last_fire(expression, timezone, utc(not_after), DAY)
    assert (fired.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="minutes") if fired else None) == expected
