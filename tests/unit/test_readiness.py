"""Readiness rule all-required-pass."""

import pytest

from handlers.interlock import readiness

REQUIRED = ["freshness", "availability"]


def res(**statuses):
    return [{"traitType": t, "status": s} for t, s in statuses.items()]


def test_all_required_pass_is_ready():
    verdict = readiness.evaluate(
        "all-required-pass", REQUIRED, res(freshness="PASS", availability="PASS", quality="FAIL")
    )
    assert verdict.ready and verdict.blocking == []
    assert verdict.statuses == {"freshness": "PASS", "availability": "PASS", "quality": "FAIL"}


@pytest.mark.parametrize(
    "results, blocking",
    [
        (res(freshness="FAIL", availability="PASS"), ["freshness"]),
        (res(freshness="STALE", availability="PASS"), ["freshness"]),
        (res(freshness="pass", availability="PASS"), ["freshness"]),
        (res(availability="PASS"), ["freshness"]),
        ([], REQUIRED),
        (["garbage", {"status": "PASS"}, {"traitType": "freshness", "status": None}], REQUIRED),
        ("not a list", REQUIRED),
    ],
)
def test_blocking(results, blocking):
    verdict = readiness.evaluate("all-required-pass", REQUIRED, results)
    assert not verdict.ready and verdict.blocking == blocking


def test_the_last_result_of_a_trait_wins():
    verdict = readiness.evaluate("all-required-pass", ["a"], res(a="FAIL") + res(a="PASS"))
    assert verdict.ready


def test_unknown_rule():
    with pytest.raises(ValueError):
        readiness.evaluate("any-pass", REQUIRED, [])
