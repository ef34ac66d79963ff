"""store.py against moto: keys, pagination, expiry on read, locks, compare-and-swap, run logs."""

from __future__ import annotations

import json
import threading

import pytest

from handlers.interlock import settings, store
from handlers.interlock.models import InvalidTransition


def advance(monkeypatch, seconds: float) -> None:
    now = store.clock()
    monkeypatch.setattr(store, "clock", lambda: now + seconds)


def test_pipeline_item_shape():
    item = store.pipeline_item({"name": "sales", "archetype": "batch-ingestion", "tier": 1})
    assert {k: item[k] for k in ("PK", "SK", "GSI1PK", "GSI1SK")} == {
        "PK": "PIPELINE#sales",
        "SK": "CONFIG",
        "GSI1PK": "PIPELINES",
        "GSI1SK": "sales",
    }
    assert json.loads(item["data"]) == {"name": "sales", "archetype": "batch-ingestion", "tier": 1}


def test_pipeline_roundtrip_and_delete(aws_env):
    config = {"name": "sales", "archetype": "batch-ingestion", "traits": {"x": {"config": {"n": 1}}}}
    store.put_pipeline(config)
    assert store.get_pipeline("sales") == config
    store.delete_pipeline("sales")
    assert store.get_pipeline("sales") is None


def test_list_pipelines_follows_pages(aws_env, monkeypatch):
    monkeypatch.setattr(store, "PAGE_SIZE", 2)
    calls = []
    real_query = store._ddb().query

    def counting_query(**kwargs):
        calls.append(kwargs.get("ExclusiveStartKey"))
        return real_query(**kwargs)

    monkeypatch.setattr(store._ddb(), "query", counting_query)
    for i in range(7):
        store.put_pipeline({"name": f"p{i}", "archetype": "a"})
    names = sorted(c["name"] for c in store.list_pipelines())
    assert names == [f"p{i}" for i in range(7)]
    assert len(calls) >= 4 and calls[0] is None and all(calls[1:])


def test_list_pipelines_past_one_megabyte(aws_env):
    padding = "x" * 350_000  # three items exceed moto's (and DynamoDB's) 1 MB page
    for i in range(4):
        store.put_pipeline({"name": f"big-{i}", "archetype": "a", "notes": padding})
    assert sorted(c["name"] for c in store.list_pipelines()) == [f"big-{i}" for i in range(4)]


def test_corrupt_pipeline_data_is_skipped(aws_env):
    store.put_pipeline({"name": "ok", "archetype": "a"})
    aws_env.put_raw_item(
        {"PK": "PIPELINE#bad", "SK": "CONFIG", "GSI1PK": "PIPELINES", "GSI1SK": "bad", "data": "{not json"}
    )
    assert [c["name"] for c in store.list_pipelines()] == ["ok"]
    assert store.get_pipeline("bad") is None


def test_trait_results_expire_on_read(aws_env, monkeypatch):
    store.put_trait_result("sales", "freshness", {"status": "PASS"}, ttl_seconds=60)
    store.put_trait_result("sales", "quality", {"status": "FAIL"}, ttl_seconds=0)  # READINESS_TTL: 1h
    assert store.get_trait_result("sales", "freshness")["status"] == "PASS"
    advance(monkeypatch, 61)
    assert store.get_trait_result("sales", "freshness") is None  # still in the table: moto never deletes
    assert [r["traitType"] for r in store.list_trait_results("sales")] == ["quality"]
    advance(monkeypatch, 3601)
    assert store.list_trait_results("sales") == []


def test_lock_lifecycle(aws_env, monkeypatch):
    assert store.acquire_lock("p", "daily", "one", 60) == (True, None)
    acquired, holder = store.acquire_lock("p", "daily", "two", 60)
    assert acquired is False and holder["owner"] == "one"
    assert store.release_lock("p", "daily", "two") is False
    assert store.get_lock("p", "daily")["owner"] == "one"
    advance(monkeypatch, 61)
    assert store.get_lock("p", "daily") is None  # expired reads as absent
    assert store.acquire_lock("p", "daily", "two", 60) == (True, None)
    assert store.release_lock("p", "daily", "one") is False
    assert store.release_lock("p", "daily", "two") is True
    assert store.release_lock("p", "daily", "two") is False


