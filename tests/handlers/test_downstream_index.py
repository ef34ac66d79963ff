"""The downstream index: registering a config writes an edge under each upstream it names, a change or removal
takes the stale edges away, and notifyDownstream's requests do not grow with the number of pipelines."""

from __future__ import annotations

from collections import Counter

import boto3
import pytest

from handlers import orchestrator
from handlers.interlock import store

UPSTREAM_TRAIT = "upstream-dependency"


def config(name: str, *upstreams: str, schedule: str | None = None) -> dict:
    traits = {
        f"{UPSTREAM_TRAIT}-{i}": {
            "evaluator": "builtin:upstream-job-log",
            "config": {"upstreamPipeline": upstream, **({"upstreamSchedule": schedule} if schedule else {})},
        }
        for i, upstream in enumerate(upstreams)
    }
    return {
        "name": name,
        "archetype": "batch-ingestion",
        "trigger": {"type": "http", "url": "https://jobs.example.com/run"},
        **({"traits": traits} if traits else {}),
    }


def edges(table: str) -> set[tuple[str, str]]:
    """(upstream, downstream) of every edge item in the table."""
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]
    return {
        (item["PK"]["S"].removeprefix("PIPELINE#"), item["SK"]["S"].removeprefix("DOWNSTREAM#"))
        for item in items
        if item["SK"]["S"].startswith("DOWNSTREAM#")
    }


def notify(pipeline_id: str, schedule_id: str = "daily") -> list[str]:
    out = orchestrator.handler(
        {
            "action": "notifyDownstream",
            "pipelineID": pipeline_id,
            "scheduleID": schedule_id,
            "date": "2026-11-27",
            "payload": {"runID": "run-1"},
        },
        None,
    )
    assert out["result"] == "proceed", out
    return out["payload"]["notified"]


@pytest.fixture
def requests():
    """DynamoDB requests made through the store's client, by operation."""
    counted: Counter = Counter()

    def count(model, **_):
        counted[model.name] += 1

    store._ddb().meta.events.register("before-call.dynamodb", count)
    yield counted
    store._ddb().meta.events.unregister("before-call.dynamodb", count)


def test_pipeline_items_are_the_config_and_one_edge_per_upstream():
    items = store.pipeline_items(config("pipe-b", "pipe-a", "pipe-c", "pipe-a", "pipe-b"))
    assert items[0] == store.pipeline_item(config("pipe-b", "pipe-a", "pipe-c", "pipe-a", "pipe-b"))
    assert [(i["PK"], i["SK"]) for i in items[1:]] == [
        ("PIPELINE#pipe-a", "DOWNSTREAM#pipe-b"),
        ("PIPELINE#pipe-c", "DOWNSTREAM#pipe-b"),
    ]


@pytest.mark.parametrize(
    "traits",
    [
        None,
        [],
        "x",
        {"t": None},
        {"t": {"config": "x"}},
        {"t": {"config": {"upstreamPipeline": ""}}},
        {"t": {"config": {"upstreamPipeline": ["pipe-a"]}}},
        {"t": {"config": {"upstreamPipeline": "pipe-b"}}},
    ],
)
def test_a_config_of_any_shape_names_no_upstream_unless_a_trait_names_one(traits):
    assert store.upstreams_of({"name": "pipe-b", "traits": traits}) == set()
    assert store.upstreams_of(None) == store.upstreams_of([1]) == set()


def test_registering_a_downstream_makes_the_upstream_cascade_reach_it(aws_env):
    store.put_pipeline(config("pipe-a"))
    store.put_pipeline(config("pipe-b", "pipe-a"))
    assert edges(aws_env.table_name) == {("pipe-a", "pipe-b")}
    assert [c["name"] for c in store.downstream_configs("pipe-a")] == ["pipe-b"]
    assert notify("pipe-a") == ["pipe-b/daily"]
    assert store.list_markers("pipe-b")[0]["upstreamPipeline"] == "pipe-a"


def test_changing_the_upstream_moves_the_edge(aws_env):
    store.put_pipeline(config("pipe-b", "pipe-a"))
    store.put_pipeline(config("pipe-b", "pipe-c"))
    assert edges(aws_env.table_name) == {("pipe-c", "pipe-b")}
    assert notify("pipe-a") == [] and notify("pipe-c") == ["pipe-b/daily"]
    store.put_pipeline(config("pipe-b"))
    assert edges(aws_env.table_name) == set() and notify("pipe-c") == []


def test_removing_a_pipeline_removes_its_edges(aws_env):
    store.put_pipeline(config("pipe-b", "pipe-a", "pipe-c"))
    store.put_pipeline(config("pipe-d", "pipe-a"))
    store.delete_pipeline("pipe-b")
    assert store.get_pipeline("pipe-b") is None
    assert edges(aws_env.table_name) == {("pipe-a", "pipe-d")}
    assert notify("pipe-a") == ["pipe-d/daily"] and notify("pipe-c") == []


def test_a_stale_edge_never_cascades_to_a_pipeline_that_no_longer_names_the_upstream(aws_env):
    store.put_pipeline(config("pipe-b", "pipe-a", schedule="hourly"))
    store.put_pipeline(config("pipe-c"))
    # edges left by another writer: pipe-c names no upstream, pipe-gone has no config
    for downstream in ("pipe-c", "pipe-gone"):
        aws_env.put_raw_item(store.downstream_item("pipe-a", downstream))
    assert notify("pipe-a") == [] and notify("pipe-a", "hourly") == ["pipe-b/hourly"]
    assert store.list_markers("pipe-c") == [] and store.list_markers("pipe-gone") == []


@pytest.mark.parametrize("unrelated", [3, 150])
def test_notify_downstream_requests_do_not_grow_with_the_pipelines(aws_env, requests, monkeypatch, unrelated):
    monkeypatch.setattr(store, "PAGE_SIZE", 10)  # listing 150 pipelines would take 16 pages
    store.put_pipeline(config("pipe-a"))
    for name in ("pipe-b", "pipe-c"):
        store.put_pipeline(config(name, "pipe-a"))
    for n in range(unrelated):
        store.put_pipeline(config(f"other-{n:03d}", "pipe-z"))
    requests.clear()
    assert notify("pipe-a") == ["pipe-b/daily", "pipe-c/daily"]
    # one Query for the edges, one BatchGetItem for the configs, a marker and an event per downstream
    assert requests == {"Query": 1, "BatchGetItem": 1, "PutItem": 4}


def test_an_upstream_without_downstreams_costs_one_query(aws_env, requests):
    store.put_pipeline(config("pipe-a"))
    store.put_pipeline(config("pipe-b", "pipe-z"))
    requests.clear()
    assert notify("pipe-a") == []
    assert requests == {"Query": 1}


def test_a_registration_failing_midway_leaves_every_cascade_right(aws_env, monkeypatch):
    store.put_pipeline(config("pipe-b", "pipe-a"))

    def unavailable(_item):
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(store, "_put", unavailable)  # the new edge is written, the config is not
    with pytest.raises(RuntimeError):
        store.put_pipeline(config("pipe-b", "pipe-c"))
    monkeypatch.undo()
    assert edges(aws_env.table_name) == {("pipe-a", "pipe-b"), ("pipe-c", "pipe-b")}
    assert notify("pipe-a") == ["pipe-b/daily"] and notify("pipe-c") == []
