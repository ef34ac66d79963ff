"""EventBridge rules delivering to their targets, and the Step Functions status-change events AWS emits.

moto stores rules and targets and has AWS's event-pattern matcher, but its delivery covers SQS, CloudWatch Logs
and archives only (a Lambda or Step Functions target makes `PutEvents` fail with HTTP 500), ignores a rule's
state, and lets a schedule rule match every event; and moto's services emit no events. The emulator fills that in,
following the EventBridge user guide:
- every event put on the default bus (`put_event`, a handler's `events:PutEvents`, the status changes below) is
  matched against each ENABLED rule of the bus with moto's matcher (`moto.events.models.EventPattern`); a rule with
  only a schedule matches no event;
- a matched event goes to each target of the rule, transformed by the target's `Input` (a constant), `InputPath`
  or `InputTransformer`; delivery is asynchronous (one delivery thread, events in the order they were put);
- a Lambda target is invoked with the event only when the function's resource policy allows `events.amazonaws.com`
  (with the rule's ARN where the statement names a source ARN), as AWS requires; a function error is retried twice
  (Lambda's asynchronous-invocation default, after a fraction of a second instead of minutes), then the delivery
  is given up; a Step Functions target starts an execution with the event as input, an SQS target gets it as a
  message, an event-bus target puts it on that bus; other target types fail as not emulated;
- every delivery is recorded (`deliveries()`), a failed one with its error: best effort, never retried for ever.
Step Functions "Execution Status Change" events (source `aws.states`) are emitted by a poller over moto's
executions for RUNNING and each terminal status, with AWS's detail fields (dates in epoch milliseconds). It
follows new and running executions only, so a pass costs nothing for executions that already ended.
moto's interpreter shows an execution stopped (StopExecution) or timed out only once the state in progress
returns (a Task's Lambda invocation may take a while); AWS ends it at once, and so does `end_execution_now`.
"""

from __future__ import annotations

import collections
import copy
import datetime
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from jsonpath_ng.ext import parse as parse_json_path
from moto.events import models as events_models
from moto.stepfunctions.parser.backend import execution as parser_execution
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from .passes import PassLoop
from .server import ACCOUNT_ID, region

STATUS_CHANGE = "Step Functions Execution Status Change"
POLL_INTERVAL_SECONDS = 0.1
LAMBDA_ASYNC_RETRIES = 2
RETRY_DELAY_SECONDS = 0.2  # times the attempt number
logger = logging.getLogger(__name__)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _millis(moment: datetime.datetime | None) -> int | None:
    return None if moment is None else int(_aware(moment).timestamp() * 1000)


