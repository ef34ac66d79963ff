"""Run-state transition table, statuses and ConfigError."""

import pytest

from handlers.interlock.models import (
    PIPELINE_ID_PATTERN,
    ConfigError,
    FailureCategory,
    InvalidTransition,
    RunStatus,
    can_transition,
    check_transition,
    is_terminal,
)

ALLOWED = {
    ("PENDING", "TRIGGERING"),
    ("PENDING", "CANCELLED"),
    ("TRIGGERING", "RUNNING"),
    ("TRIGGERING", "COMPLETED"),
    ("TRIGGERING", "FAILED"),
    ("TRIGGERING", "CANCELLED"),
    ("RUNNING", "COMPLETED"),
    ("RUNNING", "COMPLETED_MONITORING"),
    ("RUNNING", "FAILED"),
    ("RUNNING", "CANCELLED"),
    ("COMPLETED_MONITORING", "COMPLETED"),
    ("COMPLETED_MONITORING", "FAILED"),
}


@pytest.mark.parametrize("source", list(RunStatus))
@pytest.mark.parametrize("target", list(RunStatus))
def test_transition_table(source, target):
    assert can_transition(source, target) is ((source, target) in ALLOWED)


def test_invalid_transition_message():
    with pytest.raises(InvalidTransition, match="invalid transition from COMPLETED to RUNNING"):
        check_transition("COMPLETED", "RUNNING")
    assert not can_transition("BOGUS", "RUNNING") and not can_transition("PENDING", "BOGUS")


def test_terminal_statuses():
    assert {s for s in RunStatus if is_terminal(s)} == {"COMPLETED", "FAILED", "CANCELLED"}
    assert not is_terminal("COMPLETED_MONITORING") and not is_terminal("nonsense")


def test_failure_categories():
    assert list(FailureCategory) == ["TRANSIENT", "TIMEOUT", "PERMANENT", "EVALUATOR_CRASH", "VALIDATION_TIMEOUT"]


def test_config_error_lists_every_problem():
    error = ConfigError(["a.b: required", "c: bad"], "file.yaml")
    assert error.problems == ["a.b: required", "c: bad"]
    assert str(error) == "file.yaml: invalid configuration: a.b: required; c: bad"


@pytest.mark.parametrize(
    "name, ok",
    [
        ("sales", True),
        ("sales-raw.v2_x", True),
        ("ab", True),
        ("a" * 64, True),
        ("a", False),
        ("a" * 65, False),
        ("Sales", False),
        ("-sales", False),
        ("sales-", False),
        ("sa les", False),
        ("sa#les", False),
        ("sa:les", False),
    ],
)
def test_pipeline_name_pattern(name, ok):
    assert bool(PIPELINE_ID_PATTERN.fullmatch(name)) is ok


def test_ids_match_completely_so_a_trailing_newline_is_refused():
    from handlers.interlock.models import SCHEDULE_ID_PATTERN, TRAIT_TYPE_PATTERN, matches

    for pattern, good in (
        (PIPELINE_ID_PATTERN, "sales-raw"),
        (SCHEDULE_ID_PATTERN, "daily"),
        (TRAIT_TYPE_PATTERN, "source-freshness"),
    ):
        assert matches(pattern, good)
        assert not matches(pattern, good + "\n") and not matches(pattern, "\n" + good)
        assert not matches(pattern, [good]) and not matches(pattern, None)


def test_did_you_mean_names_the_closest_option_or_nothing():
    from handlers.interlock.models import did_you_mean

    assert did_you_mean("retries", ["retry", "sla"]) == "; did you mean 'retry'?"
    assert did_you_mean("HEADER", ["headers", "url"]) == "; did you mean 'headers'?"
    assert did_you_mean("zzz", ["retry"]) == "" and did_you_mean(7, []) == ""
