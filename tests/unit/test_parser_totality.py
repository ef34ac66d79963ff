"""The pipeline parser is total: whatever a file or a stored item holds, the result is a PipelineConfig or a
ConfigError with field paths, never another exception. Generated inputs (Hypothesis, derandomized) plus crafted
files: billion laughs, deep nesting, self-reference, duplicate and non-string keys, huge numbers, NaN."""

from __future__ import annotations

import copy
import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from handlers.interlock import archetypes, pipelines, yaml_input
from handlers.interlock.models import ConfigError
from tests.hostile_values import documents, scalars
from tests.unit.sample_pipelines import FULL_PIPELINE

TRIGGERS = [
    {"type": "http", "url": "https://x.example/run", "method": "POST", "headers": {"A": "b"}, "body": {"k": 1}},
    {"type": "airflow", "url": "https://airflow.example", "dagID": "d"},
    {"type": "emr", "clusterId": "j-ABC", "jobName": "step", "jar": "s3://b/x.jar", "args": ["a"]},
    {
        "type": "emr-serverless",
        "applicationId": "a",
        "executionRoleArn": "arn:aws:iam::123456789012:role/r",
        "jobName": "j",
        "entryPoint": "s3://b/x.py",
    },
    {"type": "step-function", "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:s"},
    {"type": "databricks", "workspaceUrl": "https://db.example", "jobId": "1"},
    {"type": "lambda", "functionName": "f", "body": {"a": 1}},
]