def make_event(
    source: str,
    detail_type: str,
    detail: dict,
    resources: list[str] | None = None,
    moment: datetime.datetime | None = None,
) -> dict:
    """An event as EventBridge delivers it to a target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": _iso(moment or datetime.datetime.now(datetime.UTC)),
        "region": region(),
        "resources": list(resources or []),
        "detail": detail,
    }


class EventBridge:
    """The default event bus of the emulator: rule matching and delivery to targets (see the module docstring)."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._deliveries: list[dict] = []
        self._original_send = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eventbridge-delivery", daemon=True)

    def install(self) -> None:
        """Route moto's own rule delivery (a `PutEvents` request) through this bus; start delivering."""
        bridge = self
        self._original_send = events_models.Rule.send_to_targets

        def send_to_targets(rule: Any, event: dict, transform_input: bool = True) -> None:
            event = {k: v for k, v in event.items() if k != "ingestion-time"}
            if isinstance(event.get("time"), (int, float)):  # moto puts epoch seconds where AWS puts ISO 8601
                event["time"] = _iso(datetime.datetime.fromtimestamp(event["time"], datetime.UTC))
            bridge._route(rule, event)

        events_models.Rule.send_to_targets = send_to_targets
        self._thread.start()

    def uninstall(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=5)
        if self._original_send is not None:
            events_models.Rule.send_to_targets = self._original_send
            self._original_send = None

    # -- putting events -------------------------------------------------------------------------------------------
    def publish(self, event: dict, bus: str = "default") -> None:
        """Put one event on a bus: every enabled rule of it whose pattern matches queues a delivery per target."""
        backend = events_models.events_backends[ACCOUNT_ID][region()]
        for rule in list(backend.describe_event_bus(bus).rules.values()):
            self._route(rule, event)

    def _route(self, rule: Any, event: dict) -> None:
        if rule.state != "ENABLED" and rule.state != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS":
            return
        if not rule.event_pattern.get_pattern() or not rule.event_pattern.matches_event(event):
            return
        for target in list(rule.targets):
            self._queue.put((rule.name, rule.arn, copy.deepcopy(target), event))

    # -- observing ------------------------------------------------------------------------------------------------
    def deliveries(self, rule: str | None = None) -> list[dict]:
        """Every delivery so far, in order: `{"rule", "target", "arn", "event", "input", "status", "attempts",
        "error"}`; `status` is DELIVERED or FAILED."""
        with self._lock:
            return [dict(d) for d in self._deliveries if rule is None or d["rule"] == rule]

    def wait_idle(self, timeout_s: float = 10) -> bool:
        """Block until every event put so far has been delivered (or given up)."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    # -- delivering -----------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None or self._stop.is_set():
                    return
                self._deliver(*item)
            except Exception:
                logger.exception("EventBridge delivery failed")
            finally:
                self._queue.task_done()

    def _deliver(self, rule_name: str, rule_arn: str, target: dict, event: dict) -> None:
        record = {
            "rule": rule_name,
            "target": target["Id"],
            "arn": target["Arn"],
            "event": event,
            "input": None,
            "status": "FAILED",
            "attempts": 0,
            "error": None,
        }
        try:
            record["input"] = _target_input(target, event)
            service, resource = target["Arn"].split(":")[2], target["Arn"].split(":")[5]
            if service == "lambda":
                self._invoke_function(target["Arn"], rule_arn, record)
            else:
                self._send(service, resource, target, record["input"], event)
                record.update(status="DELIVERED", attempts=1)
        except Exception as error:
            record["error"] = f"{type(error).__name__}: {error}"
        if record["status"] == "FAILED":
            logger.warning("EventBridge rule %s could not deliver to %s: %s", rule_name, target["Arn"], record["error"])
        with self._lock:
            self._deliveries.append(record)

    def _send(self, service: str, resource: str, target: dict, payload: Any, event: dict) -> None:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        if service == "states":
            self._client("stepfunctions").start_execution(stateMachineArn=target["Arn"], input=body)
        elif service == "sqs":
            sqs = self._client("sqs")
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            extra = {"MessageGroupId": group, "MessageDeduplicationId": event["id"]} if group else {}
            sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=resource)["QueueUrl"], MessageBody=body, **extra)
        elif service == "events" and resource.startswith("event-bus/"):
            self.publish(event, bus=resource.split("/", 1)[1])
        else:
            raise NotImplementedError(f"{service} targets are not emulated")

    def _invoke_function(self, arn: str, rule_arn: str, record: dict) -> None:
        lam = self._client("lambda")
        if not _allows_events(lam, arn, rule_arn):
            record["error"] = (
                f"AccessDenied: the resource policy of {arn} does not allow events.amazonaws.com "
                f"to invoke it for {rule_arn}"
            )
            return
        payload = json.dumps(record["input"]).encode()
        for attempt in range(1, LAMBDA_ASYNC_RETRIES + 2):
            record["attempts"] = attempt
            response = lam.invoke(FunctionName=arn, InvocationType="RequestResponse", Payload=payload)
            body = response["Payload"].read()
            if not response.get("FunctionError"):
                record.update(status="DELIVERED", error=None)
                return
            record["error"] = body.decode(errors="replace")[:1000]
            if self._stop.wait(RETRY_DELAY_SECONDS * attempt):
                return


def _target_input(target: dict, event: dict) -> Any:
    """What the target receives: the event, or its `Input` constant, `InputPath` part or `InputTransformer` result."""
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        matches = parse_json_path(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        return _transform(transformer, event)
    return event


def _transform(transformer: dict, event: dict) -> Any:
    """An `InputTransformer`'s result: `"<name>"` becomes the path's value as a string, a bare `<name>` its JSON
    (a string value quoted, as EventBridge does); a template that is not JSON after that stays text."""
    values = {"aws.events.event.json": event, "aws.events.event.ingestion-time": event["time"]}
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        matches = parse_json_path(path).find(event)
        values[name] = matches[0].value if matches else None
    text = transformer["InputTemplate"]
    for name, value in values.items():
        text = text.replace(f'"<{name}>"', json.dumps(value if isinstance(value, str) else json.dumps(value)))
        text = text.replace(f"<{name}>", json.dumps(value))
    try:
        return json.loads(text)
    except ValueError:
        return text


def _allows_events(lam: Any, function_arn: str, rule_arn: str) -> bool:
    """Whether the function's resource policy lets EventBridge invoke it for this rule."""
    try:
        policy = json.loads(lam.get_policy(FunctionName=function_arn)["Policy"])
    except lam.exceptions.ResourceNotFoundException:
        return False
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal") or {}
        services = principal.get("Service") if isinstance(principal, dict) else principal
        services = [services] if isinstance(services, str) else services or []
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        if statement.get("Effect") != "Allow" or ("events.amazonaws.com" not in services and "*" not in services):
            continue
        if not {"lambda:InvokeFunction", "lambda:*", "*"} & set(actions):
            continue
        conditions = statement.get("Condition") or {}
        source = {**conditions.get("ArnLike", {}), **conditions.get("ArnEquals", {})}.get("AWS:SourceArn")
        if source is None or events_models.EventPattern._wildcard_match(rule_arn, source):
            return True
    return False


