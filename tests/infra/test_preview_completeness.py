"""Preview refuses what could only fail later: each row is a stack config and/or a pipeline file, run through the
real program (__main__.py under mocks), and the field path and message fragment the refusal must name."""

from __future__ import annotations

import os

import pytest

from components.stack_settings import ConfigurationError
from tests.infra.conftest import REQUIRED
from tests.infra.harness import run_program_full

GOOD = (
    "name: p1\narchetype: batch-ingestion\ntrigger: {type: http, url: 'https://jobs.example/run'}\n"
    "traits:\n  source-freshness: {evaluator: 'https://checks.example/fresh'}\n"
)


def pipeline(**replace: str) -> str:
    text = GOOD
    for old, new in replace.items():
        text = text.replace(old.replace("_", " "), new)
    return text


def schedule(expression: str, pipeline_name: str = "p1") -> dict:
    return {"schedules": [{"name": "s", "pipeline": pipeline_name, "expression": expression}]}


ROWS = [
    # (stack config over REQUIRED, pipeline file text or None, field path, message fragment)
    (
        {},
        pipeline(**{"https://checks.example/fresh": "builtin:s3-objects"}),
        "traits.source-freshness.evaluator",
        "did you mean 's3-object'",
    ),
    (
        {},
        GOOD.replace(
            "{evaluator: 'https://checks.example/fresh'}",
            "{evaluator: 'builtin:s3-object', config: {key: a, prefix: b}}",
        ),
        "traits.source-freshness.config",
        "key or prefix, not both",
    ),
    (
        {"evaluatorBaseUrl": ""},
        pipeline(**{"https://checks.example/fresh": "checks/fresh"}),
        "traits.source-freshness.evaluator",
        "interlock:evaluatorBaseUrl, which is empty",
    ),
    (schedule("rate(1 day)", "p11"), GOOD, "interlock:schedules: [0].pipeline", "did you mean 'p1'"),
    (
        schedule("rate(1 day)", "elsewhere"),
        GOOD,
        "interlock:schedules: [0].pipeline",
        "only a pipeline of pipelinesDir",
    ),
    (schedule("cron(0 6 * * MON-FRI *)"), GOOD, "[0].expression", "? in exactly one of"),
    (schedule("cron(0 25 * * ? *)"), GOOD, "[0].expression", "cron hours '25'"),
    (schedule("cron(0 6 * * * *)"), GOOD, "[0].expression", "? in exactly one of"),
    (schedule("cron(0 6 * 13 ? *)"), GOOD, "[0].expression", "cron month '13'"),
    (schedule("cron(0 6 ? * 8 *)"), GOOD, "[0].expression", "cron day-of-week '8'"),
    (schedule("cron(0 6 * * ? 2300)"), GOOD, "[0].expression", "cron year '2300'"),
    (schedule("at(2026-13-01T00:00:00)"), GOOD, "[0].expression", "real date and time"),
    (
        {"pollInterval": "1s", "maxPollAttempts": 10000},
        GOOD,
        "interlock:evaluationWindow/evaluationInterval/maxPollAttempts",
        "history events",
    ),
    ({"evaluationInterval": "1s", "evaluationWindow": "3h"}, GOOD, "maxPollAttempts", "history events"),
    (  # each of the 3 default attempts may poll 2,000 times in the same execution
        {"pollInterval": "10s", "maxPollAttempts": 2000},
        GOOD,
        "p1.yaml: retry.maxAttempts",
        "history events in one execution",
    ),
    (  # 1 cycle a minute for a week, in an execution allowed to last that long
        {"monitoringInterval": "1m", "executionTimeout": "200h"},
        GOOD + "watch: {monitoring: {enabled: true, duration: 168h}}\n",
        "p1.yaml: watch.monitoring.duration",
        "history events in one execution",
    ),
    ({"evaluatorBaseUrl": "https://evaluators.example.com\n"}, GOOD, "interlock:evaluatorBaseUrl", "not allowed"),
    ({}, GOOD + "retries: {maxAttempts: 2}\n", "retries", "did you mean 'retry'"),
    (
        {},
        GOOD.replace("url: 'https://jobs.example/run'", "url: 'https://jobs.example/run', header: {a: b}"),
        "trigger.header",
        "did you mean 'headers'",
    ),
    (
        {},
        GOOD.replace("{type: http, url: 'https://jobs.example/run'}", "{type: glue, jobName: j, argumnets: {a: b}}"),
        "trigger.argumnets",
        "did you mean 'arguments'",
    ),
    (
        {},
        GOOD.replace(
            "{type: http, url: 'https://jobs.example/run'}",
            "{type: emr, clusterId: j-ABC, jobName: s, command: s3://b/x.jar}",
        ),
        "trigger.command",
        "jar",
    ),
    ({}, GOOD + "name: again\n", "(file)", "duplicate key 'name'"),
    ({}, GOOD + "retry: {backoffMultiplier: 1e308}\n", "retry.backoffMultiplier", "<= 10"),
    ({}, GOOD + "sla: {completionDeadline: 100000000h}\n", "sla.completionDeadline", "longer than"),
    (
        {"executionTimeout": "7h"},
        GOOD + "sla: {maxDuration: 8h}\n",
        "sla.maxDuration",
        "not shorter than interlock:executionTimeout",
    ),
    ({}, GOOD + "inclusions: {calendar: month-ned}\n", "inclusions.calendar", "did you mean 'month-end'"),
    ({}, GOOD + "inclusions: {dates: ['2026-02-30']}\n", "inclusions.dates[0]", "a real date"),
]


