"""`interlock validate`: exit codes for CI, and problems named by file, field and YAML line."""

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def interlock(*args, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "interlock_cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def pipelines(tmp_path):
    target = tmp_path / "pipelines"
    shutil.copytree(os.path.join(REPO, "pipelines"), target)
    return target


def test_the_shipped_pipelines_and_stack_files_are_valid():
    for stack_file in ("Pulumi.dev.yaml", "Pulumi.team-a-dev.yaml"):
        result = interlock("validate", "--stack-file", stack_file)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("valid: 3 pipelines, 3 archetypes")


def test_a_pipeline_problem_names_file_field_and_line(pipelines):
    path = pipelines / "sales-raw-ingest.yaml"
    text = path.read_text()
    path.write_text(text.replace("archetype: batch-ingestion", "archetype: no-such-archetype"))
    line = next(n for n, row in enumerate(path.read_text().splitlines(), 1) if row.startswith("archetype:"))
    result = interlock("validate", str(pipelines))
    assert result.returncode == 1
    assert f"{path}:{line}: archetype: unknown archetype 'no-such-archetype'" in result.stdout
    assert "invalid: 1 problem(s)" in result.stdout


def test_cross_checks_upstream_pipelines_and_schedules(pipelines, tmp_path):
    (pipelines / "sales-raw-ingest.yaml").unlink()  # customer-features names it as its upstream
    stack_file = tmp_path / "Pulumi.ci.yaml"
    stack_file.write_text(
        "config:\n  interlock:projectName: interlock-ci\n  interlock:schedules:\n"
        "    - name: nightly\n      pipeline: sales-raw-ingest\n      expression: cron(0 6 * * ? *)\n"
    )
    result = interlock("validate", str(pipelines), "--stack-file", str(stack_file), "--json")
    assert result.returncode == 1
    import json

    problems = json.loads(result.stdout)["problems"]
    upstream = [p for p in problems if p["field"].endswith("upstreamPipeline")]
    assert upstream and all("'sales-raw-ingest' is not in the pipelines directory" in p["message"] for p in upstream)
    assert {
        "file": str(stack_file),
        "line": 5,
        "field": "interlock:schedules[0].pipeline",
        "message": "names pipeline 'sales-raw-ingest', which is not in the pipelines directory",
    } in problems


def test_stack_file_problems_come_from_the_programs_settings_loader(tmp_path):
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text(
        "config:\n  interlock:projectName: x\n  interlock:pollInterval: soon\n  interlock:noSuchKey: 1\n"
    )
    result = interlock("validate", "--stack-file", str(stack_file))
    assert result.returncode == 1
    assert f"{stack_file}:2: interlock:projectName: 'x' is not allowed" in result.stdout
    assert f"{stack_file}:3: interlock:pollInterval: 'soon' is not a duration" in result.stdout
    assert f"{stack_file}:4: interlock:noSuchKey: unknown key" in result.stdout


def test_a_hostile_stack_file_is_refused_by_the_hardened_reader(tmp_path):
    stack_file = tmp_path / "Pulumi.bomb.yaml"
    laughs = "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 6))
    stack_file.write_text(laughs + "config: {interlock:projectName: team-a}\n")
    result = interlock("validate", "--stack-file", str(stack_file))
    assert result.returncode == 1
    assert f"{stack_file}:" in result.stdout and "aliases" in result.stdout, result.stdout


def test_usage_errors_exit_2(tmp_path):
    assert interlock("validate", "--no-such-flag").returncode == 2
    result = interlock("runs")
    assert result.returncode == 2 and "the following arguments are required: pipeline" in result.stderr
    assert interlock("explain", "p", "not-a-date").returncode == 2
    missing = interlock("validate", str(tmp_path / "absent"))
    assert missing.returncode == 1 and "absent: not a directory" in missing.stdout
