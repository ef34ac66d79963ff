"""Whole lifecycles of the real stack on the emulator: the real Pulumi program deployed into moto, the rendered
state machine run by moto's interpreter, the real handlers in-process, evaluators and jobs on local endpoints.

Every scenario asserts the execution status, the run log, the alerts and that no lock is left held.
One emulator is shared by the module; each scenario uses its own pipeline ids. When the module is done, every AWS
call the handlers made must have been allowed by their roles' deployed policies.
"""

import copy
import datetime
import itertools
import json
import time

import pytest

from emulator import Emulator, PipelineConfigError, timeline
from tests.state_machines import waiting_machine

TODAY = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
TRAITS = ("source-freshness", "upstream-dependency", "resource-availability")
STACK = {
    "evaluationWindow": "8s",
    "maxPollAttempts": 5,
    "dataBucketName": "interlock-emu-data",
    "alertSubscriptions": [{"protocol": "email", "endpoint": "oncall@example.com"}],
    "schedules": [{"name": "e2e-nightly", "pipeline": "e2e-scheduled", "expression": "cron(0 5 * * ? *)"}],
    "triggerPermissions": {"stepFunctions": ["arn:aws:states:us-east-1:123456789012:stateMachine:e2e-job"]},
}


@pytest.fixture(scope="module")
def emu(pipelines_dir):
    with Emulator({**STACK, "pipelinesDir": pipelines_dir}) as emulator:
        yield emulator
        # moto does not enforce IAM: after the scenarios, every AWS call their handlers made must be one the
        # function's deployed role allows (a failure here is reported as an error at the last test's teardown).
        assert emulator.unauthorized_calls() == []


def register(emu, pid, *, trigger=None, evaluators=None, validate=True, **extra):
    """A batch-ingestion pipeline whose three traits answer PASS unless `evaluators` scripts them otherwise."""
    evaluators = evaluators or {}
    traits = {}
    for trait in TRAITS:
        spec = evaluators.get(trait, {})
        url = spec if isinstance(spec, str) else emu.http.evaluator(f"/{pid}/{trait}", **spec)
        traits[trait] = {"evaluator": url}
    if trigger is None:
        trigger = http_trigger(emu, pid, 200)
    config = {"name": pid, "archetype": "batch-ingestion", "traits": traits, **extra}
    if trigger:
        config["trigger"] = trigger
    emu.register_pipeline(config, validate=validate)
    return config


def http_trigger(emu, pid, status):
    """A synchronous HTTP trigger whose endpoint answers `status`."""
    return {"type": "http", "method": "POST", "url": emu.http.trigger(f"/{pid}/trigger", status)}


def run(emu, pid, **marker):
    marker.setdefault("date", TODAY)
    return emu.wait_for_execution(emu.write_marker(pid, **marker), timeout_s=90)


def run_failed(emu, pid, category, attempts):
    """Runs the pipeline to Interlock.RunFailed with a FAILED run log of `category` after `attempts` attempts;
    returns the execution's result."""
    result = run(emu, pid)
    assert (result["status"], result["error"]) == ("FAILED", "Interlock.RunFailed")
    log = emu.run_log(pid, TODAY)
    assert (log["status"], log["failureCategory"], log["attemptNumber"]) == ("FAILED", category, attempts)
    return result


def entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result["history"] if e["type"].endswith("StateEntered")]


def checked_evaluation(event):
    return event["type"] == "TaskStateExited" and event["stateExitedEventDetails"]["name"] == "CheckEvaluation"


def settle(emu, pid, timeout_s=90):
    """Wait for every execution of the pipeline (reruns, cascades) to end; returns their results, oldest first."""
    emu.wait_for_streams()
    results = [emu.wait_for_execution(e["executionArn"], timeout_s) for e in reversed(emu.executions(pid))]
    assert emu.lock(pid) is None, f"lock of {pid} left held: {emu.lock(pid)}"
    return results


