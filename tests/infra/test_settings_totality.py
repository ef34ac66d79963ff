"""Stack settings are total: any value at any `interlock:` key (as Pulumi hands it over, or as a structure) gives
StackSettings or a ConfigurationError naming the key, never another exception."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from components import stack_settings
from components.stack_settings import ConfigurationError, load_settings
from tests.hostile_values import documents, scalars

KEYS = sorted(stack_settings.declared_config())
values = documents(
    scalars(
        magnitude=5000,
        samples=[
            "100000000h",
            "87600h",
            "1e308",
            "9" * 5000,
            "NaN",
            "[1, [2]]",
            '{"a": NaN}',
            "team-a\n",
            "cron(0 25 * * ? *)",
            "at(2026-13-01T00:00:00)",
            "0.0.0.0/0",
            "true",
            "-1s",
            "1s",
        ],
    ),
    keys=["name", "pipeline", "expression", "glue", "protocol", "endpoint"],
    size=3,
    key_size=10,
    odd_keys=st.integers(),
    max_leaves=8,
)


def settles(raw: dict) -> None:
    try:
        load_settings(raw)
    except ConfigurationError as error:
        assert error.problems and all(problem.startswith("interlock:") for problem in error.problems), error.problems


@settings(max_examples=500)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=4))
def test_any_values_give_settings_or_a_configuration_error(overrides):
    settles({"projectName": "team-a", **overrides})


@settings(max_examples=200)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"name": values, "pipeline": values, "expression": values},
            optional={"scheduleID": values, "timezone": values},
        ),
        max_size=3,
    )
)
def test_any_schedule_entries_give_settings_or_a_configuration_error(entries):
    settles({"projectName": "team-a", "schedules": entries})
