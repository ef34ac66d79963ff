"""Scripted AWS jobs: Glue job runs, EMR steps, EMR Serverless job runs and Step Functions executions whose state
follows a script, as the handlers' status calls see it, and which announce their state changes on EventBridge.

    job = emu.jobs.glue("nightly-etl", ["RUNNING", "RUNNING", "SUCCEEDED"])
    emu.register_pipeline({..., "trigger": job.trigger})

The handlers start a scripted job through boto3 exactly as in production (StartJobRun, AddJobFlowSteps,
StartJobRun (emr-serverless), StartExecution). Each run of the job follows the script from its start: by default one
state a second (`every`), or one state per status call (`every=None`: GetJobRun, DescribeStep, GetJobRun,
DescribeExecution, as `emu.http.job` serves its polls); the last state stays. When a run enters a state its service
announces, the service's event (the real envelope and detail) is put on the default bus, where the rules the
program declares deliver it; `lost`, `delay_s` and `duplicates` make it go missing, arrive late or arrive more than
once, as AWS's best-effort delivery may. `finish(state)` ends a run at the moment a test chooses.

Where the state lives, per service (moto 5.2.5):
- Glue: a `FakeJobRun` is one of moto's `ManagedState` models (`glue::job_run`), whose state manager has one chain
  for all runs (STARTING → RUNNING → SUCCEEDED) and cannot express a per-job script; a scripted run keeps moto's
  protocol but with an empty chain (moto never moves it) and its `advance()`, which moto calls on every GetJobRun,
  ticks the script. The start is seen by wrapping `FakeJob.start_job_run`.
- EMR steps and EMR Serverless job runs have no state model in moto (a step stays RUNNING, a job run is SUCCESS at
  once): the backends' start and status methods are wrapped, and the script writes the state into moto's object.
- Step Functions: the job is a real state machine whose one Task waits for a task token
  (`sqs:sendMessage.waitForTaskToken` to the job's queue); a terminal state is reached through the real API
  (SendTaskSuccess, SendTaskFailure, StopExecution) or the emulator's timeout, so moto's interpreter ends the
  execution, writes its history, and the status-change poller (events.py) emits its events, which this module
  delays, duplicates or drops as the job says. DescribeExecution is wrapped to count status calls.
"""

from __future__ import annotations

import dataclasses
import datetime
import heapq
import itertools
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypedDict, Unpack

from moto.emr import models as emr_models
from moto.emrserverless import models as emr_serverless_models
from moto.glue import models as glue_models
from moto.stepfunctions.parser.models import StepFunctionsParserBackend, stepfunctions_parser_backends

from .events import STATUS_CHANGE, make_event, time_out
from .passes import PassLoop
from .server import ACCOUNT_ID, region

TICK_SECONDS = 0.05
SETTLE_SECONDS = 5.0  # how long a Step Functions finish waits for moto's interpreter to end the execution
EMULATOR_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/emulator-scripted-jobs"
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Service:
    """What a job service shows and announces: its states, the terminal ones, the ones it puts on EventBridge."""

    trigger_type: str
    source: str
    detail_type: str
    states: frozenset[str]
    terminal: frozenset[str]
    announced: frozenset[str]
    default_script: tuple[str, ...]