class ExecutionStatusEvents:
    """Emits Step Functions "Execution Status Change" events for every execution of every state machine."""

    def __init__(self, publish: Callable[[dict], None]) -> None:
        self._publish = publish
        self._seen: dict[str, int] = {}
        self._running: dict[str, Any] = {}
        self._loop = PassLoop("sfn-status-events", POLL_INTERVAL_SECONDS, self._pass)
        self.emitted: collections.Counter[str] = collections.Counter()

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def wait_pass(self, timeout_s: float = 5) -> bool:
        """Block until a full pass has started and ended after this call (every change so far emitted)."""
        return self._loop.wait_pass(timeout_s)

    def _pass(self) -> None:
        backend = stepfunctions_parser_backends[ACCOUNT_ID][region()]
        for machine in list(backend.state_machines):
            executions = machine.executions
            start = self._seen.get(machine.arn, 0)
            if start > len(executions):  # the machine was replaced under the same ARN
                start = 0
            for execution in executions[start:]:
                self._running[execution.execution_arn] = execution
                self._emit(execution, "RUNNING")
            self._seen[machine.arn] = len(executions)
        for arn, execution in list(self._running.items()):
            status = getattr(execution.exec_status, "value", "RUNNING")
            if status != "RUNNING":
                del self._running[arn]
                self._emit(execution, status)

    def _emit(self, execution: Any, status: str) -> None:
        self._publish(status_change_event(execution, status))
        self.emitted[status] += 1


def status_change_event(execution: Any, status: str) -> dict:
    """The "Step Functions Execution Status Change" event of a moto execution in `status`."""
    ended = status != "RUNNING"
    stop_date = _aware(execution.stop_date or datetime.datetime.now(datetime.UTC)) if ended else None
    output = execution.output if status == "SUCCEEDED" else None
    if output is not None and not isinstance(output, str):
        output = json.dumps(output, separators=(",", ":"))
    detail = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(stop_date),
        "input": execution.execution_input,
        "output": output,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": getattr(execution, "error", None) if ended else None,
        "cause": getattr(execution, "cause", None) if ended else None,
    }
    return make_event(
        "aws.states", STATUS_CHANGE, detail, [execution.execution_arn], stop_date or _aware(execution.start_date)
    )


# -- ending executions at once, as AWS does -------------------------------------------------------------------------
def end_execution_now(execution: Any, status: str) -> None:
    """Show a running moto execution as ended in `status` now. The interpreter abandons the state in progress (a
    Wait ends at once, a Task's Lambda finishes its invocation unseen) and writes the history event when it does."""
    execution.stop_date = datetime.datetime.now(datetime.UTC)
    execution.exec_status = type(execution.exec_status)(status)


def time_out(execution: Any) -> None:
    """End a running execution TIMED_OUT, as reaching its TimeoutSeconds does."""
    if execution.status != "RUNNING":
        raise ValueError(f"execution {execution.execution_arn} is {execution.status}, not RUNNING")
    execution.exec_worker.env.set_timed_out()
    end_execution_now(execution, "TIMED_OUT")


def abort_stopped_executions_at_once() -> Callable[[], None]:
    """Make StopExecution end the execution ABORTED at once; returns the function that undoes it."""
    original = parser_execution.Execution.stop

    def stop(execution: Any, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        running = execution.status == "RUNNING"
        original(execution, stop_date, error, cause)
        if running:
            end_execution_now(execution, "ABORTED")

    parser_execution.Execution.stop = stop

    def restore() -> None:
        parser_execution.Execution.stop = original

    return restore
