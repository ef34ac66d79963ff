"""When EventBridge Scheduler expressions fire: the latest firing in a window (the watchdog's expectation) and the
next fire time (what `interlock status` shows as the next marker), in the schedule's time zone."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.interlock.schedule_expressions import last_fire, next_fire

DAY = dt.timedelta(hours=24)
UTC = dt.UTC


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
        ("cron(0 22 ? * FRI-MON *)", "UTC", "2026-03-10T00:00", "2026-03-09T22:00"),  # a range across the week's end
        ("cron(30 2 * * ? *)", "America/New_York", "2026-03-08T12:00", None),  # 2:30 skipped by daylight saving time
        ("cron(30 1 * * ? *)", "America/New_York", "2026-11-01T12:00", "2026-11-01T05:30"),  # repeated: the first
    ],
)
def test_the_latest_firing_within_a_day(expression, timezone, not_after, expected):
    fired = last_fire(expression, timezone, utc(not_after), DAY)
    assert (fired.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="minutes") if fired else None) == expected


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        ("cron(0 6 * * ? *)", "UTC", "2026-03-07T12:00", "2026-03-08T06:00"),
        ("cron(0 6 * * ? *)", "UTC", "2026-03-07T05:59", "2026-03-07T06:00"),
        ("cron(0 6 * * ? *)", "UTC", "2026-03-07T06:00", "2026-03-08T06:00"),  # strictly after
        ("cron(0 8 * * ? *)", "Europe/Paris", "2026-07-01T00:00", "2026-07-01T06:00"),  # CEST, UTC+2
        ("cron(0 8 * * ? *)", "Europe/Paris", "2026-12-01T00:00", "2026-12-01T07:00"),  # CET, UTC+1
        ("cron(0/15 * * * ? *)", "UTC", "2026-03-07T12:07", "2026-03-07T12:15"),
        ("cron(0 9 ? * MON-FRI *)", "UTC", "2026-03-06T10:00", "2026-03-09T09:00"),  # Friday -> Monday
        ("cron(0 22 ? * FRI-MON *)", "UTC", "2026-03-10T00:00", "2026-03-13T22:00"),  # a range across the week's end
        ("cron(0 9 L * ? *)", "UTC", "2026-04-01T00:00", "2026-04-30T09:00"),
        ("cron(0 9 LW * ? *)", "UTC", "2026-05-01T00:00", "2026-05-29T09:00"),  # 31 May 2026 is a Sunday
        ("cron(0 9 15W * ? *)", "UTC", "2026-03-01T00:00", "2026-03-16T09:00"),  # 15 March 2026 is a Sunday
        ("cron(0 9 ? * 6L *)", "UTC", "2026-03-01T00:00", "2026-03-27T09:00"),  # last Friday
        ("cron(0 9 ? * 2#1 *)", "UTC", "2026-03-07T00:00", "2026-04-06T09:00"),  # first Monday
        ("cron(0 6 1 JAN ? 2027)", "UTC", "2026-03-07T00:00", "2027-01-01T06:00"),
        ("rate(1 day)", "UTC", "2026-03-07T12:00", "2026-03-08T10:10"),  # from the start, every 24 hours
        ("rate(15 minutes)", "UTC", "2026-03-07T12:00", "2026-03-07T12:10"),
        ("at(2026-04-01T09:00:00)", "Asia/Tokyo", "2026-03-07T00:00", "2026-04-01T00:00"),
    ],
)
def test_the_next_fire(expression, timezone, after, expected):
    start = at("2026-03-05T10:10")  # rate schedules fire every interval from their start
    assert next_fire(expression, timezone, at(after), start=start) == at(expected)


def test_a_time_daylight_saving_skips_does_not_fire_that_day():
    # 2:30 does not exist in New York on 8 March 2026: the next is 2:30 EDT on 9 March
    assert next_fire("cron(30 2 * * ? *)", "America/New_York", at("2026-03-07T12:00")) == at("2026-03-09T06:30")
    # 1:30 is before the jump: fires at 1:30 EST
    assert next_fire("cron(30 1 * * ? *)", "America/New_York", at("2026-03-07T12:00")) == at("2026-03-08T06:30")


def test_a_time_daylight_saving_repeats_fires_once():
    # 1 November 2026, New York: 1:00-1:59 happens twice (EDT, then EST); 1:30 fires at the first only
    first = next_fire("cron(30 1 * * ? *)", "America/New_York", at("2026-11-01T05:00"))
    assert first == at("2026-11-01T05:30")  # 1:30 EDT
    assert next_fire("cron(30 1 * * ? *)", "America/New_York", first) == at("2026-11-02T06:30")
    hourly = next_fire("cron(30 * * * ? *)", "America/New_York", at("2026-11-01T05:45"))
    assert hourly == at("2026-11-01T07:30")  # 2:30 EST: 1:30 EST (06:30 UTC) is the repeat, skipped


def test_a_schedule_that_never_fires_again():
    assert next_fire("at(2026-01-01T09:00:00)", "UTC", at("2026-03-07T00:00")) is None
    assert next_fire("cron(0 6 * * ? 2025)", "UTC", at("2026-03-07T00:00")) is None
    assert next_fire("cron(0 0 30 2 ? *)", "UTC", at("2026-03-07T00:00")) is None  # no 30 February
    ended = at("2026-03-07T23:00")
    assert next_fire("cron(0 6 * * ? *)", "UTC", at("2026-03-07T12:00"), end=ended) is None


def test_start_date_and_an_unknown_rate_start():
    later = at("2026-06-01T00:00")
    assert next_fire("cron(0 6 * * ? *)", "UTC", at("2026-03-07T12:00"), start=later) == at("2026-06-01T06:00")
    assert next_fire("rate(5 minutes)", "UTC", at("2026-03-07T12:00"), start=later) == later
    assert next_fire("rate(5 minutes)", "UTC", at("2026-03-07T12:00")) is None
    with pytest.raises(ValueError, match="not a cron, rate or at expression"):
        next_fire("every day", "UTC", at("2026-03-07T12:00"))
