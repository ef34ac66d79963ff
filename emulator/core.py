"""The `Emulator`: the whole Interlock stack on moto in this process, and the API tests and users drive it with.

    with Emulator({"evaluationWindow": "30s"}) as emu:
        emu.register_pipeline(config)
        arn = emu.write_marker("orders")
        result = emu.wait_for_execution(arn)

Starting it: moto's server on a free loopback port with Step Functions execution on; the in-process Lambda runtime;
the scripted HTTP endpoints; the real Pulumi program deployed through mocks; one stream poller per DynamoDB
event source mapping (AWS semantics, see stream_mapping.py); an SQS queue subscribed to the alert topic; the
EventBridge rules' delivery and the Step Functions status-change events (events.py); scripted AWS jobs (jobs.py);
fault injection (faults.py).
Leaving the block stops running executions, restores the process (env, stdout, moto patches) and resets moto.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import tempfile
import threading
import time
import types
from typing import Any

import moto.awslambda.models as lambda_models

from components.pipeline_registry import PipelineConfigurationError
from interlock_cli.archetype_dirs import merge_archetype_dirs

from .events import EventBridge, ExecutionStatusEvents, abort_stopped_executions_at_once, make_event, time_out
from .faults import Faults
from .http_endpoints import LocalHttp
from .iam_check import allowed, role_documents
from .jobs import ScriptedJobs
from .lambda_runtime import LambdaRuntime
from .program import Deployment, deploy_program
from .server import ACCOUNT_ID, DEFAULT_REGION, MotoServer, region, use_region
from .stream_mapping import StreamMapping

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTSIDE_PIPELINES = ".emulator-registers-these"  # absent from the project: the program registers none itself
FINAL_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

# The emulator's stack: every wait a second or two so a whole lifecycle runs in seconds, loopback allowed for
# the local endpoints, nothing that protects real data (deletion protection) in the way of a throwaway stack.
EMULATOR_STACK_DEFAULTS: dict[str, Any] = {
    "projectName": "interlock-emu",
    "allowedNetworks": ["127.0.0.0/8"],
    "pollInterval": "1s",
    "maxPollAttempts": 5,
    "evaluationInterval": "1s",
    "evaluationWindow": "20s",
    "monitoringInterval": "1s",
    "executionTimeout": "10m",
    "deletionProtection": False,
    "logLevel": "WARNING",
}


class PipelineConfigError(PipelineConfigurationError):
    """`register_pipeline` was given a config the deployed domain rejects; `problems` lists every problem."""

    heading = "invalid pipeline config"


class Emulator:
    """Context manager running the real program, state machine and handlers on moto (see the module docstring)."""

    def __init__(
        self,
        stack_config: dict | None = None,
        *,
        program_dir: str = REPO_ROOT,
        port: int = 0,
        pipelines_dir: str | None = None,
        archetypes_dir: str | None = None,
    ) -> None:
        """`stack_config`: `interlock:` keys (bare) over EMULATOR_STACK_DEFAULTS, and optionally `aws:region`
        (default us-east-1). `port`: moto's loopback port (0: a free one). `pipelines_dir`: pipelines as code from
        any directory (the program itself reads only directories inside the project). `archetypes_dir`: archetypes
        and exclusion calendars (in its `calendars/`) of one's own, from any directory, merged over the shipped
        ones: `pipelines_dir` and `register_pipeline` are validated against them and the functions read them."""
        self.stack_config = {**EMULATOR_STACK_DEFAULTS, **(stack_config or {})}
        self.pipelines_dir = os.path.abspath(pipelines_dir) if pipelines_dir else None
        self.archetypes_dir = os.path.abspath(archetypes_dir) if archetypes_dir else None
        if self.pipelines_dir:
            inside = os.path.relpath(self.pipelines_dir, program_dir)
            # the program validates against the shipped archetypes only: with one's own, the emulator registers
            self.stack_config["pipelinesDir"] = (
                OUTSIDE_PIPELINES if inside.startswith("..") or self.archetypes_dir else inside
            )
        self.region = self.stack_config.get("aws:region") or DEFAULT_REGION
        self.program_dir = program_dir
        self.server = MotoServer(port)
        self.http = LocalHttp()
        self.runtime: LambdaRuntime | None = None
        self.deployment: Deployment | None = None
        self.functions: dict[str, dict] = {}
        self._mappings: list[StreamMapping] = []
        self._original_send = None
        self._alert_queue_url = ""
        self._alerts: list[dict] = []
        self._dead_letters: list[dict] = []
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._store: types.ModuleType | None = None
        self.faults = Faults(self._resolve_function)
        self._bridge: EventBridge | None = None
        self._status_events: ExecutionStatusEvents | None = None
        self.jobs: ScriptedJobs | None = None  # scripted Glue, EMR, EMR Serverless and Step Functions jobs (jobs.py)
        self._restore_stop: Any = None
        self._execution_inputs: dict[str, dict] = {}  # ARN -> parsed input; an execution's input never changes
        self._merged_archetypes = ""  # the directory the functions' ARCHETYPE_DIR names when archetypes_dir is given

    # -- lifecycle --------------------------------------------------------------------------------------------------
    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Start moto and the endpoints, deploy the program, wire the stream mappings and the alert queue."""
        use_region(self.region)
        self.server.start()
        self.runtime = LambdaRuntime(self.server.endpoint)
        self.runtime.install()
        self.runtime.faults = self.faults
        self._bridge = EventBridge(self.client)
        self._bridge.install()
        self.jobs = ScriptedJobs(self.client, self._bridge.publish)
        self.jobs.install()
        self._restore_stop = abort_stopped_executions_at_once()
        self._original_send = lambda_models.LambdaBackend.send_dynamodb_items
        # moto's inline stream delivery (no filter, retries or DLQ) is replaced by our pollers.
        lambda_models.LambdaBackend.send_dynamodb_items = lambda *args, **kwargs: ""
        self.http.start()
        try:
            config = {"evaluatorBaseUrl": self.http.base_url, **self.stack_config}
            if self.archetypes_dir:
                self._merged_archetypes = tempfile.mkdtemp(prefix="interlock-emulator-archetypes-")
                shipped = os.path.join(self.program_dir, "archetypes")
                merge_archetype_dirs(shipped, self.archetypes_dir, self._merged_archetypes)
                config["archetypeDir"] = self._merged_archetypes
            self.deployment = deploy_program(self.program_dir, config, self.client)
            self._discover()
            if self.stack_config.get("pipelinesDir") == OUTSIDE_PIPELINES:
                self._register_outside_pipelines()
            self._status_events = ExecutionStatusEvents(self.jobs.relay)
            self._status_events.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop executions and pollers, restore everything patched, reset moto."""
        if self._status_events is not None:
            self._status_events.stop()
            self._status_events = None
        if self.jobs is not None:
            self.jobs.uninstall()
            self.jobs = None
        if self._bridge is not None:
            self._bridge.uninstall()
            self._bridge = None
        self.faults.clear()
        for mapping in self._mappings:
            mapping.stop()
        self._mappings.clear()
        try:
            sfn = self.client("stepfunctions")
            for machine in sfn.list_state_machines()["stateMachines"]:
                running = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
                for execution in running["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"], cause="emulator stopped")
        except Exception:
            pass
        if self._original_send is not None:
            lambda_models.LambdaBackend.send_dynamodb_items = self._original_send
            self._original_send = None
        if self._restore_stop is not None:
            self._restore_stop()
            self._restore_stop = None
        if self.runtime is not None:
            self.runtime.uninstall()
        self.http.stop()
        if self._merged_archetypes:
            shutil.rmtree(self._merged_archetypes, ignore_errors=True)
            self._merged_archetypes = ""
        with contextlib.suppress(Exception):
            self.server.stop()
        os.environ.pop("MOTO_PORT", None)

    def client(self, service: str) -> Any:
        """A boto3 client for `service` against the emulator (cached)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self.server.client(service)
            return self._clients[service]

    # -- what was deployed ------------------------------------------------------------------------------------------
    def _discover(self) -> None:
        lam = self.client("lambda")
        for page in lam.get_paginator("list_functions").paginate():
            for function in page["Functions"]:
                self.functions[function["FunctionName"]] = function
        for page in lam.get_paginator("list_event_source_mappings").paginate():
            for mapping in page["EventSourceMappings"]:
                if ":dynamodb:" in mapping["EventSourceArn"] and mapping.get("State") != "Disabled":
                    stream = StreamMapping(mapping, self.client)
                    self._mappings.append(stream)
                    stream.start()
        sqs, sns = self.client("sqs"), self.client("sns")
        self._alert_queue_url = sqs.create_queue(QueueName="emulator-alerts")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=self._alert_queue_url, AttributeNames=["QueueArn"])
        queue_arn = attributes["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        # The store module of the deployed code (keys live there only) reads the functions' environment.
        self.runtime.apply_environment(types.SimpleNamespace(**self._function_record("orchestrator")), self._code_dir())

    def _function_record(self, kind: str) -> dict:
        name = self.function_name(kind)
        env = self.functions[name].get("Environment", {}).get("Variables", {})
        return {
            "function_name": name,
            "memory_size": self.functions[name].get("MemorySize", 128),
            "region": region(),
            "environment_vars": env,
        }

    def _register_outside_pipelines(self) -> None:
        """Pipelines as code from a directory outside the project: validated as the program validates them, then
        written as the program's registry would write them."""
        pipelines = self._deployed_module("handlers.interlock.pipelines")
        try:
            configs = pipelines.load_pipeline_dir(self.pipelines_dir, self._archetype_dir())
        except pipelines.ConfigError as error:
            raise PipelineConfigError(error.problems) from None
        for config in configs:
            self.store.put_pipeline(config.to_dict())

    def function_name(self, kind: str) -> str:
        """The deployed name of a function by its kind (`orchestrator`, `stream-router`, ...)."""
        handler = f".{kind.replace('-', '_')}.handler"
        matches = [n for n, f in self.functions.items() if f.get("Handler", "").endswith(handler)]
        if len(matches) != 1:
            raise LookupError(f"expected one deployed function for {kind!r}, found {matches}")
        return matches[0]

    def _resolve_function(self, function: str) -> str:
        """A deployed function name, given that name or a kind (`orchestrator`, `stream-router`, ...)."""
        return function if function in self.functions else self.function_name(function)

    def _environment(self, kind: str = "orchestrator") -> dict:
        return self.functions[self.function_name(kind)].get("Environment", {}).get("Variables", {})

    @property
    def table_name(self) -> str:
        return self._environment()["TABLE_NAME"]

    @property
    def topic_arn(self) -> str:
        return self._environment()["SNS_TOPIC_ARN"]

    @property
    def state_machine_arn(self) -> str:
        return self._environment("stream-router")["STATE_MACHINE_ARN"]

    @property
    def stream_mappings(self) -> list[dict]:
        """The deployed DynamoDB event source mappings (their configuration) the emulator polls for."""
        return [mapping.config for mapping in self._mappings]

    @property
    def lambda_invocations(self) -> dict[str, int]:
        """Invocations per function name since the emulator started."""
        return dict(self.runtime.invocations) if self.runtime else {}

    def _archetype_dir(self) -> str:
        """The directory the deployed functions read archetypes and calendars from (their ARCHETYPE_DIR)."""
        configured = self._environment().get("ARCHETYPE_DIR") or "/var/task/archetypes"
        if configured == "/var/task" or configured.startswith("/var/task/"):
            return self._code_dir() + configured[len("/var/task") :]
        return configured

    def _code_dir(self) -> str:
        backend = lambda_models.lambda_backends[ACCOUNT_ID][region()]
        return self.runtime.code_dir(backend.get_function(self.function_name("orchestrator")))

    @property
    def store(self) -> types.ModuleType:
        """handlers.interlock.store from the deployed code zip (the only module that knows the table's keys)."""
        return self._deployed_module("handlers.interlock.store")

    def _deployed_module(self, module: str) -> types.ModuleType:
        return self.runtime.import_module(self._code_dir(), "emulator_api", module)

    # -- driving ------------------------------------------------------------------------------------------------------
    def register_pipeline(self, config: dict, *, validate: bool = True) -> None:
        """Store a pipeline config, as `pulumi up` does for pipelines as code: validated first (the deployed
        domain's rules and archetypes; raises its ConfigError listing every problem) unless `validate` is False,
        which stores it as a hand-written item would be. Raises PipelineConfigError."""
        if validate:
            pipelines = self._deployed_module("handlers.interlock.pipelines")
            try:
                pipelines.validate_pipeline(pipelines.parse_pipeline(config), self._archetype_dir())
            except pipelines.ConfigError as error:
                raise PipelineConfigError(error.problems) from None
        self.store.put_pipeline(config)

    def write_marker(
        self,
        pipeline_id: str,
        schedule_id: str = "daily",
        date: str | None = None,
        source: str = "manual",
        *,
        replay: bool = False,
        timeout_s: float = 15,
    ) -> str:
        """Write a MARKER item and return the ARN of the execution the stream-router starts for it."""
        date = date or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        marker_key = self.store.write_marker(
            pipeline_id, schedule_id=schedule_id, date=date, source=source, replay=replay
        )
        return self.execution_for_marker(marker_key, timeout_s=timeout_s)

    def execution_for_marker(self, marker_key: str, timeout_s: float = 15) -> str:
        """The ARN of the execution whose input names `marker_key` (waits for the stream-router to start it)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for execution in self._list_executions():
                if self._input_of(execution["executionArn"]).get("markerKey") == marker_key:
                    return execution["executionArn"]
            time.sleep(0.1)
        if any(self._names_marker(letter, marker_key) for letter in self.dead_letters()):
            raise RuntimeError(
                f"the stream-router rejected marker {marker_key}: it was sent to the dead-letter queue (see "
                f"dead_letters() and the log group /aws/lambda/{self.function_name('stream-router')})"
            )
        raise TimeoutError(f"no execution started for marker {marker_key} within {timeout_s}s")

    def _input_of(self, arn: str) -> dict:
        """The parsed input of an execution, described once per execution (so a long session stays linear)."""
        if arn not in self._execution_inputs:
            described = self.client("stepfunctions").describe_execution(executionArn=arn)
            self._execution_inputs[arn] = json.loads(described.get("input") or "{}")
        return self._execution_inputs[arn]

    @staticmethod
    def _names_marker(letter: dict, marker_key: str) -> bool:
        return any(r["dynamodb"]["Keys"].get("SK", {}).get("S") == marker_key for r in letter.get("records", []))

    def executions(self, pipeline_id: str | None = None) -> list[dict]:
        """Executions of the state machine (newest first) with their parsed input, optionally of one pipeline."""
        found = []
        for execution in self._list_executions():
            execution_input = self._input_of(execution["executionArn"])
            if pipeline_id is None or execution_input.get("pipelineID") == pipeline_id:
                found.append({**execution, "input": execution_input})
        return found

    def _list_executions(self) -> list[dict]:
        paginator = self.client("stepfunctions").get_paginator("list_executions")
        return [e for page in paginator.paginate(stateMachineArn=self.state_machine_arn) for e in page["executions"]]

    def fire_schedule(self, name: str, group: str | None = None) -> Any:
        """Do what EventBridge Scheduler does when the schedule fires: call its target with its input.

        Universal targets (`arn:aws:scheduler:::aws-sdk:<service>:<action>`) call that API with the input as
        parameters, after replacing the `<aws.scheduler.*>` context attributes. When the target wrote a MARKER
        item, the ARN of the execution it started is returned; otherwise the API response.
        """
        scheduler = self.client("scheduler")
        if group is None:
            groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
            matches = [
                g for g in groups if any(s["Name"] == name for s in scheduler.list_schedules(GroupName=g)["Schedules"])
            ]
            if not matches:
                raise LookupError(f"no schedule named {name!r}")
            group = matches[0]
        schedule = scheduler.get_schedule(Name=name, GroupName=group)
        target = schedule["Target"]
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        text = target.get("Input") or "{}"
        for placeholder, value in {
            "<aws.scheduler.scheduled-time>": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "<aws.scheduler.execution-id>": f"emulator-{int(now.timestamp())}",
            "<aws.scheduler.attempt-number>": "1",
            "<aws.scheduler.schedule-arn>": schedule["Arn"],
        }.items():
            text = text.replace(placeholder, value)
        parameters = json.loads(text)
        prefix = "arn:aws:scheduler:::aws-sdk:"
        if not target["Arn"].startswith(prefix):
            raise NotImplementedError(f"only universal (aws-sdk) schedule targets are emulated, not {target['Arn']}")
        service, action = target["Arn"][len(prefix) :].split(":", 1)
        method = "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")
        response = getattr(self.client(service), method)(**parameters)
        sort_key = (parameters.get("Item") or {}).get("SK", {}).get("S", "")
        if service == "dynamodb" and action == "putItem" and sort_key.startswith("MARKER#"):
            return self.execution_for_marker(sort_key)
        return response

    def run_watchdog(self, now: datetime.datetime | str | None = None) -> dict:
        """Invoke the deployed watchdog function as its schedule would, deciding as of `now` (a datetime, an RFC
        3339 string, or None for the real time): "what would be flagged at 09:05". Returns its report
        `{now, pipelines, alerts: [{alertType, pipelineID, scheduleID, date, published}], locksReleased: [...]}`.
        Raises RuntimeError when the function failed."""
        if isinstance(now, datetime.datetime):
            now = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        payload = json.dumps({"now": now} if now else {})
        answer = self.client("lambda").invoke(FunctionName=self.function_name("watchdog"), Payload=payload)
        report = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            raise RuntimeError(f"the watchdog failed: {report}")
        return report

    def put_event(
        self,
        source: str,
        detail_type: str,
        detail: dict,
        *,
        resources: list[str] | None = None,
        event_bus: str = "default",
    ) -> dict:
        """Put an event on an event bus, as a service or `PutEvents` does; the rules whose pattern matches deliver
        it to their targets (asynchronously: see `wait_for_events`). Returns the event as delivered."""
        event = make_event(source, detail_type, detail, resources)
        self._bridge.publish(event, event_bus)
        return event

    def time_out_execution(self, arn: str) -> None:
        """End a running execution TIMED_OUT now, as reaching its TimeoutSeconds would (moto enforces the
        definition's TimeoutSeconds itself; this is for a test that cannot wait for it). The state in progress is
        abandoned: a Wait ends at once, a Task's Lambda finishes its invocation but its result is dropped.
        Raises ValueError when the execution is not running."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        time_out(stepfunctions_parser_backends[ACCOUNT_ID][region()].describe_execution(arn))

    # -- observing ----------------------------------------------------------------------------------------------------
    def event_deliveries(self, rule: str | None = None) -> list[dict]:
        """Every EventBridge delivery so far (optionally of one rule, by name), in order: `{"rule", "target", "arn",
        "event", "input", "status" (DELIVERED|FAILED), "attempts", "error"}`."""
        return self._bridge.deliveries(rule) if self._bridge else []

    def wait_for_events(self, timeout_s: float = 10) -> None:
        """Block until every status change so far (scripted jobs' included; a delayed event only once due) has been
        emitted and every event delivered (or given up)."""
        deadline = time.monotonic() + timeout_s
        if self.jobs is not None and not self.jobs.wait_pass(timeout_s):
            raise TimeoutError("the scripted jobs' clock did not complete a pass")
        if self._status_events is not None and not self._status_events.wait_pass(max(0.0, deadline - time.monotonic())):
            raise TimeoutError("the Step Functions status-change poller did not complete a pass")
        if not self._bridge.wait_idle(max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"EventBridge deliveries still pending after {timeout_s}s")

    def wait_for_execution(self, arn: str, timeout_s: float = 120) -> dict:
        """Wait until the execution ends; returns status, parsed output, transitions, the state machine's own Lambda
        invocations (from its history: not the evaluator's, which the orchestrator invokes; `lambda_invocations`
        counts every function's), history."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_s
        while True:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] in FINAL_STATUSES:
                break
            if time.monotonic() > deadline:
                states = [
                    e["stateEnteredEventDetails"]["name"] for e in self.history(arn) if "stateEnteredEventDetails" in e
                ]
                raise TimeoutError(
                    f"execution {arn} still {described['status']} after {timeout_s}s "
                    f"(last state entered: {states[-1] if states else 'none'})"
                )
            time.sleep(0.1)
        history = self.history(arn)
        invocations: dict[str, int] = {}
        for event in history:
            if event["type"] in ("LambdaFunctionScheduled", "TaskScheduled"):
                details = (
                    event.get("lambdaFunctionScheduledEventDetails") or event.get("taskScheduledEventDetails") or {}
                )
                resource = details.get("resource", "")
                if event["type"] == "TaskScheduled":
                    if details.get("resourceType") != "lambda":
                        continue
                    resource = json.loads(details.get("parameters") or "{}").get("FunctionName", resource)
                name = resource.split(":function:")[-1].split(":")[0]
                invocations[name] = invocations.get(name, 0) + 1
        output = described.get("output")
        return {
            "status": described["status"],
            "output": json.loads(output) if output else None,
            "error": described.get("error"),
            "cause": described.get("cause"),
            "state_transitions": sum(1 for e in history if e["type"].endswith("StateEntered")),
            "lambda_invocations": invocations,
            "history": history,
        }

    def history(self, arn: str) -> list[dict]:
        """The full execution history, oldest first."""
        sfn = self.client("stepfunctions")
        events, token = [], None
        while True:
            kwargs = {"executionArn": arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    def run_log(self, pipeline_id: str, date: str, schedule_id: str = "daily") -> dict | None:
        """The run log entry of (pipeline, date, schedule), or None."""
        return self.store.get_run_log(pipeline_id, date, schedule_id)

    def lock(self, pipeline_id: str, schedule_id: str = "daily") -> dict | None:
        """The lock item of (pipeline, schedule) if one is held (live), else None."""
        return self.store.get_lock(pipeline_id, schedule_id)

    def alerts(self, pipeline_id: str | None = None) -> list[dict]:
        """Every alert published to the alert topic so far (parsed JSON messages), optionally of one pipeline."""
        sqs = self.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self._alert_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                try:
                    alert = json.loads(envelope.get("Message", ""))
                except ValueError:
                    alert = {"message": envelope.get("Message")}
                if not isinstance(alert, dict):
                    alert = {"message": alert}
                alert["_subject"] = envelope.get("Subject")
                alert["_attributes"] = {k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()}
                self._alerts.append(alert)
                sqs.delete_message(QueueUrl=self._alert_queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [
            a
            for a in self._alerts
            if pipeline_id is None or pipeline_id in (a.get("pipelineID"), a["_attributes"].get("pipelineID"))
        ]

    def dead_letters(self) -> list[dict]:
        """Failure records the stream mapping sent to its on-failure queue, each with the stream records it names."""
        sqs = self.client("sqs")
        for mapping in self._mappings:
            destination = ((mapping.config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            if not destination:
                continue
            url = sqs.get_queue_url(QueueName=destination.split(":")[-1])["QueueUrl"]
            while True:
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    record = json.loads(message["Body"])
                    record["records"] = self._stream_records(record.get("DDBStreamBatchInfo") or {})
                    self._dead_letters.append(record)
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return list(self._dead_letters)

    def _stream_records(self, info: dict) -> list[dict]:
        if not info:
            return []
        streams = self.client("dynamodbstreams")
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=int(info.get("batchSize") or 1))["Records"]
        return [r for r in records if int(r["dynamodb"]["SequenceNumber"]) <= int(info["endSequenceNumber"])]

    def unauthorized_calls(self) -> list[str]:
        """Every AWS API call a handler made so far that its function's role does not allow (see iam_check.py).
        Calls of functions the stack did not deploy (a user's Lambda started by a `lambda` trigger) are not its
        concern and are not checked."""
        iam = self.client("iam")
        documents: dict[str, list[dict]] = {}
        problems = []
        own = [call for call in self.runtime.api_calls if call.function in self.functions]  # not a user's Lambda
        for call in sorted(own, key=lambda c: (c.function, c.action, c.resource or "")):
            role = self.functions[call.function]["Role"]
            if role not in documents:
                documents[role] = role_documents(iam, role)
            if not allowed(documents[role], call):
                problems.append(
                    f"{call.function} called {call.action} on {call.resource or '(resource not named)'}"
                    f", which its role {role.rsplit('/', 1)[-1]} does not allow"
                )
        return problems

    def wait_for_streams(self, timeout_s: float = 10) -> None:
        """Block until every stream poller has handled every record written so far."""
        for mapping in self._mappings:
            mapping.wait_idle(timeout_s)