def paths(value, prefix=()):
    """Every path (tuple of keys / indexes) into a JSON-shaped value."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


KNOWN_PATHS = sorted(
    {p for base in [FULL_PIPELINE] + [dict(FULL_PIPELINE, trigger=t) for t in TRIGGERS] for p in paths(base) if p},
    key=str,
)

values = documents(
    scalars(
        magnitude=400,
        extra=[st.sampled_from([1e308, -1e308, 5e-324, 10**30])],
        samples=[
            "",
            "sales\n",
            "100000000h",
            "1e308",
            "25:00",
            "builtin:s3-objects",
            "builtin:",
            "http://",
            "PERMANENT",
            "daily\n",
            "2026-13-01",
            "0001-01-01",
            "9999-12-31",
            "-5m",
            "+0s",
            "NaN",
            "\x00",
            "é",
            "${date}",
            "month-end",
            "quarter-start",
            "month-ned",
            "weekends",
            "-3h",
            "0s",
        ],
    ),
    keys=list({str(k) for p in KNOWN_PATHS for k in p}),
    size=4,
    key_size=12,
    odd_keys=st.one_of(st.integers(), st.booleans(), st.none(), st.tuples(st.integers())),
    max_leaves=12,
)


def replaced(base: dict, path: tuple, value) -> dict:
    data = copy.deepcopy(base)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def parses_or_config_error(data, source="generated"):
    try:
        pipelines.parse_pipeline(data, source=source)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and ": " in p for p in exc.problems), exc.problems
        return exc.problems
    return []


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from([FULL_PIPELINE] + [dict(FULL_PIPELINE, trigger=t) for t in TRIGGERS]),
    path=st.sampled_from(KNOWN_PATHS),
    value=values,
)
def test_any_value_at_any_known_path_parses_or_is_a_config_error(base, path, value):
    try:
        data = replaced(base, path, value)
    except (KeyError, IndexError, TypeError):  # the path is not in this base
        return
    problems = parses_or_config_error(data)
    if problems:
        # the problem is reported at the path that was changed (or inside it, or where it made a sibling wrong)
        assert any(p.split(": ", 1)[0] != "" for p in problems)


@settings(max_examples=300)
@given(values)
def test_any_document_parses_or_is_a_config_error(value):
    parses_or_config_error(value)
    parses_or_config_error({"name": "sales", "archetype": "batch-ingestion", "traits": value, "trigger": value})


yaml_fragments = st.sampled_from(
    [
        "name: sales\n",
        "archetype: batch-ingestion\n",
        "a: &a [1, 2]\n",
        "b: *a\n",
        "c: *nope\n",
        "? [1, 2]\n: x\n",
        "1: one\n",
        "true: yes\n",
        "null: ~\n",
        "- item\n",
        "  nested: {x: [y, {z: 1}]}\n",
        "d: !!binary aGVsbG8=\n",
        "e: !!set {a, b}\n",
        "f: 2026-01-01\n",
        "g: .nan\n",
        "h: -.inf\n",
        "i: 1e400\n",
        "j: 0x1F\n",
        "k: !!python/tuple [1]\n",
        "l: [[[[[[[[\n",
        "m: ]]]\n",
        "n: 'unclosed\n",
        'o: "\\uD800"\n',
        "<<: *a\n",
        "<<: {x: 1}\n",
        "p: &p {q: *p}\n",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "\t tab\n",
        "r: |\n  block\n",
        "s: >-\n  folded\n",
        "name: sales\n",
        "t: 123456789012345678901234567890123456789\n",
        "u: !!int '9" + "9" * 5000 + "'\n",
        "\x00\n",
        "v: @x\n",
    ]
)


@settings(max_examples=400)
@given(st.lists(yaml_fragments, max_size=8))
def test_any_yaml_text_loads_or_is_a_config_error(parts):
    text = "".join(parts)
    try:
        data = yaml_input.load_yaml(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.source == "fuzz.yaml" and exc.problems
        return
    assert yaml_input.data_problems(data) == []
    parses_or_config_error(data)


def billion_laughs(levels=9, width=10) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


CRAFTED = {
    "billion laughs": (billion_laughs(), "expands to more than"),
    "many aliases": ("a: &a x\nb: [" + ", ".join(["*a"] * 200) + "]\n", "more than 100 aliases"),
    "deep block nesting": ("".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "v\n", "nested deeper"),
    "deep flow nesting": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),
    "deep via aliases": ("a: &a " + "[" * 30 + "]" * 30 + "\nb: " + "[" * 20 + "*a" + "]" * 20 + "\n", "nested deeper"),
    "self reference": ("a: &a [*a]\n", "refers to a collection that contains it"),
    "self reference in a mapping": ("a: &a {b: *a}\n", "refers to a collection that contains it"),
    "duplicate keys": ("name: a\nname: b\n", "duplicate key 'name'"),
    "duplicate nested keys": ("trigger: {type: http, type: glue}\n", "duplicate key 'type'"),
    "integer key": ("name: sales\n1: x\n", "key 1 is not a string"),
    "boolean key": ("on: push\n", "key True is not a string"),
    "null key": ("~: x\n", "key None is not a string"),
    "sequence key": ("? [a, b]\n: x\n", "is not a string"),
    "nan": ("name: sales\ntier: .nan\n", "nan is not a finite number"),
    "infinity": ("retry: {backoffMultiplier: .inf}\n", "inf is not a finite number"),
    "huge integer": ("tier: " + "9" * 5000 + "\n", "invalid"),
    "binary": ("name: !!binary aGVsbG8=\n", "bytes is not a JSON value"),
    "set": ("days: !!set {monday}\n", "set is not a JSON value"),
    "python tag": ("name: !!python/object/apply:os.system [ls]\n", "could not determine a constructor"),
    "too large": ("# " + "x" * yaml_input.MAX_DOCUMENT_BYTES + "\n", "larger than"),
    "not utf-8": (b"name: \xff\xfe\n", "not UTF-8"),
    "two documents": ("a: 1\n---\nb: 2\n", "found another document"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_file_fails_fast_naming_the_file(name, tmp_path):
    text, fragment = CRAFTED[name]
    path = tmp_path / "crafted.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        pipelines.load_pipeline_file(str(path))
    assert time.monotonic() - started < 5
    assert str(path) in str(raised.value)
    assert any(fragment in problem for problem in raised.value.problems), raised.value.problems


CRAFTED_JSON = {
    "NaN": ('{"name": "sales", "tier": NaN}', "NaN is not a number JSON allows"),
    "Infinity": ('{"retry": {"backoffMultiplier": Infinity}}', "Infinity is not a number JSON allows"),
    "duplicate keys": ('{"name": "a", "name": "b"}', "duplicate key 'name'"),
    "deep nesting": ('{"a": ' + "[" * 100000 + "]" * 100000 + "}", "nested deeper"),
    "huge integer": ('{"tier": ' + "9" * 5000 + "}", "invalid JSON"),
    "broken": ('{"name": ', "invalid JSON"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED_JSON))
def test_a_crafted_json_file_fails_naming_the_file(name, tmp_path):
    text, fragment = CRAFTED_JSON[name]
    path = tmp_path / "crafted.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        pipelines.load_pipeline_file(str(path))
    assert str(path) in str(raised.value)
    assert any(fragment in problem for problem in raised.value.problems), raised.value.problems


@pytest.mark.parametrize(
    "data, path, fragment",
    [
        ({"retry": {"retryableFailures": [[1]]}}, "retry.retryableFailures[0]", "unknown failure category"),
        ({"trigger": {"type": ["http"]}}, "trigger.type", "must be a string"),
        ({"sla": {"completionDeadline": "100000000h"}}, "sla.completionDeadline", "longer than"),
        ({"sla": {"completionDeadline": "800h"}}, "sla.completionDeadline", "at most 744h"),
        ({"retry": {"backoffMultiplier": 1e308}}, "retry.backoffMultiplier", "<= 10"),
        ({"retry": {"backoffMultiplier": math.nan}}, "retry.backoffMultiplier", "not a finite number"),
        ({"retry": {"backoffSeconds": 10**30}}, "retry.backoffSeconds", "beyond"),
        ({"retry": {"backoffSeconds": 10**12}}, "retry.backoffSeconds", "<= 3600"),
        (
            {"watch": {"monitoring": {"enabled": True, "duration": "100000000h"}}},
            "watch.monitoring.duration",
            "longer than",
        ),
        ({"watch": {"monitoring": {"enabled": True, "duration": "200h"}}}, "watch.monitoring.duration", "at most 168h"),
        ({"name": "sales\n"}, "name", "must match"),
        ({"schedules": [{"name": "daily\n"}]}, "schedules[0].name", "must match"),
        ({"traits": {"source-freshness\n": {}}}, "traits.source-freshness\n", "trait type must match"),
        (
            {"traits": {"t": {"config": {"upstreamPipeline": "raw\n"}}}},
            "traits.t.config.upstreamPipeline",
            "pipeline name",
        ),
        ({"traits": {"t": {"ttl": 10**12}}}, "traits.t.ttl", "must be <="),
        ({"traits": {"t": {"timeout": 901}}}, "traits.t.timeout", "must be <= 900"),
        ({"tier": 101}, "tier", "must be <= 100"),
        ({"exclusions": {"dates": ["2026-02-30"]}}, "exclusions.dates[0]", "must be YYYY-MM-DD"),
        ({"exclusions": {"dates": ["0001-01-01"]}}, "exclusions.dates[0]", "must be YYYY-MM-DD"),
        ({"exclusions": {"days": "monday"}}, "exclusions.days", "must be a list"),
        ({"tier": 2**60}, "tier", "beyond"),
    ],
)
def test_each_issue_example_is_a_config_error_at_its_path(data, path, fragment):
    merged = {**copy.deepcopy(FULL_PIPELINE), **{k: v for k, v in data.items() if k not in ("retry", "sla", "watch")}}
    for section in ("retry", "sla", "watch"):
        if section in data:
            merged[section] = data[section]
    problems = parses_or_config_error(merged)
    assert any(p.startswith(f"{path}: ") and fragment in p for p in problems), problems


def test_the_valid_base_and_every_trigger_parse():
    archetypes.clear_cache()
    for base in [FULL_PIPELINE] + [dict(FULL_PIPELINE, trigger=t) for t in TRIGGERS]:
        assert pipelines.parse_pipeline(json.loads(json.dumps(base))).name == "sales"
