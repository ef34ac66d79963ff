"""The Lambda settings: whole seconds from the stack, and a loud failure naming the variable when one is missing or
invalid (a misconfigured function must not run on an invented default)."""

import pytest

from handlers.interlock.settings import SettingError, Settings


def test_durations_arrive_as_whole_seconds():
    env = Settings({"READINESS_TTL_SECONDS": "3600", "RETENTION_TTL_SECONDS": "604800"})
    assert (env.readiness_ttl_seconds, env.retention_ttl_seconds) == (3600, 604800)


@pytest.mark.parametrize("value", [None, "", "1h", "-5", "0", "3.5"])
def test_a_missing_or_invalid_duration_fails_naming_the_variable(value):
    env = Settings({} if value is None else {"READINESS_TTL_SECONDS": value})
    with pytest.raises(SettingError, match="READINESS_TTL_SECONDS"):
        _ = env.readiness_ttl_seconds


@pytest.mark.parametrize(
    "name, attribute",
    [("TABLE_NAME", "table_name"), ("ARCHETYPE_DIR", "archetype_dir"), ("STATE_MACHINE_ARN", "state_machine_arn")],
)
def test_a_required_value_is_never_invented(name, attribute):
    with pytest.raises(SettingError, match=f"{name} environment variable required"):
        getattr(Settings({}), attribute)


def test_values_the_stack_may_send_empty_mean_not_configured():
    env = Settings({"EVALUATOR_BASE_URL": "https://eval.example/", "INTERLOCK_ALLOWED_NETWORKS": "10.0.0.0/8, ,"})
    assert (env.evaluator_base_url, env.allowed_networks, env.data_bucket) == (
        "https://eval.example",
        ("10.0.0.0/8",),
        "",
    )


def test_the_stacks_dry_run_arrives_as_true_or_false():
    assert (Settings({"INTERLOCK_DRY_RUN": "true"}).dry_run, Settings({"INTERLOCK_DRY_RUN": "false"}).dry_run) == (
        True,
        False,
    )


@pytest.mark.parametrize("value", [None, "", "yes", "True", "1"])
def test_a_missing_or_invalid_dry_run_fails_naming_the_variable(value):
    env = Settings({} if value is None else {"INTERLOCK_DRY_RUN": value})
    with pytest.raises(SettingError, match="INTERLOCK_DRY_RUN"):
        _ = env.dry_run
