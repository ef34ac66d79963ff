"""Hostile stored items and requests: one invalid pipeline item (written by hand or another tool) never breaks
another pipeline's cascade, resolving it answers `error`, and malformed request values are request errors."""

from __future__ import annotations

import json
import math

import boto3
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from handlers import orchestrator
from handlers.interlock import store

DATE = "2026-11-27"
GOOD = {
    "name": "pipe-a",
    "archetype": "batch-ingestion",
    "trigger": {"type": "http", "url": "https://jobs.example.com/run"},
}
DOWNSTREAM = dict(
    GOOD,
    name="pipe-b",
    traits={"upstream-dependency": {"evaluator": "builtin:upstream-job-log", "config": {"upstreamPipeline": "pipe-a"}}},
)


def put_raw(table: str, name: str, data: str) -> None:
    """A pipeline item whose `data` is exactly `data`, bypassing every check (as another tool could write it), with
    a downstream-index edge under pipe-a whatever `data` says, so pipe-a's cascade reads it."""
    item = dict(store.pipeline_item({"name": name}), data=data)
    for written in (item, store.downstream_item("pipe-a", name)):
        boto3.client("dynamodb").put_item(TableName=table, Item=store.typed_item(written))


def orch(action: str, pipeline_id: str, payload: dict | None = None, date: str = DATE) -> dict:
    return orchestrator.handler(
        {"action": action, "pipelineID": pipeline_id, "scheduleID": "daily", "date": date, "payload": payload or {}},
        None,
    )


INVALID = {
    "wrong-types": json.dumps(
        dict(DOWNSTREAM, name="wrong-types", trigger={"type": ["http"]}, retry={"retryableFailures": [[1]]}, tier="x")
    ),
    "nan": json.dumps(dict(DOWNSTREAM, name="nan", retry={"backoffMultiplier": math.nan})),
    "huge": json.dumps(
        dict(
            DOWNSTREAM,
            name="huge",
            sla={"completionDeadline": "100000000h"},
            watch={"monitoring": {"enabled": True, "duration": "100000000h"}},
        )
    ),
    "deep": '{"name": "deep", "archetype": "batch-ingestion", "traits": ' + "[" * 50000 + "]" * 50000 + "}",
    "not-json": "{name: not-json",
    "a-list": "[1, 2]",
    "unknown-builtin": json.dumps(
        dict(
            DOWNSTREAM,
            name="unknown-builtin",
            traits={
                "upstream-dependency": {
                    "evaluator": "builtin:upstream-job-logs",
                    "config": {"upstreamPipeline": "pipe-a"},
                }
            },
        )
    ),
    "newline-name": json.dumps(dict(DOWNSTREAM, name="newline-name\n")),
}


def test_invalid_items_are_skipped_by_the_cascade_and_resolve_to_error(aws_env, captured_logs):
    store.put_pipeline(GOOD)
    store.put_pipeline(DOWNSTREAM)
    for name, data in INVALID.items():
        put_raw(aws_env.table_name, name, data)
    out = orch("notifyDownstream", "pipe-a", {"runID": "run-1"})
    assert out["result"] == "proceed" and out["payload"]["notified"] == ["pipe-b/daily"]
    assert "skipping invalid stored pipeline" in captured_logs.getvalue()
    for name in INVALID:
        resolved = orch("resolvePipeline", name)
        assert resolved["result"] == "error", (name, resolved)
        assert resolved["payload"]["error"]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.sampled_from(
                    [
                        "name",
                        "archetype",
                        "traits",
                        "trigger",
                        "retry",
                        "sla",
                        "watch",
                        "schedules",
                        "exclusions",
                        "tier",
                        "type",
                        "config",
                        "upstreamPipeline",
                        "evaluator",
                    ]
                ),
                inner,
                max_size=4,
            ),
        ),
        max_leaves=10,
    )
)
def test_any_stored_item_leaves_the_cascade_working(aws_env, data):
    store.put_pipeline(GOOD)
    store.put_pipeline(DOWNSTREAM)
    put_raw(aws_env.table_name, "generated", json.dumps(data))
    assert orch("notifyDownstream", "pipe-a")["payload"]["notified"] == ["pipe-b/daily"]
    assert orch("resolvePipeline", "generated")["result"] in ("error", "proceed")


@pytest.mark.parametrize(
    "date",
    [
        "0001-01-01",
        "9999-12-31",
        "1969-12-31",
        "3000-01-01",
        "2026-02-30",
        "2026-11-27\n",
        "\uff12\uff10\uff12\uff16-11-27",
    ],
)
@pytest.mark.parametrize(
    "action",
    ["checkEvaluationSLA", "checkCompletionSLA", "checkValidationTimeout", "resolvePipeline", "checkExclusion"],
)
def test_out_of_range_dates_are_request_errors(aws_env, action, date):
    store.put_pipeline(
        dict(GOOD, sla={"evaluationDeadline": "+8h", "completionDeadline": "744h", "validationTimeout": "+1h"})
    )
    out = orch(action, "pipe-a", {"executionStartedAt": "2026-11-27T00:00:00Z"}, date=date)
    assert out["result"] == "error" and "date" in out["payload"]["error"]


def test_a_string_drifted_is_a_request_error_and_writes_nothing(aws_env):
    store.put_pipeline(GOOD)
    out = orch("handleLateArrival", "pipe-a", {"runID": "r1", "drifted": "source-freshness"})
    assert out["result"] == "error" and "payload.drifted must be a list" in out["payload"]["error"]
    assert store.list_late_arrivals("pipe-a", DATE) == []