def alert_types(emu, pid):
    return sorted(a.get("alertType") for a in emu.alerts(pid))


@pytest.mark.parametrize(
    "resource_type",
    [
        "aws:s3/bucket:Bucket",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:scheduler/schedule:Schedule",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:dynamodb/tableItem:TableItem",
    ],
)
def test_the_real_program_deploys_each_kind_of_resource(emu, resource_type):
    assert emu.deployment.of_type(resource_type)


def test_the_real_program_is_deployed_completely(emu):
    assert emu.deployment.skipped == []
    definition = emu.client("stepfunctions").describe_state_machine(stateMachineArn=emu.state_machine_arn)["definition"]
    assert "${" not in definition and emu.function_name("orchestrator") in definition
    [config] = emu.stream_mappings
    assert config["FunctionArn"].endswith(":function:" + emu.function_name("stream-router"))
    assert config["DestinationConfig"]["OnFailure"]["Destination"].endswith("-stream-dlq")
    assert "MARKER#" in config["FilterCriteria"]["Filters"][0]["Pattern"]
    bucket = emu.client("s3").get_bucket_versioning(Bucket="interlock-emu-data")
    assert bucket["Status"] == "Enabled"
    assert [a.split(" ")[0] for a in emu.deployment.adjusted] == ["aws:s3/bucketPolicy:BucketPolicy"]
    subscriptions = emu.client("sns").list_subscriptions_by_topic(TopicArn=emu.topic_arn)["Subscriptions"]
    assert "oncall@example.com" in [s["Endpoint"] for s in subscriptions]
    assert {p["name"] for p in emu.store.list_pipelines()} >= {
        "customer-features",
        "e2e-scheduled",
        "sales-daily-aggregate",
        "sales-raw-ingest",
    }
    # the registry's downstream-index edges reached the table with the configs
    assert [c["name"] for c in emu.store.downstream_configs("sales-raw-ingest")] == [
        "customer-features",
        "sales-daily-aggregate",
    ]


def test_a_schedule_firing_starts_its_pipeline(emu):
    register(emu, "e2e-scheduled")
    result = emu.wait_for_execution(emu.fire_schedule("e2e-nightly"), timeout_s=90)
    assert result["status"] == "SUCCEEDED"
    assert (result["output"]["source"], result["output"]["date"]) == ("schedule", TODAY)
    assert emu.run_log("e2e-scheduled", TODAY)["status"] == "COMPLETED"
    assert alert_types(emu, "e2e-scheduled") == []
    settle(emu, "e2e-scheduled")


def test_happy_path_with_a_synchronous_trigger(emu):
    register(emu, "e2e-sync")
    evaluated_before = emu.lambda_invocations.get("interlock-emu-evaluator", 0)
    result = run(emu, "e2e-sync")
    assert result["status"] == "SUCCEEDED"
    assert entered(result)[-3:] == ["CompleteRun", "IsMonitored", "Completed"]
    assert result["state_transitions"] == 9  # DESIGN §10.0: 9 whatever the traits (23 on main 7019b67, 13 at a65b278)
    log = emu.run_log("e2e-sync", TODAY)
    assert (log["status"], log["attemptNumber"]) == ("COMPLETED", 1)
    assert len(emu.http.requests("/e2e-sync/trigger")) == 1
    assert result["lambda_invocations"] == {"interlock-emu-orchestrator": 3, "interlock-emu-trigger": 1}
    assert emu.lambda_invocations["interlock-emu-evaluator"] - evaluated_before == 3  # by checkEvaluation
    assert alert_types(emu, "e2e-sync") == []
    settle(emu, "e2e-sync")


