"""Durations, deadlines in the pipeline's time zone, schedules, calendars, inclusions and exclusions (deterministic:
anchored on dates)."""

import datetime as dt

import pytest

from handlers.interlock import schedule
from handlers.interlock.durations import parse_duration
from handlers.interlock.models import DateSet, PipelineConfig, ScheduleConfig, SLAConfig

DAY = dt.date(2026, 11, 27)  # a Friday
UTC = dt.UTC


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("168h", 604800),
        ("1h30m", 5400),
        ("+45m", 2700),
        ("500ms", 0.5),
        ("1.5h", 5400),
        ("0", 0),
        ("-2m", -120),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text, signed=True) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "  ", "10", "1d", "h", "1h 30m", "abc", None])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text, signed=True)


@pytest.mark.parametrize(
    "text, expected", [("08:30", (8, 30)), ("00:00", (0, 0)), ("23:59", (23, 59)), ("9:05", (9, 5))]
)
def test_time_of_day(text, expected):
    assert schedule.parse_time_of_day(text) == expected


@pytest.mark.parametrize("text", ["25:00", "12:61", "0830", "", "8:5"])
def test_bad_time_of_day(text):
    with pytest.raises(ValueError):
        schedule.parse_time_of_day(text)


def test_deadline_time_of_day_in_zone():
    deadline = schedule.deadline_on("06:00", DAY, "America/New_York")
    assert deadline.astimezone(UTC) == dt.datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    summer = schedule.deadline_on("06:00", dt.date(2026, 7, 1), "America/New_York")
    assert summer.astimezone(UTC).hour == 10  # daylight saving time


def test_deadline_duration_from_local_midnight():
    assert schedule.deadline_on("2h", DAY).astimezone(UTC) == dt.datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert schedule.deadline_on("+45m", DAY) == dt.datetime(2026, 11, 27, 0, 45, tzinfo=UTC)


def test_relative_deadline_counts_from_the_given_start():
    start = dt.datetime(2026, 11, 27, 13, 10, tzinfo=UTC)
    assert schedule.deadline_on("+45m", DAY, relative_to=start) == start + dt.timedelta(minutes=45)
    assert schedule.deadline_on("2h", DAY, relative_to=start).hour == 2  # only "+" is relative


@pytest.mark.parametrize("spec, tz", [("not-a-time", ""), ("25:00", ""), ("", ""), ("06:00", "Mars/Base")])
def test_bad_deadlines(spec, tz):
    with pytest.raises(ValueError):
        schedule.deadline_on(spec, DAY, tz)


def test_breach_is_strictly_after():
    moment = dt.datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert not schedule.is_breached(moment, moment)
    assert schedule.is_breached(moment, moment + dt.timedelta(microseconds=1))


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T21:07:31.137695+00:00",
        "2026-11-28T21:07:31.137Z",
        "2026-11-28T21:07:31Z",
        "2026-11-28T22:07:31.1+01:00",
        "2026-11-28T21:07:31.123456789Z",
    ],
)
def test_timestamps_from_aws_and_moto(text):
    parsed = schedule.parse_timestamp(text)
    assert parsed.astimezone(UTC).replace(microsecond=0) == dt.datetime(2026, 11, 28, 21, 7, 31, tzinfo=UTC)


