"""Archetypes and exclusion calendars of one's own, outside the repository: the emulator (run from another
directory) validates pipelines against them and its functions read them; `interlock validate --archetypes` checks
them with the pipelines."""

import os
import subprocess
import sys

import pytest

from emulator import Emulator, PipelineConfigError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHUTDOWN = "2026-12-24"
PIPELINE = """name: warehouse-export
archetype: nightly-export
traits:
  export-landed:
    evaluator: export-landed
trigger:
  type: http
  method: POST
  url: http://127.0.0.1:9/never-called
exclusions:
  calendar: company-shutdown
"""
ARCHETYPE = """name: nightly-export
description: An export that runs once the warehouse has written it.
requiredTraits:
  - type: export-landed
    description: The export is in place.
readinessRule:
  type: all-required-pass
"""
CALENDAR = f"name: company-shutdown\ndays: []\ndates: ['{SHUTDOWN}']\n"


@pytest.fixture
def own(tmp_path):
    """A directory outside the repository with pipelines/ and archetypes/ (and archetypes/calendars/)."""
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "warehouse-export.yaml").write_text(PIPELINE)
    (tmp_path / "archetypes" / "calendars").mkdir(parents=True)
    (tmp_path / "archetypes" / "nightly-export.yaml").write_text(ARCHETYPE)
    (tmp_path / "archetypes" / "calendars" / "company-shutdown.yaml").write_text(CALENDAR)
    return tmp_path


def entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]


def test_the_emulator_runs_pipelines_with_a_calendar_of_ones_own(own, monkeypatch):
    monkeypatch.chdir(own)
    with Emulator(pipelines_dir="pipelines", archetypes_dir="archetypes") as emu:
        assert emu.store.get_pipeline("warehouse-export")["archetype"] == "nightly-export"
        result = emu.wait_for_execution(emu.write_marker("warehouse-export", date=SHUTDOWN), timeout_s=90)
        assert result["status"] == "SUCCEEDED"
        assert entered(result) == ["PrepareRun", "IsRunDue", "Skipped"]
        exclusion = next(e for e in result["history"] if e["type"] == "TaskStateExited" and '"excluded date' in str(e))
        assert f"excluded date ({SHUTDOWN})" in exclusion["stateExitedEventDetails"]["output"]
        assert emu.run_log("warehouse-export", SHUTDOWN) is None
        # the shipped archetypes and calendars are still there beside one's own
        emu.register_pipeline(config("with-shipped-calendar", "batch-ingestion", "weekends"))
        with pytest.raises(PipelineConfigError, match="unknown calendar 'nobody-has-it'"):
            emu.register_pipeline(config("unknown-calendar", "nightly-export", "nobody-has-it"))


def config(name, archetype, calendar):
    trigger = {"type": "http", "method": "POST", "url": "http://127.0.0.1:9/x"}
    return {
        "name": name,
        "archetype": archetype,
        "traits": {},
        "trigger": trigger,
        "exclusions": {"calendar": calendar},
    }


def interlock(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "interlock_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_validate_checks_pipelines_against_archetypes_of_ones_own(own):
    without = interlock("validate", "pipelines", cwd=own)
    assert without.returncode == 1
    assert "unknown archetype 'nightly-export'" in without.stdout
    assert "unknown calendar 'company-shutdown'" in without.stdout
    result = interlock("validate", "pipelines", "--archetypes", "archetypes", cwd=own)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("valid: 1 pipelines, 4 archetypes, 3 calendars")


def test_a_problem_in_ones_own_archetype_names_that_file_and_line(own):
    archetype = own / "archetypes" / "nightly-export.yaml"
    archetype.write_text(ARCHETYPE.replace("all-required-pass", "most-pass"))
    result = interlock("validate", "pipelines", "--archetypes", "archetypes", cwd=own)
    assert result.returncode == 1
    assert "archetypes/nightly-export.yaml:7: readinessRule.type: unsupported readiness rule type" in result.stdout
    assert "interlock-archetypes-" not in result.stdout  # the merged copy is never named
    missing = interlock("validate", "pipelines", "--archetypes", "nowhere", cwd=own)
    assert missing.returncode == 1 and "nowhere: not a directory" in missing.stdout
