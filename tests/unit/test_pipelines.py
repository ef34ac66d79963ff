"""Pipeline config parsing and validation, file loading and the shipped example pipelines."""

import json
import os

import pytest

from handlers.interlock import archetypes, pipelines
from handlers.interlock.models import ConfigError
from tests.unit.sample_pipelines import FULL_PIPELINE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARCHETYPES = os.path.join(ROOT, "archetypes")
MINIMAL = {"name": "sales", "archetype": "batch-ingestion", "trigger": {"type": "http", "url": "https://x.example"}}


def problems_of(data):
    with pytest.raises(ConfigError) as raised:
        pipelines.parse_pipeline(data)
    return raised.value.problems


def test_minimal_config_round_trips():
    config = pipelines.parse_pipeline(dict(MINIMAL))
    assert config.to_dict() == MINIMAL
    assert config.retry_policy.max_attempts == 3 and not config.monitoring_enabled


def test_full_config_round_trips_with_original_field_names():
    config = pipelines.parse_pipeline(json.loads(json.dumps(FULL_PIPELINE)))
    assert config.to_dict() == FULL_PIPELINE
    assert config.upstream_pipelines() == {"raw"} and config.monitoring_enabled


def test_every_problem_is_reported_with_its_field_path():
    problems = problems_of(
        {
            "name": "Bad Name",
            "archetype": "",
            "tier": "x",
            "surprise": 1,
            "traits": {"t": {"evaluator": 5, "ttl": -1, "config": {"upstreamPipeline": "Not Valid"}}, "BAD": {}},
            "trigger": {"type": "glue"},
            "retry": {"maxAttempts": 0, "backoffMultiplier": 0, "retryableFailures": ["PERMANENT", "NOPE"]},
            "sla": {"evaluationDeadline": "25:00", "timezone": "Mars/Base", "validationTimeout": "soon"},
            "watch": {"monitoring": {"enabled": True}},
            "schedules": [{"name": "daily", "deadline": "7pm"}, {"name": "daily"}, {"when": "0 5 * * *"}],
            "exclusions": {"days": ["funday"], "dates": ["tomorrow"]},
        }
    )
    expected = [
        "surprise: unknown field",
        "name: 'Bad Name' must match",
        "archetype: required",
        "tier: must be an integer",
        "traits.t.config.upstreamPipeline: must be a pipeline name",
        "traits.t.evaluator: must be a string",
        "traits.t.ttl: must be >= 0",
        "traits.BAD: trait type must match",
        "trigger.jobName: required for type glue",
        "retry.backoffMultiplier: must be a number > 0",
        "retry.retryableFailures[0]: PERMANENT failures are never retried",
        "retry.retryableFailures[1]: unknown failure category 'NOPE'",
        "retry.maxAttempts: must be >= 1",
        "sla.timezone: invalid timezone 'Mars/Base'",
        "sla.evaluationDeadline: invalid time of day '25:00'",
        "sla.validationTimeout: invalid deadline format 'soon'",
        "watch.monitoring.duration: required",
        "schedules[0].deadline: invalid time of day '7pm'",
        "schedules[1].name: duplicate schedule 'daily'",
        "schedules[2].when: unknown field",
        "schedules[2].name: required",
        "exclusions.days: 'funday' is not a weekday name",
        "exclusions.dates[0]: must be YYYY-MM-DD",
    ]
    assert len(problems) == len(expected)
    for problem, prefix in zip(problems, expected, strict=False):
        assert problem.startswith(prefix), (problem, prefix)


