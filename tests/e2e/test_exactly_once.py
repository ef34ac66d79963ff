"""A run is exactly-once and never silently lost, whatever fails outside the happy path (DESIGN §10.0, the run log
ledger): faults injected into whole lifecycles on the emulator, then the invariants checked.

Job starts are counted on the emulator's Airflow-style job endpoint (every POST of a DAG run is a start).
"""

import datetime
import http.server
import itertools
import json
import pathlib
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from emulator import Emulator

TODAY = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
STACK = {"evaluationWindow": "4s", "maxPollAttempts": 3, "monitoringInterval": "1s"}
README = __file__.rsplit("/tests/", 1)[0] + "/README.md"
STEP_FUNCTIONS_PAYLOAD_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def emu():
    with Emulator(STACK) as emulator:
        yield emulator
        assert emulator.unauthorized_calls() == []


@pytest.fixture(autouse=True)
def no_faults_left(emu):
    yield
    emu.faults.clear()


def register(emu, pid, trigger, evaluators=None, **extra):
    evaluators = evaluators or {}
    traits = {t: {"evaluator": emu.http.evaluator(f"/{pid}/{t}", **evaluators.get(t, {}))} for t in TRAITS}
    emu.register_pipeline({"name": pid, "archetype": "batch-ingestion", "traits": traits, "trigger": trigger, **extra})


def run(emu, pid, **marker):
    return emu.wait_for_execution(emu.write_marker(pid, date=TODAY, **marker), timeout_s=90)


def entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]


def settle(emu, pid):
    """Wait until every execution of the pipeline, reruns included, has ended; their results, oldest first."""
    results = []
    while True:
        emu.wait_for_streams()
        executions = list(reversed(emu.executions(pid)))
        if len(executions) == len(results):
            break
        results = [emu.wait_for_execution(e["executionArn"], 90) for e in executions]
    assert emu.lock(pid) is None, f"lock of {pid} left held: {emu.lock(pid)}"
    return results


def alert_types(emu, pid):
    return sorted(a["alertType"] for a in emu.alerts(pid))


def starts(emu, job):
    """The DAG run IDs of every start request the job endpoint received."""
    return [
        r["body"]["dag_run_id"]
        for r in emu.http.requests()
        if r["method"] == "POST" and r["path"] == f"/jobs/{job.name}/api/v1/dags/{job.name}/dagRuns"
    ]


def run_log_write(pid, status):
    """Matches the orchestrator's write of a run log entry with `status` for pipeline `pid`."""

    def matching(params):
        return (
            params["Key"]["PK"]["S"] == f"PIPELINE#{pid}"
            and params["Key"]["SK"]["S"].startswith("RUNLOG#")
            and json.loads(params["ExpressionAttributeValues"][":data"]["S"])["status"] == status
        )

    return matching


def test_a_write_failing_after_the_job_started_never_starts_it_again(emu):
    job = emu.http.job("x-write", ["running", "succeeded"])
    register(emu, "x-write", job.trigger)
    emu.faults.fail(
        "dynamodb",
        "UpdateItem",
        function="orchestrator",
        code="ProvisionedThroughputExceededException",
        matching=run_log_write("x-write", "COMPLETED"),
    )
    first = run(emu, "x-write")
    assert (first["status"], first["error"]) == ("FAILED", "Interlock.LifecycleFailed")
    assert entered(first)[-4:] == ["AlertError", "LogExecutionError", "ReleaseLockAfterError", "Failed"]
    log = emu.run_log("x-write", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "TRANSIENT")
    assert log["inFlight"]["metadata"]["airflow_dag_run_id"]  # the job's identity, kept for the next execution
    assert alert_types(emu, "x-write") == ["EXECUTION_ERROR"]

    second = run(emu, "x-write")
    assert second["status"] == "SUCCEEDED"
    assert second["output"]["prepare"]["result"] == "adopt" and "CheckEvaluation" not in entered(second)
    assert len(job.runs) == 1 and len(set(starts(emu, job))) == 1
    log = emu.run_log("x-write", TODAY)
    assert log["status"] == "COMPLETED" and "inFlight" not in log
    settle(emu, "x-write")