GLUE = Service(
    "glue",
    "aws.glue",
    "Glue Job State Change",
    frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING", "STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT", "ERROR"}),
    frozenset({"STOPPED", "SUCCEEDED", "FAILED", "TIMEOUT", "ERROR"}),
    frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"}),  # Glue announces terminal states only
    ("RUNNING", "SUCCEEDED"),
)
EMR = Service(
    "emr",
    "aws.emr",
    "EMR Step Status Change",
    frozenset({"PENDING", "CANCEL_PENDING", "RUNNING", "COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"}),
    frozenset({"COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"}),
    frozenset({"PENDING", "RUNNING", "COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"}),
    ("RUNNING", "COMPLETED"),
)
_EMR_SERVERLESS_STATES = frozenset(
    {"SUBMITTED", "QUEUED", "PENDING", "SCHEDULED", "RUNNING", "SUCCESS", "FAILED", "CANCELLING", "CANCELLED"}
)
EMR_SERVERLESS = Service(
    "emr-serverless",
    "aws.emr-serverless",
    "EMR Serverless Job Run State Change",
    _EMR_SERVERLESS_STATES,
    frozenset({"SUCCESS", "FAILED", "CANCELLED"}),
    _EMR_SERVERLESS_STATES,  # every change is announced
    ("RUNNING", "SUCCESS"),
)
STEP_FUNCTIONS = Service(
    "step-function",
    "aws.states",
    STATUS_CHANGE,
    frozenset({"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}),
    frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}),
    frozenset({"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}),
    ("RUNNING", "SUCCEEDED"),
)


def _check(service: Service, states: Sequence[str], options: JobOptions) -> None:
    """Refuse a script or options the service cannot show, before anything is created."""
    unknown_options = set(options) - set(JobOptions.__annotations__)
    if unknown_options:
        raise TypeError(f"unknown scripted job options {sorted(unknown_options)}")
    unknown = [s for s in states if s not in service.states]
    if not states or unknown:
        raise ValueError(f"a scripted {service.trigger_type} job needs states from {sorted(service.states)}")
    if any(s in service.terminal for s in states[:-1]):
        raise ValueError(f"only the last state of a script may be terminal: {list(states)}")
    every = options.get("every", 1.0)
    if (every is not None and every <= 0) or options.get("delay_s", 0.0) < 0 or options.get("duplicates", 0) < 0:
        raise ValueError("every must be positive (or None), delay_s and duplicates cannot be negative")


def _now() -> datetime.datetime:
    """Now in UTC without a zone, as moto keeps its timestamps."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class JobOptions(TypedDict, total=False):
    """How a scripted job's runs move and how its events travel: the keywords every declaration takes."""

    every: float | None  # seconds each state lasts (default 1); None: one state per status call
    lost: bool | Collection[str]  # drop the events (True, or those of these states); the state still changes
    delay_s: float  # put each event on the bus this much later
    duplicates: int  # extra copies of each event (the same event, the same id)
    message: str | None  # the failure's text a run ending in failure shows (unless finish gives one)


@dataclasses.dataclass
class JobRun:
    """One run of a scripted job: its identity (the ids the handlers record), the state it shows, what it went
    through (`states`, one entry per change) and how many status calls it answered."""

    job: ScriptedJob
    identity: dict[str, str]
    target: Any  # moto's object
    started: float = dataclasses.field(default_factory=time.monotonic)
    status_calls: int = 0
    state: str = ""
    states: list[str] = dataclasses.field(default_factory=list)
    forced: str | None = None
    message: str | None = None
    output: Any = None

    def __post_init__(self) -> None:
        self.message = self.message or self.job.message

    @property
    def ended(self) -> bool:
        return self.state in self.job.service.terminal

    def scripted_state(self) -> str:
        """The state the script gives now: by elapsed time, or by the status calls answered so far."""
        if self.forced:
            return self.forced
        script = self.job.script
        if self.job.every is None:
            index = max(self.status_calls - 1, 0)
        else:
            index = math.floor((time.monotonic() - self.started) / self.job.every)
        return script[min(index, len(script) - 1)]


@dataclasses.dataclass
class ScriptedJob:
    """A scripted job of one service; `trigger` is the pipeline trigger config that starts it."""

    service: Service
    name: str
    script: tuple[str, ...]
    every: float | None
    lost: bool | Collection[str]
    delay_s: float
    duplicates: int
    message: str | None  # the failure's text a run ending in failure shows, unless finish gives one
    trigger: dict
    finisher: Callable[..., None]
    runs: list[JobRun] = dataclasses.field(default_factory=list)
    events: list[dict] = dataclasses.field(default_factory=list)  # as put on the bus (a duplicate once per copy)
    lost_events: list[dict] = dataclasses.field(default_factory=list)

    @property
    def status_calls(self) -> int:
        return sum(run.status_calls for run in self.runs)

    def loses(self, state: str) -> bool:
        return self.lost is True or (not isinstance(self.lost, bool) and state in self.lost)

    def finish(
        self, state: str, *, run: JobRun | None = None, message: str | None = None, output: Any = None
    ) -> JobRun:
        """End a run (the latest by default) in the terminal `state` now, whatever its script says; `message` is
        the failure's text (error message, step reason, state details, execution cause), `output` a Step
        Functions execution's output. Returns the run."""
        if state not in self.service.terminal:
            terminal = sorted(self.service.terminal)
            raise ValueError(f"{state!r} is not a terminal {self.service.trigger_type} state: {terminal}")
        if run is None:
            if not self.runs:
                raise LookupError(f"scripted job {self.name!r} has not been started")
            run = self.runs[-1]
        self.finisher(run, state, message=message, output=output)
        return run


class ScriptedJobs:
    """The scripted jobs of one emulator: `emu.jobs` (see the module docstring)."""

    def __init__(self, client: Callable[[str], Any], publish: Callable[[dict], None]) -> None:
        self._client = client
        self._publish = publish
        self._lock = threading.RLock()
        self._glue: dict[str, ScriptedJob] = {}
        self._emr: dict[tuple[str, str], ScriptedJob] = {}
        self._emr_serverless: dict[tuple[str, str], ScriptedJob] = {}
        self._machines: dict[str, ScriptedJob] = {}  # state machine ARN -> job
        self._runs: dict[str, JobRun] = {}  # the run's own ID (job run ID, step ID, execution ARN) -> run
        self._tokens: dict[str, str] = {}  # execution ARN -> task token
        self._queues: dict[str, str] = {}  # state machine ARN -> queue URL
        self._delayed: list[tuple[float, int, ScriptedJob, dict]] = []
        self._order = itertools.count()
        self._patches: list[tuple[Any, str, Any]] = []
        self._loop = PassLoop("scripted-jobs", TICK_SECONDS, self._pass)

    # -- declaring jobs -------------------------------------------------------------------------------------------
    def glue(
        self,
        name: str,
        states: Sequence[str] = GLUE.default_script,
        **options: Unpack[JobOptions],
    ) -> ScriptedJob:
        """A Glue job `name` (created in moto when absent) whose runs show `states` in order (`options`:
        JobOptions)."""
        _check(GLUE, states, options)
        glue = self._client("glue")
        try:
            glue.get_job(JobName=name)
        except glue.exceptions.EntityNotFoundException:
            glue.create_job(
                Name=name,
                Role=EMULATOR_ROLE,
                Command={"Name": "glueetl", "ScriptLocation": f"s3://emulator-scripts/{name}.py"},
            )
        return self._job(GLUE, name, states, {"type": "glue", "jobName": name}, self._glue, name, options)

    def emr(
        self,
        name: str,
        states: Sequence[str] = EMR.default_script,
        *,
        cluster_id: str | None = None,
        **options: Unpack[JobOptions],
    ) -> ScriptedJob:
        """EMR steps named `name` on the cluster `cluster_id` (created waiting, with that ID, when absent: a stack's
        `triggerPermissions` can name it before the emulator starts) or on a new one, showing `states` in order."""
        _check(EMR, states, options)
        backend = emr_models.emr_backends[ACCOUNT_ID][region()]
        if cluster_id not in backend.clusters:
            created = self._client("emr").run_job_flow(
                Name=f"emulator-{name}",
                ReleaseLabel="emr-7.5.0",
                Instances={"InstanceCount": 1, "MasterInstanceType": "m5.xlarge", "KeepJobFlowAliveWhenNoSteps": True},
                JobFlowRole="EMR_EC2_DefaultRole",
                ServiceRole="EMR_DefaultRole",
            )["JobFlowId"]
            if cluster_id is None:
                cluster_id = created
            else:  # moto draws cluster IDs at random
                cluster = backend.clusters.pop(created)
                cluster.id = cluster_id
                backend.clusters[cluster_id] = cluster
        trigger = {"type": "emr", "clusterId": cluster_id, "jobName": name}
        return self._job(EMR, name, states, trigger, self._emr, (cluster_id, name), options)

    def emr_serverless(
        self,
        name: str,
        states: Sequence[str] = EMR_SERVERLESS.default_script,
        *,
        application_id: str | None = None,
        **options: Unpack[JobOptions],
    ) -> ScriptedJob:
        """EMR Serverless job runs named `name` on the application `application_id` (created, with that ID, when
        absent) or on a new Spark application, showing `states` in order."""
        _check(EMR_SERVERLESS, states, options)
        backend = emr_serverless_models.emrserverless_backends[ACCOUNT_ID][region()]
        if application_id not in backend.applications:
            created = self._client("emr-serverless").create_application(
                name=f"emulator-{name}", releaseLabel="emr-7.5.0", type="SPARK"
            )["applicationId"]
            if application_id is None:
                application_id = created
            else:  # moto draws application IDs at random
                application = backend.applications.pop(created)
                application.id, application.arn = application_id, application.arn.replace(created, application_id)
                backend.applications[application_id] = application
        trigger = {
            "type": "emr-serverless",
            "applicationId": application_id,
            "executionRoleArn": EMULATOR_ROLE,
            "jobName": name,
            "entryPoint": f"s3://emulator-scripts/{name}.py",
        }
        return self._job(EMR_SERVERLESS, name, states, trigger, self._emr_serverless, (application_id, name), options)

    def step_function(
        self,
        name: str,
        states: Sequence[str] = STEP_FUNCTIONS.default_script,
        **options: Unpack[JobOptions],
    ) -> ScriptedJob:
        """A state machine `name` whose executions show `states` in order (RUNNING, then one terminal status)."""
        _check(STEP_FUNCTIONS, states, options)
        queue_url = self._client("sqs").create_queue(QueueName=f"emulator-job-{name}")["QueueUrl"]
        definition = {
            "Comment": "scripted by the emulator: waits until the script ends it",
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": queue_url,
                        "MessageBody": {"token.$": "$$.Task.Token", "executionArn.$": "$$.Execution.Id"},
                    },
                    "End": True,
                }
            },
        }
        arn = self._client("stepfunctions").create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=EMULATOR_ROLE
        )["stateMachineArn"]
        with self._lock:
            self._queues[arn] = queue_url
        trigger = {"type": "step-function", "stateMachineArn": arn}
        return self._job(STEP_FUNCTIONS, name, states, trigger, self._machines, arn, options)

    def _job(
        self,
        service: Service,
        name: str,
        states: Sequence[str],
        trigger: dict,
        registry: dict,
        key: Any,
        options: JobOptions,
    ) -> ScriptedJob:
        every, delay_s = options.get("every", 1.0), options.get("delay_s", 0.0)
        duplicates, lost, message = options.get("duplicates", 0), options.get("lost", False), options.get("message")
        script = tuple(states)
        job = ScriptedJob(service, name, script, every, lost, delay_s, duplicates, message, trigger, self._finish)
        with self._lock:
            registry[key] = job
        return job

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def install(self) -> None:
        """Wrap moto's start and status methods of the four services; start the clock that moves timed scripts."""
        jobs = self

        def glue_start(job: Any, *args: Any, **kwargs: Any) -> str:
            run_id = original_glue_start(job, *args, **kwargs)
            jobs._glue_started(job, run_id)
            return run_id

        def emr_add_steps(backend: Any, job_flow_id: str, steps: list) -> list:
            added = original_add_steps(backend, job_flow_id, steps)
            jobs._emr_started(job_flow_id, added)
            return added

        def emr_describe_step(backend: Any, cluster_id: str, step_id: str) -> Any:
            jobs._status_call(step_id)
            return original_describe_step(backend, cluster_id, step_id)

        def emr_serverless_start(backend: Any, application_id: str, *args: Any, **kwargs: Any) -> Any:
            job_run = original_emr_serverless_start(backend, application_id, *args, **kwargs)
            jobs._emr_serverless_started(application_id, job_run)
            return job_run

        def emr_serverless_get(backend: Any, application_id: str, job_run_id: str) -> Any:
            jobs._status_call(job_run_id)
            return original_emr_serverless_get(backend, application_id, job_run_id)

        def describe_execution(backend: Any, execution_arn: str) -> Any:
            execution = original_describe_execution(backend, execution_arn)
            if execution.state_machine_arn in jobs._machines:
                jobs._execution_seen(execution)
                jobs._status_call(execution_arn)
            return execution

        original_glue_start = self._patch(glue_models.FakeJob, "start_job_run", glue_start)
        original_add_steps = self._patch(emr_models.ElasticMapReduceBackend, "add_job_flow_steps", emr_add_steps)
        original_describe_step = self._patch(emr_models.ElasticMapReduceBackend, "describe_step", emr_describe_step)
        backend_class = emr_serverless_models.EMRServerlessBackend
        original_emr_serverless_start = self._patch(backend_class, "start_job_run", emr_serverless_start)
        original_emr_serverless_get = self._patch(backend_class, "get_job_run", emr_serverless_get)
        original_describe_execution = self._patch(StepFunctionsParserBackend, "describe_execution", describe_execution)
        self._loop.start()

    def uninstall(self) -> None:
        self._loop.stop()
        for owner, name, previous in reversed(self._patches):
            if previous is None:
                delattr(owner, name)
            else:
                setattr(owner, name, previous)
        self._patches.clear()

    def _patch(self, owner: type, name: str, replacement: Callable) -> Callable:
        self._patches.append((owner, name, owner.__dict__.get(name)))
        original = getattr(owner, name)
        setattr(owner, name, replacement)
        return original

    def wait_pass(self, timeout_s: float = 5) -> bool:
        """Block until a full pass of the clock has started and ended after this call."""
        return self._loop.wait_pass(timeout_s)

    def _pass(self) -> None:
        with self._lock:
            self._discover_executions()
            for run in list(self._runs.values()):
                self._tick(run)
            self._send_due()

    def _tick(self, run: JobRun) -> None:
        try:
            if run.job.every is not None and not self._ended(run):
                self._apply(run, run.scripted_state())
        except Exception:
            logger.exception("scripted jobs: run %s could not move", run.identity)

    # -- runs starting --------------------------------------------------------------------------------------------
    def _glue_started(self, fake_job: Any, run_id: str) -> None:
        with self._lock:
            job = self._glue.get(fake_job.name)
            if job is None:
                return
            fake_run = next(r for r in fake_job.job_runs if r.job_run_id == run_id)
            fake_run._transitions = []  # moto's own chain never moves a scripted run
            run = JobRun(job, {"jobName": fake_job.name, "jobRunId": run_id}, fake_run)
            fake_run.advance = lambda: self._status_call(run_id)  # moto calls it on every GetJobRun
            as_dict = fake_run.as_dict
            fake_run.as_dict = lambda: _with_error_message(as_dict(), run)  # moto's answer has no ErrorMessage
            self._started(run_id, run)

    def _emr_started(self, cluster_id: str, steps: list) -> None:
        with self._lock:
            for step in steps:
                job = self._emr.get((cluster_id, step.name))
                if job is not None:
                    self._started(step.id, JobRun(job, {"clusterId": cluster_id, "stepId": step.id}, step))

    def _emr_serverless_started(self, application_id: str, job_run: Any) -> None:
        with self._lock:
            job = self._emr_serverless.get((application_id, job_run.name))
            if job is not None:
                job_run.created_by = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/interlock-trigger"
                identity = {"applicationId": application_id, "jobRunId": job_run.id}
                self._started(job_run.id, JobRun(job, identity, job_run))

    def _discover_executions(self) -> None:
        backend = stepfunctions_parser_backends[ACCOUNT_ID][region()]
        for machine in list(backend.state_machines):
            if machine.arn in self._machines:
                for execution in list(machine.executions):
                    self._execution_seen(execution)

    def _execution_seen(self, execution: Any) -> None:
        with self._lock:
            arn = execution.execution_arn
            if arn not in self._runs:
                job = self._machines[execution.state_machine_arn]
                self._started(arn, JobRun(job, {"executionArn": arn}, execution, state="RUNNING", states=["RUNNING"]))

    def _started(self, run_id: str, run: JobRun) -> None:
        self._runs[run_id] = run
        run.job.runs.append(run)
        self._apply(run, run.scripted_state())

    # -- states ---------------------------------------------------------------------------------------------------
    def _status_call(self, run_id: str) -> None:
        """A status call about `run_id` is being answered: when it is a scripted run, count the call and show the
        state the script gives now."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                return
            run.status_calls += 1
            if not self._ended(run):
                self._apply(run, run.scripted_state())

    def _ended(self, run: JobRun) -> bool:
        """Whether the run ended; moto may also have ended it (CancelJobRun, StopExecution, a timeout), which the
        service announces too."""
        if not run.ended:
            shown = _shown_state(run)
            if shown != run.state and shown in run.job.service.terminal:
                self._entered(run, shown)
        return run.ended

    def _finish(self, run: JobRun, state: str, *, message: str | None = None, output: Any = None) -> None:
        with self._lock:
            if self._ended(run):
                raise ValueError(f"the run {run.identity} already ended {run.state}")
            run.forced, run.message, run.output = state, message or run.message, output
            self._apply(run, state)

    def _apply(self, run: JobRun, state: str) -> None:
        """Show `state` in moto's object (a Step Functions execution is ended through the API), then enter it."""
        if state == run.state:
            return
        service, target, now = run.job.service, run.target, _now()
        if service is GLUE:
            target.status = state
            target.modified_on = now
            if state in GLUE.terminal:
                target.completed_on = now
        elif service is EMR:
            target.state = state
            if state == "RUNNING" and target.start_date_time is None:
                target.start_date_time = now
            if state in EMR.terminal:
                target.end_date_time = now
                target.last_state_change_reason = run.message if state != "COMPLETED" else None
        elif service is EMR_SERVERLESS:
            target.state = state
            target.updated_at = now
            if run.message and state in ("FAILED", "CANCELLED"):
                target.state_details = run.message
        else:
            self._end_execution(run, state)
        self._entered(run, state)

    def _entered(self, run: JobRun, state: str) -> None:
        """Record the run's new state and announce it when the service does (the status-change poller announces
        a Step Functions execution's)."""
        previous, run.state = run.state, state
        run.states.append(state)
        service = run.job.service
        if service is not STEP_FUNCTIONS and state in service.announced:
            detail = _detail(run, previous, _now())
            self._announce(run.job, make_event(service.source, service.detail_type, detail))

    def _end_execution(self, run: JobRun, state: str) -> None:
        execution = run.target
        backend = stepfunctions_parser_backends[ACCOUNT_ID][region()]
        if state == "SUCCEEDED":
            output = run.output if run.output is not None else {}
            backend.send_task_success(self._token(run), json.dumps(output))
        elif state == "FAILED":
            backend.send_task_failure(self._token(run), "Scripted.Failed", run.message or "failed as scripted")
        elif state == "ABORTED":
            backend.stop_execution(execution.execution_arn)
        elif state == "TIMED_OUT":
            time_out(execution)
        else:
            return
        deadline = time.monotonic() + SETTLE_SECONDS
        while execution.status == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.01)

    def _token(self, run: JobRun) -> str:
        """The task token the execution's waiting Task sent to the job's queue."""
        arn = run.identity["executionArn"]
        sqs = self._client("sqs")
        deadline = time.monotonic() + SETTLE_SECONDS
        while arn not in self._tokens:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the scripted execution {arn} did not reach its waiting Task")
            url = self._queues[run.target.state_machine_arn]
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(message["Body"])
                self._tokens[body["executionArn"]] = body["token"]
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if arn not in self._tokens:
                time.sleep(0.02)
        return self._tokens[arn]

    # -- events ---------------------------------------------------------------------------------------------------
    def relay(self, event: dict) -> None:
        """Publish a Step Functions status change (from the poller): a scripted job's with its delivery options."""
        job = None
        if event.get("source") == "aws.states":
            job = self._machines.get(event["detail"].get("stateMachineArn", ""))
        if job is None:
            self._publish(event)
        else:
            with self._lock:
                self._announce(job, event)

    def _announce(self, job: ScriptedJob, event: dict) -> None:
        state = event["detail"].get("state") or event["detail"].get("status")
        if job.loses(state):
            job.lost_events.append(event)
        elif job.delay_s:
            heapq.heappush(self._delayed, (time.monotonic() + job.delay_s, next(self._order), job, event))
        else:
            self._send(job, event)

    def _send(self, job: ScriptedJob, event: dict) -> None:
        for _ in range(1 + job.duplicates):  # a duplicate is the same event (same id), as EventBridge redelivers
            job.events.append(event)
            self._publish(event)

    def _send_due(self) -> None:
        while self._delayed and self._delayed[0][0] <= time.monotonic():
            _, _, job, event = heapq.heappop(self._delayed)
            self._send(job, event)


