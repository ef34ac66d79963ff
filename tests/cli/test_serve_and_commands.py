"""`python -m emulator serve` in a subprocess, run from outside the repository with its own pipelines directory
and stack file (region eu-west-1), driven by the AWS CLI, an HTTP call and every `interlock` subcommand."""

import datetime
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import boto3
import pytest

from tests.state_machines import waiting_machine

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIPELINE = "sales-raw-ingest"


def _pythonpath():
    return os.pathsep.join(p for p in [REPO, os.environ.get("PYTHONPATH", "")] if p)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The server's exported environment (it runs until the module's tests are done)."""
    work = tmp_path_factory.mktemp("served")
    shutil.copytree(os.path.join(REPO, "pipelines"), work / "pipelines")
    (work / "Pulumi.local.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  interlock:projectName: interlock-local\n"
        "  interlock:pipelinesDir: pipelines\n"
        "  interlock:schedules:\n    - name: raw-nightly\n      pipeline: sales-raw-ingest\n"
        "      expression: cron(0 6 * * ? *)\n"
    )
    env = dict(os.environ, PYTHONPATH=_pythonpath(), PYTHONUNBUFFERED="1")
    stderr = open(work / "serve.err", "w+")  # noqa: SIM115 (open for the server's lifetime: nobody reads a pipe)
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--stack-file", "Pulumi.local.yaml", "--port", "0"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    exports = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            exports[name] = value
        if line.startswith("# serving"):
            break
    assert "INTERLOCK_TABLE" in exports, (
        (work / "serve.err").read_text() if process.poll() is not None else ("no exports")
    )
    # keep reading stdout so the server never blocks on a full pipe while the tests drive it
    drain = threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True)
    drain.start()
    yield {**exports, "_cwd": str(work)}
    process.terminate()
    assert process.wait(timeout=60) == 0  # SIGTERM stops it cleanly
    stderr.close()
    assert "stopping the emulator" in (work / "serve.err").read_text()


def _env(served, **overrides):
    env = dict(os.environ, PYTHONPATH=_pythonpath(), **{k: v for k, v in served.items() if not k.startswith("_")})
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(served, *argv, **overrides):
    return subprocess.run(
        [sys.executable, *argv],
        cwd=served["_cwd"],
        env=_env(served, **overrides),
        capture_output=True,
        text=True,
        timeout=120,
    )


def interlock(served, *args, **overrides):
    return _run(served, "-m", "interlock_cli", *args, **overrides)


def with_the_store(served, code: str):
    """Runs `code` in a separate process with `json` and the store module imported, against the served table."""
    script = f"import json, sys; sys.path.insert(0, {REPO!r}); from handlers.interlock import store; {code}"
    return _run(served, "-c", script, TABLE_NAME=served["INTERLOCK_TABLE"])


def aws(served, *args):
    result = _run(served, "-m", "awscli", *args, "--output", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def _wait_for_execution(served, prefix, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listed = aws(
            served, "stepfunctions", "list-executions", "--state-machine-arn", served["INTERLOCK_STATE_MACHINE_ARN"]
        )
        found = [e for e in listed["executions"] if e["name"].startswith(prefix)]
        if found and found[0]["status"] != "RUNNING":
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"no finished execution named {prefix}*")


def test_exports_honour_the_stack_files_region_and_names(served):
    assert served["AWS_DEFAULT_REGION"] == served["AWS_REGION"] == "eu-west-1"
    assert served["INTERLOCK_TABLE"] == "interlock-local"
    assert served["INTERLOCK_STATE_MACHINE_ARN"].startswith("arn:aws:states:eu-west-1:")
    assert served["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_the_aws_cli_puts_the_readmes_marker_and_reads_the_execution(served):
    item = {
        "PK": {"S": f"PIPELINE#{PIPELINE}"},
        "SK": {"S": "MARKER#replay#2026-11-20T00:00:00Z"},
        "scheduleID": {"S": "daily"},
        "date": {"S": "2026-11-20"},
        "source": {"S": "replay"},
        "replay": {"BOOL": True},
    }
    aws(served, "dynamodb", "put-item", "--table-name", served["INTERLOCK_TABLE"], "--item", json.dumps(item))
    execution = _wait_for_execution(served, f"{PIPELINE}_daily_2026-11-20_")
    described = aws(served, "stepfunctions", "describe-execution", "--execution-arn", execution["executionArn"])
    # the shipped pipeline's evaluators are not served here: its traits never pass and the run fails, named
    assert (described["status"], described["error"]) == ("FAILED", "Interlock.ValidationTimeout")
    assert json.loads(described["input"])["markerKey"] == "MARKER#replay#2026-11-20T00:00:00Z"


def test_a_schedule_fires_over_http(served):
    request = urllib.request.Request(
        served["AWS_ENDPOINT_URL"] + "/_interlock/schedules/raw-nightly/fire", data=b"", method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        arn = json.loads(response.read())["executionArn"]
    assert f":execution:interlock-local-pipeline:{PIPELINE}_daily_" in arn


def test_status_finds_the_stack_from_the_endpoint_alone(served):
    result = interlock(served, "status", INTERLOCK_TABLE=None, INTERLOCK_STATE_MACHINE_ARN=None)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split()[:3] == ["PIPELINE", "SCHEDULE", "PAUSED"] and rows[0].rstrip().endswith("NEXT MARKER")
    now = datetime.datetime.now(datetime.UTC)
    next_six = now.replace(hour=6, minute=0, second=0, microsecond=0)
    next_six += datetime.timedelta(days=1) if next_six <= now else datetime.timedelta()
    assert any(r.startswith(PIPELINE) and f"{next_six:%Y-%m-%d} 06:00 UTC (cron(0 6 * * ? *) UTC)" in r for r in rows)
    document = json.loads(interlock(served, "status", "--json").stdout)
    assert {row["pipeline"] for row in document} == {"customer-features", "sales-daily-aggregate", PIPELINE}
    (marker,) = next(row for row in document if row["pipeline"] == PIPELINE)["scheduledMarkers"]
    assert marker["nextFireTime"] == f"{next_six:%Y-%m-%dT%H:%M:%SZ}"


def test_fire_starts_the_execution_the_schedules_marker_starts(served):
    result = interlock(served, "fire", "raw-nightly", "--json")
    assert result.returncode == 0, result.stderr
    fired = json.loads(result.stdout)
    assert fired["schedule"] == "raw-nightly"
    assert f":execution:interlock-local-pipeline:{PIPELINE}_daily_" in fired["executionArn"]
    text = interlock(served, "fire", "raw-nightly")
    assert text.returncode == 0 and text.stdout.startswith("raw-nightly: fired; execution arn:aws:states:eu-west-1:")
    unknown = interlock(served, "fire", "no-such-schedule")
    assert unknown.returncode == 1 and "no schedule named 'no-such-schedule'" in unknown.stderr
    on_aws = interlock(served, "fire", "raw-nightly", AWS_ENDPOINT_URL=None)
    assert on_aws.returncode == 2 and "fire works against a running `python -m emulator serve`" in on_aws.stderr


def test_replay_writes_one_unique_marker_per_date_and_dry_run_none(served):
    dry = interlock(
        served, "replay", "customer-features", "--date", "2026-03-01", "--to", "2026-03-03", "--dry-run", "--json"
    )
    assert dry.returncode == 0 and [m["markerKey"] for m in json.loads(dry.stdout)] == [None, None, None]
    result = interlock(served, "replay", "customer-features", "--date", "2026-03-01", "--to", "2026-03-03", "--json")
    markers = json.loads(result.stdout)
    assert [m["date"] for m in markers] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert len({m["markerKey"] for m in markers}) == 3 and all(
        m["markerKey"].startswith("MARKER#replay#") for m in markers
    )
    backwards = interlock(served, "replay", "customer-features", "--date", "2026-03-03", "--to", "2026-03-01")
    assert backwards.returncode == 1 and "--to 2026-03-01 is before --date 2026-03-03" in backwards.stderr


def test_a_paused_pipelines_marker_is_recorded_and_skipped_with_an_event(served):
    assert interlock(served, "pause", "sales-daily-aggregate", "--reason", "upstream outage").returncode == 0
    interlock(served, "replay", "sales-daily-aggregate", "--date", "2026-04-01")
    _wait_for_execution(served, "sales-daily-aggregate_daily_2026-04-01_")
    explained = json.loads(interlock(served, "explain", "sales-daily-aggregate", "2026-04-01", "--json").stdout)
    assert explained["paused"]["reason"] == "upstream outage"
    assert explained["runLog"] is None
    skipped = [e for e in explained["events"] if e["kind"] == "MARKER_SKIPPED_PAUSED"]
    assert skipped and skipped[0]["details"]["date"] == "2026-04-01"  # decoded, not JSON in a string
    assert explained["executions"][0]["status"] == "SUCCEEDED"
    text = interlock(served, "explain", "sales-daily-aggregate", "2026-04-01").stdout
    assert "PAUSED since" in text and "MARKER_SKIPPED_PAUSED" in text
    resumed = interlock(served, "resume", "sales-daily-aggregate")
    assert resumed.returncode == 0 and resumed.stdout.strip() == "sales-daily-aggregate: resumed"
    assert (
        interlock(served, "resume", "sales-daily-aggregate").stdout.strip() == "sales-daily-aggregate: was not paused"
    )


def test_runs_and_explain_show_the_run_log_decoded(served):
    result = interlock(served, "runs", PIPELINE, "--date", "2026-11-20", "--json")
    assert result.returncode == 0
    entries = json.loads(result.stdout)
    assert [e["date"] for e in entries] == ["2026-11-20"] and isinstance(entries[0]["retryHistory"], list)
    explained = interlock(served, "explain", PIPELINE, "2026-11-20")
    assert explained.returncode == 0
    assert "traits (latest results):" in explained.stdout and "executions:" in explained.stdout
    assert "emulated; no console" in explained.stdout


def test_unknown_pipelines_are_refused_with_exit_1(served):
    for command in (
        ["runs", "nope"],
        ["explain", "nope", "2026-01-01"],
        ["pause", "nope"],
        ["replay", "nope", "--date", "2026-01-01"],
    ):
        result = interlock(served, *command)
        assert result.returncode == 1, command
        assert "pipeline 'nope' is not registered in the table" in result.stderr


def test_unlock_refuses_while_the_owner_runs_unless_forced(served):
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=served["AWS_ENDPOINT_URL"],
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    waiting = waiting_machine(sfn, "holds-a-lock", seconds=120)
    sfn.start_execution(stateMachineArn=waiting, name="holder")
    held = with_the_store(served, "print(store.acquire_lock('customer-features', 'adhoc', 'holder', 600)[0])")
    assert held.stdout.strip() == "True", held.stderr
    refused = interlock(served, "unlock", "customer-features", "--schedule", "adhoc", "--state-machine-arn", waiting)
    assert refused.returncode == 1
    assert "held by execution holder, which is still RUNNING; use --force" in refused.stderr
    forced = interlock(
        served,
        "unlock",
        "customer-features",
        "--schedule",
        "adhoc",
        "--state-machine-arn",
        waiting,
        "--force",
    )
    assert forced.returncode == 0 and "released the lock of holder (execution RUNNING)" in forced.stdout
    assert (
        interlock(served, "unlock", "customer-features", "--schedule", "adhoc").stdout.strip()
        == "customer-features/adhoc: not locked"
    )
    recorded = with_the_store(
        served,
        "print(json.dumps([e for e in store.list_events('customer-features') "
        "if e['kind'] == 'LOCK_RELEASED_BY_OPERATOR']))",
    )
    released = json.loads(recorded.stdout)
    assert released and released[0]["details"] == {
        "scheduleID": "adhoc",
        "owner": "holder",
        "ownerStatus": "RUNNING",
        "forced": True,
    }


def test_alerts_lists_what_was_sent(served):
    result = interlock(served, "alerts", "--since", "24h")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(("TIME", "no alerts"))


def test_finding_no_stack_is_a_usage_error(served, tmp_path):
    bare = {k: None for k in served if not k.startswith("_")}
    result = interlock(served, "status", **bare)
    assert result.returncode == 2 and "no stack: pass --table" in result.stderr
    without_pulumi = interlock(served, "status", "--stack", "dev", PATH=os.path.dirname(sys.executable), **bare)
    assert without_pulumi.returncode == 2
    assert "needs the Pulumi CLI (Automation API), and `pulumi` is not on PATH" in without_pulumi.stderr