def test_a_run_checker_raising_on_every_call_starts_the_job_at_most_max_attempts_times(emu):
    job = emu.http.job("x-checker", ["running"])
    register(emu, "x-checker", job.trigger, retry={"maxAttempts": 2, "backoffSeconds": 1})
    emu.faults.raise_in(
        "run-checker",
        times=None,
        error="Sandbox.Timedout",
        matching=lambda event: event.get("pipelineID") == "x-checker",
    )
    results = [run(emu, "x-checker") for _ in range(3)]
    assert [r["status"] for r in results] == ["FAILED", "FAILED", "SUCCEEDED"]  # the third: attempts exhausted
    assert len(job.runs) <= 2 and len(job.runs) == 1
    log = emu.run_log("x-checker", TODAY)
    assert (log["status"], log["attemptNumber"]) == ("FAILED", 2)
    assert alert_types(emu, "x-checker") == ["EXECUTION_ERROR", "EXECUTION_ERROR", "RUN_FAILED"]
    settle(emu, "x-checker")


def times_out_after_its_work(emu, action, pid):
    """The orchestrator's next `action` call for `pid` does its work, then times out (one of the merged calls)."""

    def about_pid(event):
        identity = event["payload"]["input"] if action == "prepareRun" else event
        return event.get("action") == action and identity.get("pipelineID") == pid

    return emu.faults.raise_in("orchestrator", error="Sandbox.Timedout", after=True, matching=about_pid)


def run_timing_out_after_its_work(emu, action, pid):
    """A run of `pid` (its job succeeds) whose `action` call times out after its work: the execution fails as a
    lifecycle failure. Returns the job and the execution's result."""
    job = emu.http.job(pid, ["succeeded"])
    register(emu, pid, job.trigger)
    times_out_after_its_work(emu, action, pid)
    result = run(emu, pid)
    assert (result["status"], result["error"]) == ("FAILED", "Interlock.LifecycleFailed")
    return job, result


def test_prepare_timing_out_after_taking_the_lock_still_logs_and_releases_it(emu):
    job, result = run_timing_out_after_its_work(emu, "prepareRun", "x-prepare")
    assert entered(result)[:3] == ["PrepareRun", "FillDefaultsAfterError", "BuildErrorAlert"]
    assert emu.lock("x-prepare") is None and job.runs == []
    log = emu.run_log("x-prepare", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "TRANSIENT")  # it held the lock: logged
    assert alert_types(emu, "x-prepare") == ["EXECUTION_ERROR"]
    settle(emu, "x-prepare")


def test_a_completion_timing_out_after_its_work_leaves_the_date_completed_and_the_lock_free(emu):
    job, _result = run_timing_out_after_its_work(emu, "completeRun", "x-complete")
    assert emu.lock("x-complete") is None
    assert emu.run_log("x-complete", TODAY)["status"] == "COMPLETED"  # the error path never rewrites a success
    again = run(emu, "x-complete")
    assert again["status"] == "SUCCEEDED" and again["output"]["checkRunLog"]["payload"]["reason"] == "already completed"
    assert len(job.runs) == 1
    settle(emu, "x-complete")


class _HugeAirflow(http.server.BaseHTTPRequestHandler):
    """An Airflow-style API whose DAG run state is a 300 KB string."""

    def _answer(self, body):
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer({"dag_run_id": "accepted", "state": "queued"})

    def do_GET(self):
        self._answer({"dag_run_id": "accepted", "state": "s" * 300_000})

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def huge_airflow():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HugeAirflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_300_kb_job_state_is_a_clean_permanent_failure(emu, huge_airflow):
    register(emu, "x-huge", {"type": "airflow", "url": huge_airflow, "dagID": "huge"})
    result = run(emu, "x-huge")
    assert (result["status"], result["error"]) == ("FAILED", "Interlock.RunFailed")
    assert max(len(json.dumps(e, default=str)) for e in result["history"]) < STEP_FUNCTIONS_PAYLOAD_LIMIT
    log = emu.run_log("x-huge", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "PERMANENT")
    assert len(log["failureMessage"]) <= 1000
    assert alert_types(emu, "x-huge") == ["RUN_FAILED"]
    settle(emu, "x-huge")


def test_the_readme_replay_example_run_twice_runs_twice(emu):
    text = pathlib.Path(README).read_text(encoding="utf-8")
    command = re.search(r"aws dynamodb put-item --table-name <table> --item '(.*?)'", text, re.S).group(1)
    item = json.loads(command.replace("sales-raw-ingest", "x-readme").replace("2026-11-20", TODAY))
    job = emu.http.job("x-readme", ["succeeded"])
    register(emu, "x-readme", job.trigger)
    dynamodb = emu.client("dynamodb")
    for attempt in (1, 2):
        if attempt == 2:
            dynamodb.delete_item(TableName=emu.table_name, Key={"PK": item["PK"], "SK": item["SK"]})
        dynamodb.put_item(TableName=emu.table_name, Item=item)
        emu.wait_for_streams()
        results = settle(emu, "x-readme")
        assert [r["status"] for r in results] == ["SUCCEEDED"] * attempt
    assert len(job.runs) == 2
    log = emu.run_log("x-readme", TODAY)
    assert (log["status"], log["attemptNumber"], log["rerunCount"]) == ("COMPLETED", 2, 1)