def test_max_duration_and_inclusions_are_validated_with_their_field_paths():
    config = pipelines.parse_pipeline(
        dict(MINIMAL, sla={"maxDuration": "1h30m"}, inclusions={"calendar": "month-end", "dates": ["2026-03-15"]})
    )
    assert config.sla.max_duration == "1h30m"
    assert (config.inclusions.calendar, config.inclusions.dates) == ("month-end", ("2026-03-15",))
    problems = problems_of(
        dict(
            MINIMAL,
            sla={"maxDuration": "-5m"},
            inclusions={"calendar": 7, "days": ["someday"], "dates": ["2026-02-30", "31/03/2026"], "rule": "x"},
        )
    )
    assert problems == [
        "sla.maxDuration: must be a positive duration",
        "inclusions.rule: unknown field",
        "inclusions.calendar: must be a string",
        "inclusions.days: 'someday' is not a weekday name (monday ... sunday)",
        "inclusions.dates[0]: must be YYYY-MM-DD (a real date), not '2026-02-30'",
        "inclusions.dates[1]: must be YYYY-MM-DD (a real date), not '31/03/2026'",
    ]
    assert problems_of(dict(MINIMAL, sla={"maxDuration": "soon"})) == [
        "sla.maxDuration: invalid duration 'soon': use e.g. 90s, 15m, 1h or 1h30m"
    ]
    assert problems_of(dict(MINIMAL, sla={"maxDuration": "9000h"})) == ["sla.maxDuration: must be at most 8760h"]
    assert problems_of(dict(MINIMAL, inclusions={})) == [
        "inclusions: names no calendar, day or date: the pipeline would never run (remove it to run every day)"
    ]


def test_an_unknown_calendar_is_refused_at_preview_with_a_suggestion():
    archetypes.clear_cache()
    misspelt = pipelines.parse_pipeline(
        dict(MINIMAL, inclusions={"calendar": "month-ned"}, exclusions={"calendar": "weekend"})
    )
    assert pipelines.check_references(misspelt, ARCHETYPES) == [
        "inclusions.calendar: unknown calendar 'month-ned'; did you mean 'month-end'?",
        "exclusions.calendar: unknown calendar 'weekend'; did you mean 'weekends'?",
    ]
    known = pipelines.parse_pipeline(
        dict(MINIMAL, inclusions={"calendar": "us-holidays-2026"}, exclusions={"calendar": "quarter-end"})
    )
    assert pipelines.check_references(known, ARCHETYPES) == []


def test_a_calendar_file_may_not_take_a_built_in_rules_name(tmp_path):
    (tmp_path / "calendars").mkdir()
    (tmp_path / "calendars" / "ends.yaml").write_text("name: month-end\ndates: ['2026-01-30']\n")
    with pytest.raises(ConfigError, match="'month-end' is a built-in calendar"):
        archetypes.load_calendars(str(tmp_path))


def test_not_an_object():
    assert problems_of(["x"]) == ["(root): must be an object"]


def test_retry_fields_default_individually():
    config = pipelines.parse_pipeline(dict(MINIMAL, retry={"backoffSeconds": 5}))
    assert (config.retry.max_attempts, config.retry.backoff_seconds, config.retry.backoff_multiplier) == (3, 5, 2.0)


def test_trigger_fields_pass_through_verbatim():
    trigger = {
        "type": "http",
        "url": "https://x.example",
        "body": {"k": [1, 2]},
        "headers": {"Authorization": "Bearer {{secret:prod/api#token}}"},
    }
    assert pipelines.parse_pipeline(dict(MINIMAL, trigger=trigger)).to_dict()["trigger"] == trigger


def test_trigger_command_is_refused():
    assert any(p.startswith("trigger.type:") for p in problems_of(dict(MINIMAL, trigger={"type": "command"})))