def _with_error_message(answer: dict, run: JobRun) -> dict:
    failed = run.message and run.state in GLUE.terminal and run.state != "SUCCEEDED"
    return {**answer, "ErrorMessage": run.message} if failed else answer


def _iso_micros(moment: datetime.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SEVERITY = {"FAILED": "ERROR", "ERROR": "ERROR", "TIMEOUT": "WARN", "CANCELLED": "WARN", "INTERRUPTED": "WARN"}
_GLUE_MESSAGES = {
    "SUCCEEDED": "Job run succeeded",
    "FAILED": "Job run failed",
    "TIMEOUT": "Job run timed out",
    "STOPPED": "Job run stopped",
}
_EMR_VERBS = {
    "PENDING": "was added",
    "RUNNING": "started running",
    "COMPLETED": "completed execution",
    "CANCELLED": "was cancelled",
    "FAILED": "failed",
    "INTERRUPTED": "was interrupted",
}


def _shown_state(run: JobRun) -> str:
    """The state moto's object shows now."""
    target = run.target
    return target.status if run.job.service in (GLUE, STEP_FUNCTIONS) else target.state


def _detail(run: JobRun, previous: str, now: datetime.datetime) -> dict:
    """The event detail the service sends for a run entering `run.state` (AWS's field names and formats)."""
    state, service, target = run.state, run.job.service, run.target
    severity = _SEVERITY.get(state, "INFO")
    if service is GLUE:
        message = _GLUE_MESSAGES[state] + (f": {run.message}" if run.message else "")
        return {**run.identity, "severity": severity, "state": state, "message": message}
    if service is EMR:
        moment = now.strftime("%Y-%m-%d %H:%M UTC")
        message = (
            f"Step {target.id} ({target.name}) in Amazon EMR cluster {run.identity['clusterId']} "
            f"{_EMR_VERBS[state]} at {moment}." + (f" {run.message}" if run.message else "")
        )
        return {
            "severity": severity,
            "actionOnFailure": target.action_on_failure,
            "stepId": target.id,
            "name": target.name,
            "clusterId": run.identity["clusterId"],
            "state": state,
            "message": message,
        }
    detail = {
        "jobRunId": target.id,
        "jobRunName": target.name,
        "applicationId": target.application_id,
        "arn": target.arn,
        "releaseLabel": target.release_label,
        "state": state,
        "previousState": previous or None,
        "createdBy": target.created_by,
        "updatedAt": _iso_micros(now),
        "createdAt": _iso_micros(target.created_at),
    }
    if run.message:
        detail["stateDetails"] = run.message
    return {k: v for k, v in detail.items() if v is not None}