def test_asynchronous_job_polled_to_success(emu):
    job = emu.http.job("e2e-async", ["running", "running", "succeeded"])
    register(emu, "e2e-async", trigger=job.trigger)
    result = run(emu, "e2e-async")
    assert result["status"] == "SUCCEEDED"
    assert job.polls == 3 and len(job.runs) == 1
    assert entered(result).count("PollRunStatus") == 3
    assert result["state_transitions"] == 18  # DESIGN §10.0: 12 + 3k, 2 running polls (32 on 7019b67, 22 at a65b278)
    assert emu.run_log("e2e-async", TODAY)["status"] == "COMPLETED"
    assert alert_types(emu, "e2e-async") == []
    settle(emu, "e2e-async")


def test_not_ready_then_ready_within_the_reevaluation_loop(emu):
    register(emu, "e2e-late-ready", evaluators={"source-freshness": {"sequence": ["FAIL", "PASS"]}})
    result = run(emu, "e2e-late-ready")
    assert result["status"] == "SUCCEEDED"
    states = entered(result)
    assert states.count("WaitBeforeReevaluation") == 1 and states.count("CheckEvaluation") == 2
    assert len(emu.http.requests("/e2e-late-ready/source-freshness")) == 2
    # the other traits' PASS was still fresh (TTL 120 s and more): the second pass did not ask them again
    assert [len(emu.http.requests(f"/e2e-late-ready/{t}")) for t in TRAITS[1:]] == [1, 1]
    first_check = next(s for s in timeline.steps(result["history"]) if s.state == "CheckEvaluation")
    assert first_check.outputs[-1]["payload"]["reused"] == sorted(TRAITS[1:])
    assert emu.run_log("e2e-late-ready", TODAY)["status"] == "COMPLETED"
    assert alert_types(emu, "e2e-late-ready") == []
    settle(emu, "e2e-late-ready")


def test_validation_timeout(emu):
    register(emu, "e2e-timeout", evaluators={"upstream-dependency": {"status": "FAIL", "reason": "not yet"}})
    result = run(emu, "e2e-timeout")
    assert (result["status"], result["error"]) == ("FAILED", "Interlock.ValidationTimeout")
    assert entered(result)[-3:] == ["IsReady", "ReleaseLockAfterValidationTimeout", "ValidationTimedOut"]
    assert "TriggerPipeline" not in entered(result)
    log = emu.run_log("e2e-timeout", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "VALIDATION_TIMEOUT")
    assert emu.http.requests("/e2e-timeout/trigger") == []
    assert alert_types(emu, "e2e-timeout") == ["VALIDATION_TIMEOUT"]
    assert log["alertSent"] is True  # the alert checkValidationTimeout sent is what the run log reports
    settle(emu, "e2e-timeout")


def test_excluded_day(emu):
    weekday = datetime.date.fromisoformat(TODAY).strftime("%A").lower()
    register(emu, "e2e-excluded", exclusions={"days": [weekday]})
    result = run(emu, "e2e-excluded")
    assert result["status"] == "SUCCEEDED"
    assert entered(result) == ["PrepareRun", "IsRunDue", "Skipped"]
    assert emu.run_log("e2e-excluded", TODAY) is None
    assert emu.http.requests("/e2e-excluded/trigger") == []
    assert alert_types(emu, "e2e-excluded") == []
    settle(emu, "e2e-excluded")


def test_two_markers_at_the_same_moment_trigger_exactly_once(emu):
    register(emu, "e2e-twice")
    keys = [emu.store.write_marker("e2e-twice", schedule_id="daily", date=TODAY, source="manual") for _ in range(2)]
    arns = [emu.execution_for_marker(key) for key in keys]
    assert len(set(arns)) == 2
    results = [emu.wait_for_execution(arn, 90) for arn in arns]
    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    assert len(emu.http.requests("/e2e-twice/trigger")) == 1
    assert sum("TriggerPipeline" in entered(r) for r in results) == 1
    log = emu.run_log("e2e-twice", TODAY)
    assert (log["status"], log["attemptNumber"]) == ("COMPLETED", 1)
    assert alert_types(emu, "e2e-twice") == []
    settle(emu, "e2e-twice")