def test_a_flapping_trait_reruns_a_bounded_number_of_times(emu):
    job = emu.http.job("x-flap", ["succeeded"])
    register(
        emu,
        "x-flap",
        job.trigger,
        evaluators={"source-freshness": {"sequence": ["PASS", "FAIL"] * 10}},
        watch={"monitoring": {"enabled": True, "duration": "30s"}},
        retry={"maxReruns": 1},
    )
    run(emu, "x-flap")
    results = settle(emu, "x-flap")
    assert [r["status"] for r in results] == ["SUCCEEDED"] * 3  # the run, one rerun, the refused second rerun
    assert [r["output"]["checkRunLog"]["payload"].get("reason") for r in results] == [None, None, "rerun limit reached"]
    assert len(job.runs) == 2
    assert alert_types(emu, "x-flap") == ["RERUN_LIMIT_REACHED", "TRAIT_DRIFT", "TRAIT_DRIFT"]
    assert emu.run_log("x-flap", TODAY)["rerunCount"] == 1


# -- random fault schedules -------------------------------------------------------------------------------------------
FAULTS = {
    "none": lambda emu, pid: None,
    "run log write fails once": lambda emu, pid: emu.faults.fail(
        "dynamodb",
        "UpdateItem",
        function="orchestrator",
        code="ProvisionedThroughputExceededException",
        matching=lambda p: p["Key"]["PK"]["S"] == f"PIPELINE#{pid}" and p["Key"]["SK"]["S"].startswith("RUNLOG#"),
    ),
    "trigger times out after starting the job": lambda emu, pid: emu.faults.raise_in(
        "trigger", error="Sandbox.Timedout", after=True, matching=lambda e: e.get("pipelineID") == pid
    ),
    "run-checker crashes once": lambda emu, pid: emu.faults.raise_in(
        "run-checker", error="RuntimeError", matching=lambda e: e.get("pipelineID") == pid
    ),
    "run-checker always crashes": lambda emu, pid: emu.faults.raise_in(
        "run-checker", times=None, error="RuntimeError", matching=lambda e: e.get("pipelineID") == pid
    ),
    "an evaluator crashes": lambda emu, pid: emu.faults.raise_in(
        "evaluator", error="Sandbox.Timedout", matching=lambda e: e.get("pipelineID") == pid
    ),
    # the merged lifecycle calls timing out after their work (the lock taken, the completion logged and released)
    "prepareRun times out after taking the lock": lambda emu, pid: times_out_after_its_work(emu, "prepareRun", pid),
    "completeRun times out after its work": lambda emu, pid: times_out_after_its_work(emu, "completeRun", pid),
}
_pipelines = itertools.count()


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    schedule=st.lists(st.sampled_from(sorted(FAULTS)), min_size=1, max_size=2),
    job_ends=st.sampled_from(["succeeded", "failed"]),
)
def test_invariants_hold_under_random_fault_schedules(emu, schedule, job_ends):
    pid = f"x-prop-{next(_pipelines)}"
    job = emu.http.job(pid, ["running", job_ends])
    register(emu, pid, job.trigger, retry={"maxAttempts": 2, "backoffSeconds": 1})
    for fault in schedule:
        FAULTS[fault](emu, pid)
        result = run(emu, pid)
        emu.faults.clear()
        settle(emu, pid)  # no lock held by a finished execution
        log = emu.run_log(pid, TODAY)
        attempted = {"CheckEvaluation", "TriggerPipeline"} & set(entered(result))  # the run-log gate let it through
        assert not attempted or (log is not None and log.get("status")), f"{fault}: the attempted date has no run log"
        if log and log.get("status"):
            assert len(job.runs) <= max(log["attemptNumber"], 1), f"{fault}: a second start for one attempt"
        assert len(starts(emu, job)) == len(set(starts(emu, job))), "a run ID was started twice"
        failed = result["status"] == "FAILED" or (log or {}).get("status") == "FAILED"
        assert not failed or emu.alerts(pid), f"{fault}: a failure without an alert"
    assert len(job.runs) <= 2
