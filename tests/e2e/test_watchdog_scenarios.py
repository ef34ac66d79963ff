"""The watchdog deployed on the emulator, run on demand with a given clock (`Emulator.run_watchdog(now=...)`): a
schedule that never fires, a deadline passing with no marker, a warning before a deadline, a run stuck past the
execution timeout and a dead owner's lock, each alerted (or released) once however often the watchdog runs."""

from __future__ import annotations

import datetime as dt

import pytest

from emulator import Emulator

DATE = "2026-03-03"  # a Tuesday
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")


def at(clock: str) -> str:
    return f"{DATE}T{clock}:00Z"


@pytest.fixture(scope="module")
def emu(pipelines_dir):
    schedules = [{"name": "wd-missed-daily", "pipeline": "wd-missed", "expression": "cron(0 9 * * ? *)"}]
    with Emulator({"schedules": schedules, "pipelinesDir": pipelines_dir}) as emulator:
        yield emulator


def register(emu: Emulator, name: str, sla: dict | None = None) -> None:
    config = {
        "name": name,
        "archetype": "batch-ingestion",
        "traits": {t: {"evaluator": emu.http.evaluator(f"/{name}/{t}")} for t in TRAITS},
        "trigger": emu.http.job(name).trigger,
    }
    emu.register_pipeline({**config, "sla": sla} if sla else config)


def alerts_of(emu: Emulator, pipeline_id: str, alert_type: str) -> list[dict]:
    return [a for a in emu.alerts(pipeline_id) if a["alertType"] == alert_type]


def reported(report: dict, pipeline_id: str, date: str | None = None) -> list[tuple[str, str]]:
    return [
        (a["alertType"], a["date"])
        for a in report["alerts"]
        if a["pipelineID"] == pipeline_id and date in (None, a["date"])
    ]


def test_a_schedule_that_never_fires_is_alerted_once(emu):
    register(emu, "wd-missed")
    assert reported(emu.run_watchdog(at("09:10")), "wd-missed") == [("SCHEDULE_MISSED", "2026-03-02")]
    assert reported(emu.run_watchdog(at("09:16")), "wd-missed") == [("SCHEDULE_MISSED", DATE)]
    for clock in ("09:21", "09:26", "09:31", "12:00"):
        assert reported(emu.run_watchdog(at(clock)), "wd-missed") == []
    missed = [a for a in alerts_of(emu, "wd-missed", "SCHEDULE_MISSED") if a["date"] == DATE]
    assert len(missed) == 1 and missed[0]["details"]["schedule"] == "wd-missed-daily"


def test_a_deadline_passing_with_no_marker_is_a_breach_once_after_a_warning(emu):
    register(emu, "wd-deadline", {"completionDeadline": "10:00", "warnBefore": "30m"})
    assert reported(emu.run_watchdog(at("09:20")), "wd-deadline", DATE) == []
    assert reported(emu.run_watchdog(at("09:35")), "wd-deadline", DATE) == [("SLA_WARNING", DATE)]
    assert reported(emu.run_watchdog(at("09:50")), "wd-deadline", DATE) == []
    assert reported(emu.run_watchdog(at("10:01")), "wd-deadline", DATE) == [("COMPLETION_SLA_BREACHED", DATE)]
    for clock in ("10:06", "11:00", "23:59"):
        assert reported(emu.run_watchdog(at(clock)), "wd-deadline", DATE) == []
    assert len(alerts_of(emu, "wd-deadline", "SLA_WARNING")) == 1
    (breach,) = [a for a in alerts_of(emu, "wd-deadline", "COMPLETION_SLA_BREACHED") if a["date"] == DATE]
    assert breach["details"]["deadline"] == "2026-03-03T10:00:00.000Z"


def test_a_completed_date_gets_no_warning(emu):
    register(emu, "wd-done", {"completionDeadline": "23:00", "warnBefore": "24h"})
    today = dt.datetime.now(dt.UTC).date().isoformat()
    result = emu.wait_for_execution(emu.write_marker("wd-done", date=today))
    assert result["status"] == "SUCCEEDED", (result["error"], result["cause"])
    assert reported(emu.run_watchdog(f"{today}T22:30:00Z"), "wd-done", today) == []


def test_a_run_stuck_past_the_execution_timeout_is_alerted_once(emu):
    register(emu, "wd-stuck")
    emu.store.create_run("run-stuck", "wd-stuck", schedule_id="daily", date=DATE)
    now = dt.datetime.now(dt.UTC)
    assert reported(emu.run_watchdog(now + dt.timedelta(minutes=9)), "wd-stuck") == []  # executionTimeout 10m
    for minutes in (11, 16, 30):
        emu.run_watchdog(now + dt.timedelta(minutes=minutes))
    (stuck,) = alerts_of(emu, "wd-stuck", "RUN_STUCK")
    assert stuck["details"]["runID"] == "run-stuck" and stuck["details"]["status"] == "PENDING"


def test_a_dead_owners_lock_is_released(emu):
    register(emu, "wd-lock")
    emu.store.acquire_lock("wd-lock", "daily", "wd-lock_daily_gone", 3600)
    now = dt.datetime.now(dt.UTC)
    assert emu.run_watchdog(now + dt.timedelta(minutes=5))["locksReleased"] == []  # younger than the grace
    released = emu.run_watchdog(now + dt.timedelta(minutes=20))["locksReleased"]
    assert {"pipelineID": "wd-lock", "scheduleID": "daily", "owner": "wd-lock_daily_gone"}.items() <= released[
        0
    ].items()
    assert emu.lock("wd-lock") is None
    assert emu.unauthorized_calls() == []
