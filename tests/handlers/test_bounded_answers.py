"""Every handler's answer is bounded (DESIGN §10.0, Bounded answers): texts and values from outside are capped before
they enter an execution's state, and a job identity is never cut."""

import json

import pytest

from handlers import evaluator, run_checker
from handlers.interlock import invocation
from handlers.interlock.evaluators import Verdict
from handlers.interlock.triggers import JobState


def test_a_huge_job_state_is_cut_in_the_run_checkers_answer(aws_env, monkeypatch):
    from handlers.interlock.triggers import polling

    module = type(
        "Module",
        (),
        {
            "SPEC": type("Spec", (), {"status_needs_headers": False}),
            "status": staticmethod(lambda metadata, config: JobState("running", "s" * 300_000)),
        },
    )
    monkeypatch.setattr(polling, "module_for", lambda trigger_type: module)
    out = run_checker.handler(
        {"pipelineID": "sales", "runID": "r", "triggerType": "airflow", "metadata": {}, "attempt": 0, "maxAttempts": 9},
        None,
    )
    assert out["state"] == "running" and len(out["message"]) == invocation.TEXT_LIMIT
    assert out["message"].endswith("more characters cut]") and len(json.dumps(out)) < 2 * invocation.TEXT_LIMIT


def test_an_evaluators_huge_value_and_reason_are_bounded_in_its_answer(aws_env, monkeypatch):
    monkeypatch.setattr(
        evaluator, "evaluate_and_record", lambda request: Verdict("PASS", "r" * 50_000, {"rows": ["x" * 100] * 1000})
    )
    out = evaluator.handler({"pipelineID": "sales", "traitType": "freshness", "evaluator": "builtin:x"}, None)
    assert out["status"] == "PASS" and len(out["reason"]) == invocation.TEXT_LIMIT
    assert "limit 2048" in out["value"]["omitted"]
    assert len(json.dumps(out)) < invocation.TEXT_LIMIT + invocation.VALUE_LIMIT


def test_small_answers_pass_unchanged_and_an_oversized_whole_answer_raises():
    answer = {"message": "fine", "value": {"a": 1}, "other": None}
    assert invocation.bounded(answer, texts=("message", "missing"), values=("value",)) == answer
    with pytest.raises(invocation.AnswerTooLarge):
        invocation.bounded({"payload": ["x" * 1000] * 100})
