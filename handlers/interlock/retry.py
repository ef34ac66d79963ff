"""Retry policy: which failures may run again and how long to wait first."""

from __future__ import annotations

from .models import FailureCategory, RetryPolicy

MAX_BACKOFF_SECONDS = 3600


def is_retryable(policy: RetryPolicy, category: str | None) -> bool:
    """PERMANENT never retries; otherwise the category must be in the policy's list (empty list = default)."""
    if not category or category == FailureCategory.PERMANENT:
        return False
    allowed = policy.retryable_failures or RetryPolicy().retryable_failures
    return category in allowed


def calculate_backoff(policy: RetryPolicy, attempt: int) -> int:
    """Whole seconds to wait after failed attempt `attempt` (1-based): backoff x multiplier^(attempt-1), capped at
    one hour for every attempt. A multiplier <= 0 counts as 2."""
    multiplier = policy.backoff_multiplier if policy.backoff_multiplier > 0 else 2.0
    exponent = max(attempt, 1) - 1
    seconds = policy.backoff_seconds * (multiplier**exponent) if exponent < 64 else float(MAX_BACKOFF_SECONDS)
    return int(min(max(seconds, 0), MAX_BACKOFF_SECONDS))


def should_retry(policy: RetryPolicy, category: str | None, attempt: int) -> bool:
    """Another attempt is allowed after failed attempt `attempt`."""
    return is_retryable(policy, category) and attempt < policy.max_attempts
