"""Pipelines as code: each pipeline file becomes a TableItem; a bad file fails the program naming file and field."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from boto3.dynamodb.types import TypeDeserializer

from components.pipeline_registry import PipelineConfigurationError, dynamodb_json
from components.stack_settings import PROJECT_ROOT
from handlers.interlock import pipelines, store
from tests.infra.conftest import REQUIRED
from tests.infra.harness import run_program_full

SHIPPED = os.path.join(PROJECT_ROOT, "pipelines")


def plain(item_json: str) -> dict:
    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in json.loads(item_json).items()}


def test_every_shipped_pipeline_is_written_as_the_store_items(default_run):
    expected = {}
    for config in pipelines.load_pipeline_dir(SHIPPED, os.path.join(PROJECT_ROOT, "archetypes")):
        for item in store.pipeline_items(config.to_dict()):
            expected[(item["PK"], item["SK"])] = item
    items = default_run.of_type("aws:dynamodb/tableItem:TableItem")
    assert len(items) == len(expected) >= 1
    for resource in items:
        assert resource.inputs["tableName"] == "team-a"
        assert (resource.inputs["hashKey"], resource.inputs["rangeKey"]) == ("PK", "SK")
        item = plain(resource.inputs["item"])
        assert item == expected[(item["PK"], item["SK"])]


def test_dynamodb_json_keeps_numbers_exact_and_is_stable():
    text = dynamodb_json({"PK": "P", "n": 1.1, "nested": {"b": [1, "x", True]}, "a": None})
    assert json.loads(text)["n"] == {"N": "1.1"}
    assert json.loads(text)["nested"] == {"M": {"b": {"L": [{"N": "1"}, {"S": "x"}, {"BOOL": True}]}}}
    assert text == dynamodb_json({"a": None, "nested": {"b": [1, "x", True]}, "n": 1.1, "PK": "P"})


def test_a_bad_pipeline_fails_the_program_naming_file_and_field(pipelines_dir):
    relative, path = pipelines_dir
    shutil.copy(os.path.join(SHIPPED, sorted(os.listdir(SHIPPED))[0]), path)
    with open(os.path.join(path, "broken.yaml"), "w", encoding="utf-8") as handle:
        handle.write("name: broken\narchetype: no-such-archetype\ntraits: {}\n")
    with pytest.raises(PipelineConfigurationError) as caught:
        run_program_full({**REQUIRED, "pipelinesDir": relative})
    message = str(caught.value)
    assert os.path.join(path, "broken.yaml") in message and "archetype" in message
    assert sorted(os.listdir(SHIPPED))[0] not in message


def test_an_empty_or_missing_dir_registers_nothing(pipelines_dir):
    relative, _path = pipelines_dir
    run = run_program_full({**REQUIRED, "pipelinesDir": relative})
    assert not run.of_type("aws:dynamodb/tableItem:TableItem")
    run = run_program_full({**REQUIRED, "pipelinesDir": relative + "-absent"})
    assert not run.of_type("aws:dynamodb/tableItem:TableItem")


def registered_keys(pipelines_dir, files: dict[str, str]) -> set[tuple[str, str]]:
    """The (PK, SK) of every TableItem the program declares for these pipeline files, as the mocks created them."""
    relative, path = pipelines_dir
    for name in os.listdir(path):
        os.remove(os.path.join(path, name))
    for name, text in files.items():
        with open(os.path.join(path, f"{name}.yaml"), "w", encoding="utf-8") as handle:
            handle.write(text)
    run = run_program_full({**REQUIRED, "pipelinesDir": relative})
    keys = set()
    for resource in run.of_type("aws:dynamodb/tableItem:TableItem"):
        assert resource.outputs["item"] == resource.inputs["item"]
        item = plain(resource.outputs["item"])
        keys.add((item["PK"], item["SK"]))
    return keys


def pipeline_file(name: str, upstream: str | None = None) -> str:
    text = f"name: {name}\narchetype: batch-ingestion\ntrigger: {{type: http, url: 'https://jobs.example/run'}}\n"
    if upstream:
        text += (
            "traits:\n  upstream-dependency:\n    evaluator: builtin:upstream-job-log\n"
            f"    config: {{upstreamPipeline: {upstream}}}\n"
        )
    return text


def test_the_registry_writes_a_downstream_edge_per_upstream_and_only_current_ones(pipelines_dir):
    upstreams = {"up-a": pipeline_file("up-a"), "up-c": pipeline_file("up-c")}
    configs = {("PIPELINE#up-a", "CONFIG"), ("PIPELINE#up-c", "CONFIG"), ("PIPELINE#down-b", "CONFIG")}
    keys = registered_keys(pipelines_dir, {**upstreams, "down-b": pipeline_file("down-b", "up-a")})
    assert keys == configs | {("PIPELINE#up-a", "DOWNSTREAM#down-b")}
    keys = registered_keys(pipelines_dir, {**upstreams, "down-b": pipeline_file("down-b", "up-c")})
    assert keys == configs | {("PIPELINE#up-c", "DOWNSTREAM#down-b")}
    keys = registered_keys(pipelines_dir, upstreams)
    assert keys == {("PIPELINE#up-a", "CONFIG"), ("PIPELINE#up-c", "CONFIG")}
