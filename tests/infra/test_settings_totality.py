"""Stack settings are total: any value at any `interlock:` key (as Pulumi hands it over, or as a structure) gives
StackSettings or a ConfigurationError naming the key, never another exception."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from components import stack_settings
from components.stack_settings import ConfigurationError, load_settings

KEYS = sorted(stack_settings.declared_config())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**5000), max_value=10**5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
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
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(
                st.text(max_size=10),
                st.sampled_from(["name", "pipeline", "expression", "glue", "protocol", "endpoint"]),
            ),
            inner,
            max_size=3,
        ),
        st.dictionaries(st.integers(), inner, max_size=2),
    ),
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
