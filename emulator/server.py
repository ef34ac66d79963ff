"""moto's server, in this process, on a loopback port (free or given), with Step Functions execution switched on.

Every request is counted by service and operation at the WSGI layer, so callers can measure what a lifecycle costs
(the bench counts DynamoDB requests this way).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
CONTROL_PREFIX = "/_interlock/"  # the emulator's own routes (serve.py): its stack, firing a schedule
_region = [DEFAULT_REGION]


def region() -> str:
    """The region the emulator deploys into and its clients use (one emulator per process: moto is global)."""
    return _region[0]


def use_region(name: str) -> None:
    _region[0] = name or DEFAULT_REGION


class RequestCounter:
    """Thread-safe counts of requests per `(service, operation)` seen by the server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self._counts[(service, operation)] += 1

    def snapshot(self) -> collections.Counter[tuple[str, str]]:
        with self._lock:
            return collections.Counter(self._counts)

    def total(self, service: str, since: collections.Counter | None = None) -> int:
        counts = self.snapshot() - (since or collections.Counter())
        return sum(n for (svc, _), n in counts.items() if svc == service)


def _operation_of(environ: dict) -> tuple[str, str]:
    """Service and operation of a request: JSON protocols name both in X-Amz-Target, the others in the path."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.partition(".")
        service = {
            "DynamoDB_20120810": "dynamodb",
            "DynamoDBStreams_20120810": "dynamodbstreams",
            "AWSStepFunctions": "stepfunctions",
        }.get(prefix, prefix)
        return service, operation
    auth = environ.get("HTTP_AUTHORIZATION", "")
    service = auth.split("/")[3] if auth.count("/") >= 4 else "unknown"
    return service, environ.get("PATH_INFO", "")


class ExecutionFailureFilter(logging.Filter):
    """Drops moto's log line for each failed execution step (`Exception=FailureEventException ... at '<the whole
    state, kilobytes>'`): the failure is the execution's designed outcome, recorded in its history. Every other
    record, other errors of the interpreter included, passes."""

    LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"

    def filter(self, record: logging.LogRecord) -> bool:
        first = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        return not (isinstance(first, str) and first.startswith("Exception=FailureEventException"))


# A control route: (method, path after CONTROL_PREFIX, request body) -> (HTTP status, JSON document).
ControlRoute = Callable[[str, str, bytes], tuple[int, Any]]


class _CountingApp:
    def __init__(self, app: Callable, counter: RequestCounter, control: ControlRoute | None) -> None:
        self._app = app
        self._counter = counter
        self._control = control

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if self._control is not None and path.startswith(CONTROL_PREFIX):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            status, document = self._control(environ["REQUEST_METHOD"], path[len(CONTROL_PREFIX) :], body)
            data = json.dumps(document, default=str).encode()
            start_response(
                f"{status} {'OK' if status < 400 else 'ERROR'}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            )
            return [data]
        self._counter.record(*_operation_of(environ))
        return self._app(environ, start_response)


class _CountingMotoServer(ThreadedMotoServer):
    def __init__(self, counter: RequestCounter, port: int) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._counter = counter
        self.control: ControlRoute | None = None

    def _server_entry(self) -> None:  # same as moto's, with the counting middleware around the app
        app = _CountingApp(DomainDispatcherApplication(create_backend_app), self._counter, self.control)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    """Start/stop moto in-process; `endpoint` is what boto3 clients (ours and the handlers') talk to."""

    def __init__(self, port: int = 0) -> None:
        self.counter = RequestCounter()
        self._server = _CountingMotoServer(self.counter, port)
        self.port = port
        self._quiet = ExecutionFailureFilter()

    def set_control(self, route: ControlRoute) -> None:
        """Answer requests under CONTROL_PREFIX with `route` (set before start)."""
        self._server.control = route

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
        logging.getLogger(ExecutionFailureFilter.LOGGER).addFilter(self._quiet)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        # moto's Step Functions interpreter calls the other services at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})

    def stop(self) -> None:
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": False}})
        self._post("/moto-api/reset", None)
        self._server.stop()
        logging.getLogger(ExecutionFailureFilter.LOGGER).removeFilter(self._quiet)

    def _post(self, path: str, body: dict | None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(self.endpoint + path, data=data, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def client(self, service: str):
        """A boto3 client for `service` against this server."""
        import boto3

        return boto3.client(
            service,
            region_name=region(),
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
