"""Retry policy: backoff vectors, retryable categories and attempt limits."""

import pytest

from handlers.interlock.models import RetryPolicy
from handlers.interlock.retry import MAX_BACKOFF_SECONDS, calculate_backoff, is_retryable, should_retry


@pytest.mark.parametrize(
    "backoff, multiplier, attempt, expected",
    [
        (30, 2.0, 1, 30),
        (30, 2.0, 2, 60),
        (30, 2.0, 3, 120),
        (30, 2.0, 4, 240),
        (1800, 4.0, 3, 3600),  # capped
        (10, 0, 2, 20),  # multiplier <= 0 counts as 2
        (10, -1, 3, 40),
        (5000, 2.0, 1, 3600),  # capped from the first attempt on
        (30, 2.0, 0, 30),  # attempt < 1 behaves like 1
        (30, 2.0, 500, MAX_BACKOFF_SECONDS),
        (45, 1.5, 2, 67),  # truncated to whole seconds
    ],
)
def test_backoff_vectors(backoff, multiplier, attempt, expected):
    policy = RetryPolicy(backoff_seconds=backoff, backoff_multiplier=multiplier)
    assert calculate_backoff(policy, attempt) == expected


def test_default_policy():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff_seconds, policy.backoff_multiplier) == (3, 30, 2.0)
    assert policy.retryable_failures == ("TRANSIENT", "TIMEOUT")


@pytest.mark.parametrize(
    "category, expected",
    [
        ("TRANSIENT", True),
        ("TIMEOUT", True),
        ("PERMANENT", False),
        ("EVALUATOR_CRASH", False),
        ("VALIDATION_TIMEOUT", False),
        ("", False),
        (None, False),
        ("SOMETHING", False),
    ],
)
def test_default_retryability(category, expected):
    assert is_retryable(RetryPolicy(), category) is expected


def test_custom_retryable_list():
    policy = RetryPolicy(retryable_failures=("TRANSIENT",))
    assert is_retryable(policy, "TRANSIENT") and not is_retryable(policy, "TIMEOUT")
    assert is_retryable(RetryPolicy(retryable_failures=()), "TIMEOUT")  # empty list = default


def test_permanent_is_never_retryable_even_if_listed():
    assert not is_retryable(RetryPolicy(retryable_failures=("PERMANENT", "TRANSIENT")), "PERMANENT")


def test_should_retry_respects_max_attempts():
    policy = RetryPolicy(max_attempts=2)
    assert should_retry(policy, "TRANSIENT", 1) and not should_retry(policy, "TRANSIENT", 2)
