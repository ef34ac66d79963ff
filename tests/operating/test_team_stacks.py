"""Per-team stack files: the example parses with the program's typed settings, and no two stacks collide."""

import glob
import json
import os

import yaml

from components.stack_settings import load_settings
from handlers.interlock import pipelines

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def stack_files() -> list[str]:
    return sorted(path for path in glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))


def settings_of(path: str):
    """Typed settings of a stack file, with values handed over as the CLI does (structures as JSON strings)."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)["config"]
    return load_settings(
        {
            key.split(":", 1)[1]: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()
            if key.startswith("interlock:")
        }
    )


def test_example_team_stack_parses_with_the_typed_settings():
    settings = settings_of(os.path.join(ROOT, "Pulumi.team-a-dev.yaml"))
    assert settings.project_name == "team-a-dev"
    assert settings.table_name == "team-a-dev"
    assert settings.sns_topic_name == "team-a-dev-alerts"
    assert settings.pipelines_dir == "pipelines"
    assert [(s.name, s.pipeline, s.schedule_id) for s in settings.schedules] == [
        ("sales-raw-ingest-daily", "sales-raw-ingest", "daily"),
        ("customer-features-backstop", "customer-features", "daily"),
    ]
    assert [(s.protocol, s.endpoint) for s in settings.alert_subscriptions] == [("email", "team-a-oncall@example.com")]
    assert settings.trigger_permissions.glue == ("arn:aws:glue:eu-west-1:111122223333:job/sales-raw-ingest",)
    assert settings.point_in_time_recovery is True  # the policy pack requires it on every stack


def test_scheduled_pipelines_exist_in_the_team_pipelines_dir():
    settings = settings_of(os.path.join(ROOT, "Pulumi.team-a-dev.yaml"))
    names = set()
    for path in glob.glob(os.path.join(ROOT, settings.pipelines_dir, "*.yaml")):
        with open(path, encoding="utf-8") as handle:
            names.add(yaml.safe_load(handle)["name"])
    assert {schedule.pipeline for schedule in settings.schedules} <= names


def test_a_scheduled_downstream_pipeline_shares_its_upstreams_schedule_ids():
    """A cascade marker carries the upstream run's scheduleID; a schedule of the downstream pipeline under another
    scheduleID has its own run log, so the pipeline would run twice for one date."""
    for path in stack_files():
        settings = settings_of(path)
        configs = {c.name: c for c in pipelines.load_pipeline_dir(os.path.join(ROOT, settings.pipelines_dir))}
        scheduled: dict[str, set[str]] = {}
        for entry in settings.schedules:
            scheduled.setdefault(entry.pipeline, set()).add(entry.schedule_id)
        for name, schedule_ids in scheduled.items():
            for upstream in configs[name].upstream_pipelines() & set(scheduled):
                assert schedule_ids <= scheduled[upstream], (path, name, upstream)


def test_every_stack_file_has_its_own_names():
    """Stacks that share an account must not share a name prefix, table or topic."""
    files = stack_files()
    assert any(path.endswith("Pulumi.team-a-dev.yaml") for path in files)
    all_settings = [settings_of(path) for path in files]
    for attribute in ("project_name", "table_name", "sns_topic_name"):
        values = [getattr(settings, attribute) for settings in all_settings]
        assert len(values) == len(set(values)), (attribute, values)