@pytest.mark.parametrize(
    "pid, status, max_attempts, category",
    [("e2e-trigger-fails", 500, 1, "TRANSIENT"), ("e2e-permanent", 400, 3, "PERMANENT")],
)
def test_a_failing_trigger_fails_the_run_and_alerts_without_a_retry(emu, pid, status, max_attempts, category):
    """A transient failure with no attempt left, and a permanent one with attempts left: neither is retried."""
    register(emu, pid, trigger=http_trigger(emu, pid, status), retry={"maxAttempts": max_attempts, "backoffSeconds": 1})
    states = entered(run_failed(emu, pid, category, attempts=1))
    assert "LogTriggerFailed" in states
    assert states.count("TriggerPipeline") == 1 and "RetryBackoffWait" not in states
    assert len(emu.http.requests(f"/{pid}/trigger")) == 1
    assert "RUN_FAILED" in alert_types(emu, pid)
    settle(emu, pid)


def test_retryable_job_failure_is_retried_to_success(emu):
    job = emu.http.job("e2e-retry", ["failed", "succeeded"])
    register(emu, "e2e-retry", trigger=job.trigger, retry={"maxAttempts": 3, "backoffSeconds": 1})
    result = run(emu, "e2e-retry")
    assert result["status"] == "SUCCEEDED"
    states = entered(result)
    assert states.count("TriggerPipeline") == 2 and "RetryBackoffWait" in states
    assert len(job.runs) == 2
    log = emu.run_log("e2e-retry", TODAY)
    assert (log["status"], log["attemptNumber"]) == ("COMPLETED", 2)
    assert [(h["status"], h["failureCategory"]) for h in log["retryHistory"]] == [("FAILED", "TRANSIENT")]
    assert alert_types(emu, "e2e-retry") == []
    settle(emu, "e2e-retry")


def test_poll_limit_reached(emu):
    job = emu.http.job("e2e-poll-limit", ["running"])
    register(emu, "e2e-poll-limit", trigger=job.trigger, retry={"maxAttempts": 3, "backoffSeconds": 1})
    result = run(emu, "e2e-poll-limit")
    assert (result["status"], result["error"]) == ("FAILED", "Interlock.RunFailed")
    assert job.polls == 5 and len(job.runs) == 1  # maxPollAttempts, and never re-triggered
    log = emu.run_log("e2e-poll-limit", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "PERMANENT")
    assert "poll limit" in log["failureMessage"]
    assert "RUN_FAILED" in alert_types(emu, "e2e-poll-limit")
    settle(emu, "e2e-poll-limit")


def test_drift_during_monitoring_alerts_and_records_a_rerun(emu):
    register(
        emu,
        "e2e-drift",
        evaluators={"source-freshness": {"sequence": ["PASS", "FAIL", "PASS"]}},
        watch={"monitoring": {"enabled": True, "duration": "5s"}},
    )
    result = run(emu, "e2e-drift")
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["monitoring"]["payload"]["lateArrivalHandled"] is True
    assert alert_types(emu, "e2e-drift") == ["TRAIT_DRIFT"]
    reruns = emu.store.list_reruns("e2e-drift")
    assert len(reruns) == 1 and reruns[0]["originalDate"] == TODAY
    results = settle(emu, "e2e-drift")
    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"]  # the rerun ran too
    assert results[1]["output"]["replay"] is True
    assert emu.run_log("e2e-drift", TODAY)["status"] == "COMPLETED"
    assert len(emu.http.requests("/e2e-drift/trigger")) == 2


