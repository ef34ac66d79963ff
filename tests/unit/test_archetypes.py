"""Archetype parsing, the shipped archetypes and calendars, and trait resolution."""

import os

import pytest

from handlers.interlock import archetypes
from handlers.interlock.models import ConfigError, PipelineConfig, TraitConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(ROOT, "archetypes")


@pytest.fixture(autouse=True)
def fresh_cache():
    archetypes.clear_cache()
    yield
    archetypes.clear_cache()


def test_the_shipped_archetypes_are_the_references():
    assert sorted(archetypes.load_dir(SHIPPED)) == ["batch-ingestion", "ml-feature-pipeline", "streaming-enrichment"]


@pytest.mark.parametrize(
    "name, required, optional, freshness_config",
    [
        (
            "batch-ingestion",
            [("source-freshness", 300, 30), ("upstream-dependency", 600, 60), ("resource-availability", 120, 10)],
            ["schema-contract", "data-quality-sample"],
            {"maxLagSeconds": 300},
        ),
        (
            "ml-feature-pipeline",
            [
                ("source-freshness", 3600, 60),
                ("upstream-dependency", 3600, 120),
                ("resource-availability", 300, 15),
                ("model-registry", 600, 30),
            ],
            ["data-drift-check", "feature-store-health"],
            {"maxLagSeconds": 3600},
        ),
        (
            "streaming-enrichment",
            [("source-freshness", 60, 10), ("enrichment-source", 300, 30), ("resource-availability", 60, 10)],
            ["schema-contract"],
            {"maxLagSeconds": 60},
        ),
    ],
)
def test_a_shipped_archetype_matches_the_reference(name, required, optional, freshness_config):
    archetype = archetypes.load_dir(SHIPPED)[name]
    assert [(t.type, t.default_ttl, t.default_timeout) for t in archetype.required_traits] == required
    assert archetype.required_traits[0].default_config == freshness_config
    assert [t.type for t in archetype.optional_traits] == optional
    assert archetype.readiness_rule == "all-required-pass"


def test_shipped_calendars():
    calendars = archetypes.load_calendars(SHIPPED)
    assert calendars["weekends"]["days"] == ["saturday", "sunday"]
    assert "2026-11-26" in calendars["us-holidays-2026"]["dates"]


def test_every_problem_is_listed():
    with pytest.raises(ConfigError) as raised:
        archetypes.parse_archetype(
            {
                "requiredTraits": [{"type": "a"}, {"description": "x"}],
                "optionalTraits": [{"type": "a", "defaultTtl": -1}],
                "readinessRule": {"type": "majority"},
            }
        )
    assert raised.value.problems == [
        "name: required",
        "requiredTraits[1].type: required",
        "optionalTraits[0].defaultTtl: must be an integer >= 0 (seconds)",
        "traits: duplicate trait type 'a'",
        "readinessRule.type: unsupported readiness rule type 'majority'",
    ]


def test_required_traits_and_rule_are_mandatory():
    with pytest.raises(ConfigError) as raised:
        archetypes.parse_archetype({"name": "x"})
    assert raised.value.problems == [
        "requiredTraits: at least one required trait is needed",
        "readinessRule.type: required",
    ]


def test_load_dir_reads_top_level_yaml_and_yml_and_names_bad_files(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\nrequiredTraits: [{type: t}]\nreadinessRule: {type: all-required-pass}\n")
    (tmp_path / "b.yml").write_text("name: b\nrequiredTraits: [{type: t}]\nreadinessRule: {type: all-required-pass}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    assert sorted(archetypes.load_dir(str(tmp_path))) == ["a", "b"]
    archetypes.clear_cache()
    (tmp_path / "c.yaml").write_text("name: c\n")
    with pytest.raises(ConfigError) as raised:
        archetypes.load_dir(str(tmp_path))
    assert str(tmp_path / "c.yaml") in str(raised.value)


def test_missing_directory_is_empty():
    assert archetypes.load_dir("/nonexistent/archetypes") == {}


def test_resolve_traits_with_overrides():
    arch = archetypes.load_dir(SHIPPED)["batch-ingestion"]
    config = PipelineConfig(
        name="p1",
        archetype="batch-ingestion",
        traits={
            "source-freshness": TraitConfig(
                evaluator="fresh", config={"maxLagSeconds": 60, "date": "user"}, ttl=120, timeout=15
            ),
            "data-quality-sample": TraitConfig(evaluator="dq"),
            "not-in-archetype": TraitConfig(evaluator="x"),
        },
    )
    items = archetypes.resolve_traits(arch, config, schedule_id="h14", date="2026-11-28")
    assert [(i["traitType"], i["required"]) for i in items] == [
        ("source-freshness", True),
        ("upstream-dependency", True),
        ("resource-availability", True),
        ("data-quality-sample", False),
    ]
    assert items[0] == {
        "pipelineID": "p1",
        "traitType": "source-freshness",
        "evaluator": "fresh",
        "config": {"maxLagSeconds": 60, "date": "2026-11-28", "scheduleID": "h14"},
        "timeout": 15,
        "ttl": 120,
        "required": True,
    }
    assert items[1]["evaluator"] == "" and (items[1]["ttl"], items[1]["timeout"]) == (600, 60)
    assert arch.required_traits[0].default_config == {"maxLagSeconds": 300}  # defaults not mutated


def test_calendars_are_checked_and_read_with_the_config_file_limits(tmp_path):
    (tmp_path / "calendars").mkdir()
    (tmp_path / "calendars" / "bad.yaml").write_text("name: bad\ndays: [funday]\ndates: [2026-02-30, 2026-12-25]\n")
    with pytest.raises(ConfigError) as raised:
        archetypes.load_calendars(str(tmp_path))
    assert raised.value.problems[0].startswith("days: 'funday' is not a weekday name")
    assert raised.value.problems[1].startswith("dates[0]: invalid date '2026-02-30'")
    archetypes.clear_cache()
    (tmp_path / "calendars" / "bad.yaml").write_text("name: ok\nname: twice\n")
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        archetypes.load_calendars(str(tmp_path))
    archetypes.clear_cache()
    (tmp_path / "calendars" / "bad.yaml").write_text("name: ok\ndates: [2026-12-25]\n")  # unquoted dates stay text
    assert archetypes.load_calendars(str(tmp_path)) == {"ok": {"days": [], "dates": ["2026-12-25"]}}


def test_archetype_numbers_are_bounded():
    def problems(**trait):
        with pytest.raises(ConfigError) as raised:
            archetypes.parse_archetype(
                {
                    "name": "x",
                    "readinessRule": {"type": "all-required-pass"},
                    "requiredTraits": [{"type": "t", **trait}],
                }
            )
        return raised.value.problems

    assert problems(defaultTimeout=901) == ["requiredTraits[0].defaultTimeout: must be <= 900 (seconds)"]
    assert problems(defaultTtl=float("nan")) == ["requiredTraits[0].defaultTtl: nan is not a finite number"]


def test_the_declared_builtins_are_the_implemented_ones():
    from handlers.interlock.evaluators import builtins

    assert set(builtins.BUILTIN_FIELDS) == set(builtins._BUILTINS)