def test_load_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: sales\narchetype: batch-ingestion\ntrigger: {type: glue}\n")
    with pytest.raises(ConfigError) as raised:
        pipelines.load_pipeline_file(str(bad))
    assert str(bad) in str(raised.value) and raised.value.problems == ["trigger.jobName: required for type glue"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml"):
        pipelines.load_pipeline_file(str(broken))
    as_json = tmp_path / "ok.json"
    as_json.write_text(json.dumps(MINIMAL))
    assert pipelines.load_pipeline_file(str(as_json)).name == "sales"


def test_references_are_checked_against_the_archetype_dir():
    archetypes.clear_cache()
    config = pipelines.parse_pipeline(
        dict(MINIMAL, traits={"model-registry": {}, "schema-contract": {}}, exclusions={"calendar": "unknown-cal"})
    )
    assert pipelines.check_references(config, ARCHETYPES) == [
        "traits.model-registry: not a trait of archetype 'batch-ingestion'",
        "exclusions.calendar: unknown calendar 'unknown-cal'",
    ]
    other = pipelines.parse_pipeline(dict(MINIMAL, archetype="nope"))
    assert pipelines.check_references(other, ARCHETYPES)[0].startswith("archetype: unknown archetype 'nope'")


def test_a_pipeline_as_code_without_trigger_is_refused(tmp_path):
    archetypes.clear_cache()
    no_trigger = {k: v for k, v in MINIMAL.items() if k != "trigger"}
    config = pipelines.parse_pipeline(no_trigger)  # a stored item still loads: resolvePipeline reports it per run
    assert config.trigger is None
    with pytest.raises(ConfigError) as raised:
        pipelines.validate_pipeline(config, ARCHETYPES)
    assert raised.value.problems == ["trigger: required (without one every run fails)"]
    (tmp_path / "sales.yaml").write_text(json.dumps(no_trigger))
    with pytest.raises(ConfigError, match=r"sales\.yaml: trigger: required"):
        pipelines.load_pipeline_dir(str(tmp_path), ARCHETYPES)
    pipelines.validate_pipeline(pipelines.parse_pipeline(MINIMAL), ARCHETYPES)


def test_shipped_pipelines_are_valid_and_cascade():
    configs = {c.name: c for c in pipelines.load_pipeline_dir(os.path.join(ROOT, "pipelines"), ARCHETYPES)}
    assert len(configs) >= 2
    downstream = [c for c in configs.values() if c.upstream_pipelines() & set(configs)]
    assert downstream, "one example pipeline must be downstream of another"


def test_pipeline_dir_collects_problems_of_all_files(tmp_path):
    (tmp_path / "a.yaml").write_text("name: sales\narchetype: batch-ingestion\ntrigger: {type: glue}\n")
    (tmp_path / "b.json").write_text(json.dumps(dict(MINIMAL, archetype="nope")))
    (tmp_path / "c.yaml").write_text(json.dumps(MINIMAL))
    (tmp_path / "README.md").write_text("not a pipeline")
    with pytest.raises(ConfigError) as raised:
        pipelines.load_pipeline_dir(str(tmp_path), ARCHETYPES)
    problems = raised.value.problems
    assert any("a.yaml: trigger.jobName" in p for p in problems)
    assert any("b.json: archetype: unknown archetype" in p for p in problems)
    assert any("c.yaml: name: duplicate pipeline 'sales'" in p for p in problems) is False  # a.yaml failed
    (tmp_path / "a.yaml").write_text(json.dumps(MINIMAL))
    (tmp_path / "b.json").unlink()
    with pytest.raises(ConfigError, match="duplicate pipeline 'sales'"):
        pipelines.load_pipeline_dir(str(tmp_path), ARCHETYPES)


def test_config_size_is_bounded():
    huge = dict(MINIMAL, traits={"source-freshness": {"config": {"blob": "x" * 70_000}}})
    assert problems_of(huge)[0].startswith("(root): config is ")


def test_dry_run_is_a_boolean_kept_as_written():
    assert pipelines.parse_pipeline(dict(MINIMAL)).dry_run is None
    for value in (True, False):
        config = pipelines.parse_pipeline({**MINIMAL, "dryRun": value})
        assert config.dry_run is value and config.to_dict() == {**MINIMAL, "dryRun": value}
    assert problems_of({**MINIMAL, "dryRun": "yes"}) == ["dryRun: must be true or false"]
    assert problems_of({**MINIMAL, "dryrun": True}) == ["dryrun: unknown field; did you mean 'dryRun'?"]
