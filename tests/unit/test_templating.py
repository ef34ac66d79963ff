"""Trigger templating: four placeholders, never the environment."""

import pytest

from handlers.interlock.templating import TemplateContext, render, render_value

CTX = TemplateContext(pipeline_id="sales-daily", schedule_id="h07", date="2026-11-28")


def test_the_four_placeholders_are_expanded():
    assert render("${pipelineID}/${date}/${hour}/${scheduleID}", CTX) == "sales-daily/2026-11-28/07/h07"


@pytest.mark.parametrize(
    "schedule, hour",
    [("h15", "15"), ("h7", "07"), ("h0", "00"), ("h23", "23"), ("h24", ""), ("hourly", ""), ("daily", ""), ("h", "")],
)
def test_hour_comes_only_from_an_hourly_schedule_id(schedule, hour):
    assert TemplateContext("p", schedule, "2026-11-28").hour == hour


def test_the_environment_is_never_expanded(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "super-secret")
    monkeypatch.setenv("HOME", "/root")
    text = "${AWS_SECRET_ACCESS_KEY} $AWS_SECRET_ACCESS_KEY ${HOME} $$ ${date"
    assert render(text, CTX) == text


def test_nested_values_are_rendered_but_keys_and_non_strings_are_not():
    value = {"${date}": ["run-${date}", 3, {"h": "${hour}"}], "flag": True}
    assert render_value(value, CTX) == {"${date}": ["run-2026-11-28", 3, {"h": "07"}], "flag": True}