def test_a_lease_that_reads_as_expired_can_be_taken(aws_env, monkeypatch):
    """Reads and the acquire condition agree to the second: a lock that `get_lock` no longer shows (its whole
    expiry second has started) is free to take; one second earlier it is still held."""
    monkeypatch.setattr(store, "clock", lambda: 1_000_000.0)
    store.acquire_lock("p", "daily", "one", 60)  # expiresAt = 1_000_060
    monkeypatch.setattr(store, "clock", lambda: 1_000_059.5)
    assert store.acquire_lock("p", "daily", "two", 60)[0] is False
    monkeypatch.setattr(store, "clock", lambda: 1_000_060.5)
    assert store.get_lock("p", "daily") is None
    assert store.acquire_lock("p", "daily", "two", 60) == (True, None)
    assert store.claim_alert("p", "run-1", "X") is True
    monkeypatch.setattr(store, "clock", lambda: 1_000_060.5 + settings.get().retention_ttl_seconds)
    assert store.claim_alert("p", "run-1", "X") is True  # an expired claim reads as absent, so it can be renewed


def test_concurrent_lock_acquisition_has_one_winner(aws_env):
    store.acquire_lock("warm", "daily", "x", 1)  # create the client before the threads share it
    outcomes = []

    def contend(owner):
        outcomes.append(store.acquire_lock("p", "daily", owner, 60)[0])

    threads = [threading.Thread(target=contend, args=(f"owner-{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False] * 7 + [True]


def test_run_state_transitions_with_cas(aws_env):
    run = store.create_run("r1", "sales", schedule_id="daily", date="2026-11-28")
    assert (run["status"], run["version"]) == ("PENDING", 1)
    with pytest.raises(store.ConcurrentUpdate):
        store.create_run("r1", "sales", schedule_id="daily", date="2026-11-28")
    moved = store.transition_run("r1", "TRIGGERING", metadata={"a": 1})
    assert (moved["status"], moved["version"]) == ("TRIGGERING", 2)
    with pytest.raises(store.ConcurrentUpdate):
        store.transition_run("r1", "RUNNING", expected_version=1)
    with pytest.raises(InvalidTransition):
        store.transition_run("r1", "PENDING")
    final = store.transition_run("r1", "RUNNING", metadata={"b": 2}, expected_version=2)
    assert final["metadata"] == {"a": 1, "b": 2}
    assert store.get_run("r1")["version"] == 3
    with pytest.raises(store.RunNotFound):
        store.transition_run("nope", "RUNNING")


def test_cas_conflict_is_detected_by_the_table_condition(aws_env, monkeypatch):
    store.create_run("r1", "sales", schedule_id="daily", date="2026-11-28")
    stale = store.get_run("r1")
    store.transition_run("r1", "TRIGGERING")  # another writer wins
    monkeypatch.setattr(store, "get_run", lambda run_id: dict(stale))  # this writer still sees version 1
    with pytest.raises(store.ConcurrentUpdate):
        store.transition_run("r1", "CANCELLED")
    monkeypatch.undo()
    assert store.get_run("r1")["status"] == "TRIGGERING"


def test_run_list_is_newest_first(aws_env, monkeypatch):
    for i in range(3):
        advance(monkeypatch, i * 10)
        store.create_run(f"r{i}", "sales", schedule_id="daily", date="2026-11-28")
    store.transition_run("r0", "TRIGGERING")
    assert [r["runID"] for r in store.list_runs("sales")] == ["r2", "r1", "r0"]
    assert store.list_runs("sales")[2]["status"] == "TRIGGERING"


def test_run_log_key_and_case_insensitive_read(aws_env):
    store.put_run_log(
        {"pipelineID": "sales", "date": "2026-11-28", "scheduleID": "", "status": "FAILED", "attemptNumber": 1}
    )
    assert store.get_run_log("sales", "2026-11-28", "daily")["status"] == "FAILED"
    aws_env.put_raw_item(
        {
            "PK": "PIPELINE#sales",
            "SK": "RUNLOG#2026-11-27#h14",
            "data": json.dumps({"pipelineId": "sales", "scheduleId": "h14", "runId": "x", "STATUS": "COMPLETED"}),
        }
    )
    entry = store.get_run_log("sales", "2026-11-27", "h14")
    assert (entry["pipelineID"], entry["scheduleID"], entry["runID"], entry["status"]) == (
        "sales",
        "h14",
        "x",
        "COMPLETED",
    )
    assert [e["scheduleID"] for e in store.list_run_logs("sales")] == ["daily", "h14"]  # newest date first


def test_run_state_written_with_other_key_spellings_still_reads_and_moves(aws_env):
    aws_env.put_raw_item(
        {
            "PK": "RUN#old",
            "SK": "STATE",
            "version": 1,
            "status": "PENDING",
            "data": json.dumps(
                {
                    "runId": "old",
                    "pipelineId": "sales",
                    "scheduleId": "daily",
                    "date": "2026-11-28",
                    "status": "PENDING",
                    "createdAtKey": "2026-11-28T00:00:00.000000Z",
                }
            ),
        }
    )
    assert (store.get_run("old")["runID"], store.get_run("old")["pipelineID"]) == ("old", "sales")
    store.transition_run("old", "TRIGGERING")
    assert [(r["runID"], r["status"]) for r in store.list_runs("sales")] == [("old", "TRIGGERING")]


def test_numbers_round_trip_as_int_or_float(aws_env):
    values = {"count": 3, "ratio": 0.25, "whole": 2.0, "nested": {"n": [1, 1.5]}, "flag": True, "none": None}
    typed = store.typed_item(values)
    assert typed["ratio"] == {"N": "0.25"} and "none" not in typed
    plain = store.plain_item(typed)
    assert plain == {"count": 3, "ratio": 0.25, "whole": 2, "nested": {"n": [1, 1.5]}, "flag": True}
    assert type(plain["count"]) is int and type(plain["ratio"]) is float and type(plain["whole"]) is int
    store.write_marker("sales", schedule_id="daily", date="2026-11-28", source="manual")
    assert type(store.list_markers("sales")[0]["expiresAt"]) is int


def test_only_a_failed_condition_is_an_answer(aws_env, monkeypatch):
    from botocore.exceptions import ClientError

    def broken(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutItem")

    monkeypatch.setattr(store._ddb(), "put_item", broken)
    with pytest.raises(ClientError):
        store.claim_alert("sales", "r1", "SLA")


def test_events_are_chronological_and_expire(aws_env, monkeypatch):
    for i in range(3):
        store.append_event("sales", "TRAIT_EVALUATED", trait_type=f"t{i}", details={"i": i})
    assert [e["traitType"] for e in store.list_events("sales")] == ["t0", "t1", "t2"]
    assert [e["traitType"] for e in store.list_events("sales", limit=2)] == ["t1", "t2"]
    advance(monkeypatch, settings.get().retention_ttl_seconds + 1)
    assert store.list_events("sales") == []


def test_markers(aws_env):
    sk = store.write_marker(
        "sales",
        schedule_id="h14",
        date="2026-11-28",
        source="cas#cade",
        replay=True,
        attributes={"upstreamPipeline": "raw"},
    )
    assert sk.startswith("MARKER#cas-cade#")
    (marker,) = store.list_markers("sales")
    assert marker["SK"] == sk
    assert (marker["scheduleID"], marker["date"], marker["source"], marker["replay"], marker["upstreamPipeline"]) == (
        "h14",
        "2026-11-28",
        "cas-cade",
        True,
        "raw",
    )
    assert sk != store.write_marker("sales", schedule_id="h14", date="2026-11-28", source="cas#cade")


def test_alert_claims_once_per_key(aws_env, monkeypatch):
    assert store.claim_alert("sales", "r1", "SLA") is True
    assert store.claim_alert("sales", "r1", "SLA") is False
    assert store.claim_alert("sales", "r2", "SLA") is True
    advance(monkeypatch, settings.get().retention_ttl_seconds + 1)
    assert store.claim_alert("sales", "r1", "SLA") is True


def test_late_arrivals_and_reruns(aws_env):
    store.put_late_arrival("sales", date="2026-11-28", schedule_id="daily", trait_type="a")
    store.put_late_arrival("sales", date="2026-11-28", schedule_id="daily", trait_type="b")
    store.put_late_arrival("sales", date="2026-11-28", schedule_id="h14", trait_type="c")
    assert sorted(a["traitType"] for a in store.list_late_arrivals("sales", "2026-11-28")) == ["a", "b"]
    store.put_rerun("sales", {"rerunID": "rerun-1", "status": "PENDING"})
    assert store.list_reruns("sales") == [{"rerunID": "rerun-1", "status": "PENDING", "pipelineID": "sales"}]


def test_keys_of_markers_and_pipelines():
    assert store.pipeline_id_of(store.pipeline_pk("sales")) == "sales"
    assert store.pipeline_id_of("LOCK#sales#daily") is None
    assert store.marker_key_fields(store.marker_sk("cascade", "2026-11-28T00:00:00Z", "ab12")) == (
        "cascade",
        "2026-11-28T00:00:00Z",
    )
    assert store.marker_key_fields("MARKER#ext") == ("ext", "")
    assert store.marker_key_fields("TRAIT#freshness") is None


def test_scheduled_marker_item_is_what_scheduler_writes():
    assert store.scheduled_marker_item("sales", "sales-daily", schedule_id="", timezone="Europe/London") == {
        "PK": {"S": "PIPELINE#sales"},
        "SK": {"S": "MARKER#schedule#<aws.scheduler.scheduled-time>#sales-daily"},
        "scheduleID": {"S": "daily"},
        "date": {"S": "<aws.scheduler.scheduled-time>"},
        "timezone": {"S": "Europe/London"},
        "source": {"S": "schedule"},
    }


def test_missing_table_name_is_reported(monkeypatch):
    monkeypatch.delenv("TABLE_NAME", raising=False)
    settings.reset()
    with pytest.raises(RuntimeError, match="TABLE_NAME"):
        store.get_pipeline("x")
    settings.reset()


def test_the_run_log_ledger_survives_the_entry_and_closes_with_it(aws_env):
    claim = {"attempt": 1, "runID": "r1", "execution": "e1", "claimedAt": "t", "triggerType": "http"}
    assert store.claim_attempt("sales", "2026-11-28", "daily", claim) == (claim, True)
    assert store.get_run_log("sales", "2026-11-28") == {
        "pipelineID": "sales",
        "date": "2026-11-28",
        "scheduleID": "daily",
        "inFlight": claim,
    }
    assert store.claim_attempt("sales", "2026-11-28", "daily", dict(claim, execution="e2")) == (claim, False)
    assert store.claim_attempt("sales", "2026-11-28", "daily", dict(claim, runID="r2")) == (None, False)
    assert store.record_job("sales", "2026-11-28", "daily", "r1", {"id": "j1"})
    assert not store.record_job("sales", "2026-11-28", "daily", "r2", {"id": "j2"})
    assert store.count_rerun("sales", "2026-11-28", "daily", "e1", 1)
    assert not store.count_rerun("sales", "2026-11-28", "daily", "e2", 1)
    entry = {"pipelineID": "sales", "date": "2026-11-28", "scheduleID": "daily", "status": "FAILED"}
    store.put_run_log(entry)
    log = store.get_run_log("sales", "2026-11-28")
    assert (log["status"], log["inFlight"]["metadata"], log["rerunCount"], log["rerunExecution"]) == (
        "FAILED",
        {"id": "j1"},
        1,
        "e1",
    )
    store.put_run_log(dict(entry, status="COMPLETED"), close_claim=True)
    log = store.get_run_log("sales", "2026-11-28")
    assert log["status"] == "COMPLETED" and "inFlight" not in log and log["rerunCount"] == 1


def test_an_execution_end_is_recorded_over_a_claim_only_item_keeping_the_claim(aws_env):
    claim = {"attempt": 1, "runID": "r1", "execution": "e1"}
    store.claim_attempt("sales", "2026-11-28", "daily", claim)
    seen = []
    written = store.record_execution_end(
        "sales",
        "2026-11-28",
        "daily",
        lambda current: (
            seen.append(current)
            or {**current, "pipelineID": "sales", "date": "2026-11-28", "scheduleID": "daily", "status": "FAILED"}
        ),
    )
    assert seen == [{"inFlight": claim}] and "inFlight" not in written
    log = store.get_run_log("sales", "2026-11-28")
    assert (log["status"], log["inFlight"]) == ("FAILED", claim)