def test_downstream_cascade(emu):
    register(emu, "e2e-upstream")
    register(emu, "e2e-downstream", evaluators={"upstream-dependency": "builtin:upstream-job-log"})
    config = emu.store.get_pipeline("e2e-downstream")
    config["traits"]["upstream-dependency"]["config"] = {"upstreamPipeline": "e2e-upstream"}
    emu.register_pipeline(config)
    former = copy.deepcopy(dict(config, name="e2e-former-downstream"))  # named the upstream, then another one
    emu.register_pipeline(former)
    former["traits"]["upstream-dependency"]["config"] = {"upstreamPipeline": "e2e-elsewhere"}
    emu.register_pipeline(former)
    assert [c["name"] for c in emu.store.downstream_configs("e2e-upstream")] == ["e2e-downstream"]
    result = run(emu, "e2e-upstream")
    assert result["status"] == "SUCCEEDED"
    assert "e2e-downstream" in str(result["output"]["completion"]["payload"]["cascade"])
    downstream = settle(emu, "e2e-downstream")
    assert [r["status"] for r in downstream] == ["SUCCEEDED"]
    assert downstream[0]["output"]["source"] != "manual"
    assert emu.run_log("e2e-downstream", TODAY)["status"] == "COMPLETED"
    assert len(emu.http.requests("/e2e-downstream/trigger")) == 1
    assert alert_types(emu, "e2e-upstream") == [] and alert_types(emu, "e2e-downstream") == []
    assert emu.store.list_markers("e2e-former-downstream") == []
    settle(emu, "e2e-upstream")


def test_replay_of_a_past_date(emu):
    past = (datetime.date.fromisoformat(TODAY) - datetime.timedelta(days=7)).isoformat()
    register(emu, "e2e-replay")
    assert run(emu, "e2e-replay", date=past)["status"] == "SUCCEEDED"
    again = run(emu, "e2e-replay", date=past)
    assert again["status"] == "SUCCEEDED" and "TriggerPipeline" not in entered(again)  # already done: skipped
    replayed = run(emu, "e2e-replay", date=past, replay=True)
    assert replayed["status"] == "SUCCEEDED" and "TriggerPipeline" in entered(replayed)
    log = emu.run_log("e2e-replay", past)
    assert (log["status"], log["date"], log["attemptNumber"]) == ("COMPLETED", past, 2)
    assert emu.run_log("e2e-replay", TODAY) is None
    assert len(emu.http.requests("/e2e-replay/trigger")) == 2
    assert alert_types(emu, "e2e-replay") == []
    settle(emu, "e2e-replay")


def test_malformed_marker_goes_to_the_dead_letter_queue(emu):
    key = emu.store.write_marker("e2e-malformed", schedule_id="daily", date="2026-02-30", source="manual")
    deadline = time.monotonic() + 20
    while not [d for d in emu.dead_letters() if any(r["dynamodb"]["Keys"]["SK"]["S"] == key for r in d["records"])]:
        assert time.monotonic() < deadline, "the malformed marker never reached the dead-letter queue"
        time.sleep(0.2)
    letter = next(d for d in emu.dead_letters() if any(r["dynamodb"]["Keys"]["SK"]["S"] == key for r in d["records"]))
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert letter["requestContext"]["approximateInvokeCount"] == 4  # MaximumRetryAttempts 3
    assert emu.executions("e2e-malformed") == []
    assert emu.run_log("e2e-malformed", "2026-02-30") is None and alert_types(emu, "e2e-malformed") == []
    assert emu.lock("e2e-malformed") is None


def test_unreachable_evaluator_fails_the_trait_with_a_category(emu):
    register(emu, "e2e-unreachable", evaluators={"resource-availability": emu.http.unreachable_url()})
    result = run(emu, "e2e-unreachable")
    assert (result["status"], result["error"]) == ("FAILED", "Interlock.ValidationTimeout")
    trait = emu.store.get_trait_result("e2e-unreachable", "resource-availability")  # a FAILED execution has no output
    assert trait["status"] == "FAIL" and trait["failureCategory"]
    log = emu.run_log("e2e-unreachable", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "VALIDATION_TIMEOUT")
    assert alert_types(emu, "e2e-unreachable") == ["VALIDATION_TIMEOUT"]
    settle(emu, "e2e-unreachable")


