"""Dry run through the emulator: a pipeline whose traits pass records what its trigger would have sent and ends
SUCCEEDED, without the job seeing a call, without a run log, a lock left held or a downstream run; the same for a
whole stack in dry run, where a pipeline's own `dryRun: false` does not take it out."""

from __future__ import annotations

import datetime

import pytest

from emulator import Emulator
from emulator.serve import stack_document

TODAY = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
NOT_REACHED = {"WaitForRun", "PollRunStatus", "AwaitJobCompletion", "CompleteRun"}


def register(emu: Emulator, name: str, trigger: dict, **extra) -> None:
    traits = {t: {"evaluator": emu.http.evaluator(f"/{name}/{t}")} for t in TRAITS}
    emu.register_pipeline({"name": name, "archetype": "batch-ingestion", "traits": traits, "trigger": trigger, **extra})


def run(emu: Emulator, name: str) -> dict:
    result = emu.wait_for_execution(emu.write_marker(name, date=TODAY), timeout_s=90)
    assert result["status"] == "SUCCEEDED", (result["error"], result["cause"])
    return result


def entered(result: dict) -> set[str]:
    return {e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")}


def would_trigger(emu: Emulator, name: str) -> list[dict]:
    return [e for e in emu.store.list_events(name, limit=200) if e["kind"] == "DRY_RUN_WOULD_TRIGGER"]


def assert_nothing_left(emu: Emulator, name: str) -> None:
    assert emu.lock(name) is None
    assert emu.run_log(name, TODAY) is None
    assert emu.alerts(name) == []


class TestAPipelineInDryRun:
    @pytest.fixture(scope="class")
    @classmethod
    def emu(cls, pipelines_dir):
        with Emulator({"pipelinesDir": pipelines_dir}) as emulator:
            yield emulator
            assert emulator.unauthorized_calls() == []

    def test_it_records_the_request_and_the_job_sees_no_call(self, emu):
        job = emu.http.job("dry-job")
        register(emu, "dry-job", {**job.trigger, "body": {"day": "${date}"}}, dryRun=True)
        register(
            emu,
            "dry-downstream",
            emu.http.job("dry-downstream").trigger,
            traits={"upstream-dependency": {"evaluator": "builtin:upstream-job-log"}},
        )
        downstream = emu.store.get_pipeline("dry-downstream")
        downstream["traits"]["upstream-dependency"]["config"] = {"upstreamPipeline": "dry-job"}
        emu.register_pipeline(downstream)

        result = run(emu, "dry-job")
        states = entered(result)
        assert {"CheckEvaluation", "TriggerPipeline", "ReleaseLock"} <= states
        assert states.isdisjoint(NOT_REACHED)
        assert result["output"]["triggerResult"]["status"] == "dryRun"

        assert job.runs == [] and [r for r in emu.http.requests() if r["path"].startswith("/jobs/dry-job")] == []
        (event,) = would_trigger(emu, "dry-job")
        request = event["details"]["request"]
        assert request["type"] == "airflow"
        assert request["target"] == f"POST {job.url}/api/v1/dags/dry-job/dagRuns"
        assert request["body"]["conf"] == {"day": TODAY}
        assert (event["details"]["date"], event["details"]["dryRunBy"]) == (TODAY, "pipeline")
        assert emu.store.get_run(event["runID"])["status"] == "CANCELLED"
        assert_nothing_left(emu, "dry-job")

        emu.wait_for_streams()
        assert emu.executions("dry-downstream") == []  # nothing cascades from a dry run

    def test_the_served_stack_document_says_the_stack_itself_is_not_in_dry_run(self, emu):
        assert stack_document(emu)["dry_run"] is False

    def test_a_second_marker_of_the_date_records_again(self, emu):
        run(emu, "dry-job")  # no run log, so no "date already completed": each execution shows what it would do
        assert len(would_trigger(emu, "dry-job")) == 2
        assert_nothing_left(emu, "dry-job")


class TestAStackInDryRun:
    @pytest.fixture(scope="class")
    @classmethod
    def emu(cls, pipelines_dir):
        with Emulator({"pipelinesDir": pipelines_dir, "dryRun": True}) as emulator:
            yield emulator
            assert emulator.unauthorized_calls() == []

    def test_every_pipeline_is_in_dry_run_whatever_its_own_flag(self, emu):
        url = emu.http.trigger("/stack-dry/trigger", 200)
        register(emu, "stack-dry", {"type": "http", "url": url}, dryRun=False, sla={"completionDeadline": "00:01"})
        result = run(emu, "stack-dry")
        assert entered(result).isdisjoint(NOT_REACHED)
        assert emu.http.requests("/stack-dry/trigger") == []
        (event,) = would_trigger(emu, "stack-dry")
        assert event["details"]["dryRunBy"] == "stack"
        assert event["details"]["request"] == {"type": "http", "target": f"POST {url}", "headers": {}, "body": None}
        assert_nothing_left(emu, "stack-dry")
        # the deadline passed without a completed date, but a dry run never completes one: no breach from outside
        report = emu.run_watchdog(f"{TODAY}T23:00:00Z")
        assert [a for a in report["alerts"] if a["pipelineID"] == "stack-dry"] == []

    def test_the_served_stack_document_tells_interlock_status_the_stack_is_in_dry_run(self, emu):
        assert stack_document(emu)["dry_run"] is True