def test_rfc3339_output():
    assert schedule.rfc3339(dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


def config(**kwargs):
    return PipelineConfig(name="p1", archetype="a", **kwargs)


def test_schedule_deadline_prefers_the_schedule_then_the_sla():
    sla = SLAConfig(completion_deadline="11:00", timezone="Europe/Berlin")
    with_schedule = config(sla=sla, schedules=(ScheduleConfig(name="daily", deadline="08:00"),))
    # the schedule has no zone of its own: it falls back to the SLA zone
    assert schedule.schedule_deadline(with_schedule, "daily", DAY).astimezone(UTC).hour == 7
    assert schedule.schedule_deadline(with_schedule, "h14", DAY).astimezone(UTC).hour == 10
    assert schedule.schedule_deadline(config(), "daily", DAY) is None


def test_implicit_daily_schedule():
    assert [s.name for s in config().resolved_schedules()] == ["daily"]


@pytest.mark.parametrize(
    "exclusions, day, excluded",
    [
        (DateSet(days=("Friday",)), DAY, True),
        (DateSet(days=("SATURDAY", "sunday")), DAY, False),
        (DateSet(days=("SATURDAY",)), DAY + dt.timedelta(days=1), True),
        (DateSet(dates=("2026-11-27",)), DAY, True),
        (DateSet(calendar="holidays"), dt.date(2026, 12, 25), True),
        (DateSet(calendar="holidays", days=("monday",)), dt.date(2026, 11, 30), True),
        (DateSet(calendar="holidays"), DAY, False),
    ],
)
def test_exclusions(exclusions, day, excluded):
    calendars = {"holidays": {"days": [], "dates": ["2026-12-25"]}}
    assert (schedule.skip_reason(config(exclusions=exclusions), day, calendars) is not None) is excluded


@pytest.mark.parametrize(
    "calendar, days",
    [
        ("month-end", ["2026-01-31", "2026-02-28", "2026-04-30", "2026-12-31"]),
        ("month-start", ["2026-01-01", "2026-02-01", "2026-03-01", "2026-12-01"]),
        ("month-first-weekday", ["2026-01-01", "2026-02-02", "2026-03-02", "2026-08-03"]),
        ("month-last-weekday", ["2026-01-30", "2026-02-27", "2026-05-29", "2026-12-31"]),
        ("quarter-start", ["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01"]),
        ("quarter-end", ["2026-03-31", "2026-06-30", "2026-09-30", "2026-12-31"]),
    ],
)
def test_each_built_in_calendar_names_exactly_its_dates_of_2026(calendar, days):
    year = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    rule = schedule.CALENDAR_RULES[calendar]
    named = [d.isoformat() for d in year if rule(d)]
    assert [d for d in named if d[:7] in {day[:7] for day in days}] == days
    assert len(named) == (4 if calendar.startswith("quarter") else 12)


@pytest.mark.parametrize(
    "day, month_end",
    [
        (dt.date(2024, 2, 28), False),  # leap year: February has 29 days
        (dt.date(2024, 2, 29), True),
        (dt.date(2025, 2, 28), True),
        (dt.date(2100, 2, 28), True),  # divisible by 100, not by 400: no 29th
        (dt.date(2000, 2, 28), False),  # divisible by 400: a 29th
        (dt.date(2000, 2, 29), True),
        (dt.date(2999, 12, 31), True),  # LAST_DATE
    ],
)
def test_month_end_in_february_and_leap_years(day, month_end):
    assert schedule.CALENDAR_RULES["month-end"](day) is month_end
    included = config(inclusions=DateSet(calendar="month-end"))
    assert (schedule.skip_reason(included, day) is None) is month_end


def test_a_date_runs_when_included_and_not_excluded():
    month_end = config(
        inclusions=DateSet(calendar="month-end", dates=("2026-03-15",)), exclusions=DateSet(days=("saturday",))
    )
    assert schedule.skip_reason(month_end, dt.date(2026, 3, 31)) is None  # a Tuesday month-end
    assert schedule.skip_reason(month_end, dt.date(2026, 3, 15)) is None  # listed
    assert schedule.skip_reason(month_end, dt.date(2026, 3, 16)) == "not an included date (2026-03-16)"
    assert schedule.skip_reason(month_end, dt.date(2026, 2, 28)) == "excluded day (saturday)"  # included, excluded
    weekly = config(inclusions=DateSet(days=("Monday",)), exclusions=DateSet(calendar="month-start"))
    assert schedule.skip_reason(weekly, dt.date(2026, 6, 8)) is None
    assert schedule.skip_reason(weekly, dt.date(2026, 6, 1)) == "excluded calendar month-start"
    assert schedule.skip_reason(config(), dt.date(2026, 6, 2)) is None  # no inclusions: every date is included


def test_inclusion_calendar_files_join_the_inline_lists():
    files = {"closes": {"days": [], "dates": ["2026-07-14"]}}
    closes = config(
        inclusions=DateSet(calendar="closes", dates=("2026-07-15",)), exclusions=DateSet(calendar="month-end")
    )
    assert schedule.file_calendars(closes) == {"closes"}
    assert schedule.skip_reason(closes, dt.date(2026, 7, 14), files) is None
    assert schedule.skip_reason(closes, dt.date(2026, 7, 15), files) is None
    assert schedule.skip_reason(closes, dt.date(2026, 7, 16), files) is not None
    with pytest.raises(ValueError, match="closes"):
        schedule.skip_reason(closes, dt.date(2026, 7, 14), {})
    assert schedule.file_calendars(config(inclusions=DateSet(calendar="quarter-end"))) == set()


@pytest.mark.parametrize(
    "moment, zone, date, month_end",
    [
        ("2026-02-28T23:30:00+00:00", "", "2026-02-28", True),
        ("2026-02-28T23:30:00+00:00", "Asia/Tokyo", "2026-03-01", False),  # already March there
        ("2026-03-01T03:00:00+00:00", "America/New_York", "2026-02-28", True),  # still February there
        ("2024-03-01T04:59:00+00:00", "America/New_York", "2024-02-29", True),
        ("2026-03-31T22:30:00+00:00", "Europe/Berlin", "2026-04-01", False),  # summer time began on 29 March
        ("2026-03-31T21:30:00+00:00", "Europe/Berlin", "2026-03-31", True),
    ],
)
def test_the_run_date_of_a_moment_is_local_to_the_zone(moment, zone, date, month_end):
    day = schedule.local_date(dt.datetime.fromisoformat(moment), zone)
    assert day.isoformat() == date
    assert (schedule.skip_reason(config(inclusions=DateSet(calendar="month-end")), day) is None) is month_end


def test_unknown_calendar():
    with pytest.raises(ValueError, match="nope"):
        schedule.skip_reason(config(exclusions=DateSet(calendar="nope")), DAY, {})


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("0001-01-01", "outside"),
        ("9999-12-31", "outside"),
        ("1969-12-31", "outside"),
        ("3000-01-01", "outside"),
        ("2026-02-30", "not a calendar date"),
        ("2026-11-27\n", "use YYYY-MM-DD"),
        ("\uff12\uff10\uff12\uff16-11-27", "use YYYY-MM-DD"),
    ],
)
def test_run_dates_are_real_and_far_from_datetime_limits(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        schedule.parse_date(text)
    assert schedule.parse_date("1970-01-01") == schedule.FIRST_DATE
    assert schedule.parse_date("2999-12-31") == schedule.LAST_DATE


def test_the_latest_deadline_of_the_latest_date_does_not_overflow():
    assert schedule.deadline_on("744h", schedule.LAST_DATE, "Pacific/Kiritimati").year == 3000
    assert schedule.deadline_on("-744h", schedule.FIRST_DATE, "America/Adak").year == 1969
    with pytest.raises(ValueError, match="longer than"):
        schedule.deadline_on("100000000h", DAY)


@pytest.mark.parametrize("text", ["\u0660\u0666:\u0660\u0660", "24:00", "06:00:00", "6"])
def test_time_of_day_is_a_full_ascii_match(text):
    with pytest.raises(ValueError):
        schedule.parse_time_of_day(text)
    assert schedule.is_time_of_day(text) is (text == "24:00")  # the shape of a time of day, out of range