def test_pipeline_without_trigger_fails_clearly_and_frees_the_lock(emu):
    register(emu, "e2e-no-trigger", trigger=False, validate=False)  # a hand-written item: validation rejects it
    result = run(emu, "e2e-no-trigger")
    assert result["status"] == "FAILED"
    assert entered(result)[-2:] == ["ReleaseLockAfterError", "Failed"]
    log = emu.run_log("e2e-no-trigger", TODAY)
    assert (log["status"], log["failureCategory"]) == ("FAILED", "PERMANENT")
    alerts = emu.alerts("e2e-no-trigger")
    assert [a["alertType"] for a in alerts] == ["PIPELINE_ERROR"] and "trigger" in alerts[0]["message"]
    assert emu.http.requests("/e2e-no-trigger/trigger") == []
    settle(emu, "e2e-no-trigger")


def test_sla_breaches_alert_once_per_run(emu):
    register(
        emu,
        "e2e-sla",
        evaluators={"source-freshness": {"sequence": ["FAIL", "PASS"]}},
        sla={"timezone": "UTC", "evaluationDeadline": "0m", "completionDeadline": "0m"},
    )
    result = run(emu, "e2e-sla")
    assert result["status"] == "SUCCEEDED"
    assert entered(result).count("CheckEvaluation") == 2  # evaluated twice, alerted once
    assert emu.run_log("e2e-sla", TODAY)["status"] == "COMPLETED"
    assert alert_types(emu, "e2e-sla") == ["COMPLETION_SLA_BREACHED", "EVALUATION_SLA_BREACHED"]
    settle(emu, "e2e-sla")


def test_retries_exhausted_alert_once(emu):
    job = emu.http.job("e2e-exhausted", ["failed"])
    register(emu, "e2e-exhausted", trigger=job.trigger, retry={"maxAttempts": 2, "backoffSeconds": 1})
    run_failed(emu, "e2e-exhausted", "TRANSIENT", attempts=2)
    assert len(job.runs) == 2
    assert alert_types(emu, "e2e-exhausted").count("RUN_FAILED") == 1
    settle(emu, "e2e-exhausted")


def test_step_function_trigger_starts_and_awaits_an_execution(emu):
    sfn = emu.client("stepfunctions")
    job_machine = waiting_machine(sfn, "e2e-job", seconds=3)
    register(
        emu,
        "e2e-sfn-job",
        trigger={"type": "step-function", "stateMachineArn": job_machine, "arguments": {"date": "${date}"}},
    )
    result = run(emu, "e2e-sfn-job")
    assert result["status"] == "SUCCEEDED"
    [job] = sfn.list_executions(stateMachineArn=job_machine)["executions"]
    assert job["status"] == "SUCCEEDED"
    assert json.loads(sfn.describe_execution(executionArn=job["executionArn"])["input"]) == {"date": TODAY}
    # awaited by event, not polled: the job's end reached the job-events function through the stack's rule
    assert "AwaitJobCompletion" in entered(result) and "PollRunStatus" not in entered(result)
    ends = [d for d in emu.event_deliveries() if d["rule"].endswith("job-ends-step-functions")]
    assert [d["event"]["detail"]["status"] for d in ends] == ["SUCCEEDED"] and ends[0]["status"] == "DELIVERED"
    assert emu.run_log("e2e-sfn-job", TODAY)["status"] == "COMPLETED"
    assert alert_types(emu, "e2e-sfn-job") == []
    settle(emu, "e2e-sfn-job")