@pytest.mark.parametrize("stack, text, field, fragment", ROWS, ids=[f"{r[2]}: {r[3]}" for r in ROWS])
def test_preview_refuses_naming_file_and_field(pipelines_dir, stack, text, field, fragment):
    relative, path = pipelines_dir
    with open(os.path.join(path, "p1.yaml"), "w", encoding="utf-8") as handle:
        handle.write(text)
    with pytest.raises(ConfigurationError) as caught:
        run_program_full({**REQUIRED, "pipelinesDir": relative, **stack})
    problems = caught.value.problems
    named = [p for p in problems if field in p and fragment in p]
    assert named, problems
    if field.startswith(("traits", "trigger", "retry", "sla", "inclusions", "(file)")):
        assert all(os.path.join(path, "p1.yaml") in p for p in named), named


def test_the_good_pipeline_passes_the_same_program(pipelines_dir):
    relative, path = pipelines_dir
    with open(os.path.join(path, "p1.yaml"), "w", encoding="utf-8") as handle:
        handle.write(GOOD)
    run = run_program_full({**REQUIRED, "pipelinesDir": relative, **schedule("cron(0 6 ? * MON-FRI *)")})
    assert len(run.of_type("aws:dynamodb/tableItem:TableItem")) == 1


@pytest.mark.parametrize(
    "stack, text",
    [
        ({"pollInterval": "10s", "maxPollAttempts": 2000}, GOOD + "retry: {maxAttempts: 1}\n"),  # one attempt fits
        (
            {"monitoringInterval": "1m", "executionTimeout": "30h"},
            GOOD + "watch: {monitoring: {enabled: true, duration: 24h}}\n",
        ),
        # monitoring outlasting the execution counts only until executionTimeout (12 h) ends it
        ({"monitoringInterval": "1m"}, GOOD + "watch: {monitoring: {enabled: true, duration: 168h}}\n"),
    ],
)
def test_retries_and_monitoring_that_fit_one_execution_pass(pipelines_dir, stack, text):
    relative, path = pipelines_dir
    with open(os.path.join(path, "p1.yaml"), "w", encoding="utf-8") as handle:
        handle.write(text)
    run = run_program_full({**REQUIRED, "pipelinesDir": relative, **stack})
    assert len(run.of_type("aws:dynamodb/tableItem:TableItem")) == 1


def test_the_shipped_pipelines_need_an_evaluator_base_url():
    with pytest.raises(ConfigurationError, match="interlock:evaluatorBaseUrl, which is empty"):
        run_program_full({"projectName": "team-a"})


def test_the_counted_loops_are_the_definitions_loops():
    """LOOPS names states that really form each loop of asl/pipeline.asl.json (the last leads back to the first),
    so the event bound follows the definition; one trait per Map gives DESIGN §10.1's numbers."""
    import json

    from components import stack_settings

    with open(stack_settings.ASL_PATH, encoding="utf-8") as handle:
        states = json.load(handle)["States"]

    def successors(name):
        state = states[name]
        caught = {c["Next"] for c in state.get("Catch", []) if c["ErrorEquals"] != ["States.ALL"]}
        return {state.get("Next"), state.get("Default")} | {c["Next"] for c in state.get("Choices", [])} | caught

    for names in stack_settings.LOOPS.values():
        for current, following in zip(names, names[1:] + names[:1], strict=True):
            assert following in successors(current), (current, following)
    assert stack_settings.loop_events() == {"poll": 9, "await": 8, "evaluation": 9, "monitoring": 9}
