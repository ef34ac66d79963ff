"""Inclusions and sla.maxDuration through the emulator: a marker on a date the pipeline does not include is skipped
and one on an included date runs; the watchdog expects nothing on a date that is not included; a run past its
maxDuration is alerted once however often the watchdog runs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from emulator import Emulator

TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
MONTH_END = "2026-03-31"  # a Tuesday
NOT_MONTH_END = "2026-03-30"


@pytest.fixture(scope="module")
def emu(pipelines_dir):
    schedules = [{"name": "cal-missed-daily", "pipeline": "cal-missed", "expression": "cron(0 9 * * ? *)"}]
    with Emulator({"schedules": schedules, "pipelinesDir": pipelines_dir}) as emulator:
        yield emulator


def register(emu: Emulator, name: str, **sections) -> None:
    emu.register_pipeline(
        {
            "name": name,
            "archetype": "batch-ingestion",
            "traits": {t: {"evaluator": emu.http.evaluator(f"/{name}/{t}")} for t in TRAITS},
            "trigger": emu.http.job(name).trigger,
            **sections,
        }
    )


def reported(report: dict, pipeline_id: str) -> list[tuple[str, str]]:
    return [(a["alertType"], a["date"]) for a in report["alerts"] if a["pipelineID"] == pipeline_id]


def alerts_of(emu: Emulator, pipeline_id: str, alert_type: str) -> list[dict]:
    return [a for a in emu.alerts(pipeline_id) if a["alertType"] == alert_type]


def test_a_marker_on_a_date_not_included_is_skipped_and_an_included_date_runs(emu):
    today = dt.datetime.now(dt.UTC).date().isoformat()
    register(emu, "cal-runs", inclusions={"calendar": "month-end", "dates": [today]})
    skipped = emu.wait_for_execution(emu.write_marker("cal-runs", date=NOT_MONTH_END))
    assert skipped["status"] == "SUCCEEDED", (skipped["error"], skipped["cause"])
    assert f"not an included date ({NOT_MONTH_END})" in json.dumps(skipped["output"])
    assert emu.http.requests("/cal-runs/trigger") == [] and emu.alerts("cal-runs") == []
    result = emu.wait_for_execution(emu.write_marker("cal-runs", date=today))
    assert result["status"] == "SUCCEEDED", (result["error"], result["cause"])
    assert emu.run_log("cal-runs", today)["status"] == "COMPLETED"
    assert emu.run_log("cal-runs", NOT_MONTH_END) is None


def test_the_watchdog_expects_nothing_on_a_date_not_included(emu):
    register(emu, "cal-missed", inclusions={"calendar": "month-end"}, sla={"completionDeadline": "10:00"})
    for clock in ("09:20", "10:05", "23:00"):
        assert reported(emu.run_watchdog(f"{NOT_MONTH_END}T{clock}:00Z"), "cal-missed") == []
    assert reported(emu.run_watchdog(f"{MONTH_END}T09:20:00Z"), "cal-missed") == [("SCHEDULE_MISSED", MONTH_END)]
    assert reported(emu.run_watchdog(f"{MONTH_END}T10:05:00Z"), "cal-missed") == [
        ("COMPLETION_SLA_BREACHED", MONTH_END)
    ]
    assert {a["date"] for a in emu.alerts("cal-missed")} == {MONTH_END}


def test_a_run_past_its_max_duration_is_alerted_once(emu):
    register(emu, "cal-long", sla={"maxDuration": "5m"})
    emu.store.create_run("run-long", "cal-long", schedule_id="daily", date=MONTH_END)
    emu.store.transition_run("run-long", "TRIGGERING")
    emu.store.transition_run("run-long", "RUNNING", metadata={"jobRunId": "jr-1"})
    triggered = dt.datetime.now(dt.UTC)
    assert reported(emu.run_watchdog(triggered + dt.timedelta(minutes=4)), "cal-long") == []
    assert reported(emu.run_watchdog(triggered + dt.timedelta(minutes=6)), "cal-long") == [
        ("MAX_DURATION_EXCEEDED", MONTH_END)
    ]
    for minutes in (7, 8, 9):
        assert reported(emu.run_watchdog(triggered + dt.timedelta(minutes=minutes)), "cal-long") == []
    (alert,) = alerts_of(emu, "cal-long", "MAX_DURATION_EXCEEDED")
    assert alert["runID"] == "run-long" and alert["level"] == "warning"
    assert (alert["details"]["status"], alert["details"]["maxDuration"]) == ("RUNNING", "5m")
    assert alert["details"]["elapsedSeconds"] >= 360