def test_data_landing_in_s3_during_the_reevaluation_loop(emu):
    """builtin:s3-object on the stack's data bucket: missing at the first evaluation, present at a later one."""
    register(emu, "e2e-landing", evaluators={"source-freshness": "builtin:s3-object"})
    config = emu.store.get_pipeline("e2e-landing")
    config["traits"]["source-freshness"]["config"] = {"key": "landing/${date}/sales.csv"}
    emu.register_pipeline(config)
    arn = emu.write_marker("e2e-landing", date=TODAY)
    deadline = time.monotonic() + 30
    while not any(checked_evaluation(e) for e in emu.history(arn)):  # the first evaluation found nothing
        assert time.monotonic() < deadline
        time.sleep(0.1)
    emu.client("s3").put_object(Bucket="interlock-emu-data", Key=f"landing/{TODAY}/sales.csv", Body=b"id,amount\n")
    result = emu.wait_for_execution(arn, timeout_s=90)
    assert result["status"] == "SUCCEEDED"
    assert entered(result).count("CheckEvaluation") >= 2
    trait = next(
        t for t in result["output"]["evaluation"]["payload"]["traitResults"] if t["traitType"] == "source-freshness"
    )
    assert trait["status"] == "PASS"
    stored = emu.store.get_trait_result("e2e-landing", "source-freshness")
    assert stored["status"] == "PASS" and stored["value"]["key"] == f"landing/{TODAY}/sales.csv"
    assert emu.run_log("e2e-landing", TODAY)["status"] == "COMPLETED"
    assert alert_types(emu, "e2e-landing") == []
    settle(emu, "e2e-landing")


def test_register_pipeline_rejects_an_invalid_config_like_pulumi_up(emu):
    with pytest.raises(PipelineConfigError) as error:
        emu.register_pipeline({"name": "e2e-invalid", "archetype": "batch-ingestion", "trigger": {"type": "http"}})
    assert any(p.startswith("trigger.url") for p in error.value.problems)
    with pytest.raises(PipelineConfigError, match="no-such-archetype"):
        register(emu, "e2e-invalid", archetype="no-such-archetype")
    with pytest.raises(PipelineConfigError, match="trigger: required"):
        register(emu, "e2e-invalid", trigger=False)
    assert emu.store.get_pipeline("e2e-invalid") is None


def test_a_monitoring_cycle_is_three_states_that_evaluate_every_trait(emu):
    register(emu, "e2e-monitor", watch={"monitoring": {"enabled": True, "duration": "3s"}})
    result = run(emu, "e2e-monitor")
    assert result["status"] == "SUCCEEDED" and result["output"]["monitoring"]["payload"]["expired"] is True
    states = entered(result)
    cycles = states.count("CheckMonitoring")
    assert cycles >= 1 and states[states.index("IsMonitored") + 1 :] == [
        "MonitoringWait",
        "CheckMonitoring",
        "IsMonitoringOver",
    ] * cycles + ["Completed"]
    evaluated = [e for e in emu.store.list_events("e2e-monitor") if e["kind"] == "TRAIT_EVALUATED"]
    assert len(evaluated) == len(TRAITS) * (1 + cycles)  # the evaluation pass, then every trait in every cycle
    assert [r["traitType"] for r in result["output"]["monitoring"]["payload"]["traitResults"]] == list(TRAITS)
    settle(emu, "e2e-monitor")


def test_an_evaluator_that_crashes_while_monitoring_fails_the_execution_and_releases_the_lock(emu):
    register(emu, "e2e-monitor-crash", watch={"monitoring": {"enabled": True, "duration": "1h"}})
    calls = itertools.count()
    with emu.faults.raise_in(
        "evaluator",
        times=None,
        error="Sandbox.Timedout",
        matching=lambda e: e.get("pipelineID") == "e2e-monitor-crash" and next(calls) >= len(TRAITS),
    ):
        result = run(emu, "e2e-monitor-crash")
    assert (result["status"], result["error"]) == ("FAILED", "Interlock.LifecycleFailed")
    states = entered(result)
    assert states.count("CheckMonitoring") == 1 and "BuildErrorAlert" in states  # EvaluatorFailed: retried once
    assert "EXECUTION_ERROR" in alert_types(emu, "e2e-monitor-crash")
    assert emu.store.list_reruns("e2e-monitor-crash") == []  # a broken evaluator is no drift
    settle(emu, "e2e-monitor-crash")  # asserts the lock was released
