"""moto's server, in this process, on a free loopback port, with Step Functions execution switched on.

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
from typing import Any, Callable

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


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


class _CountingApp:
    def __init__(self, app: Callable, counter: RequestCounter) -> None:
        self._app = app
        self._counter = counter

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        self._counter.record(*_operation_of(environ))
        return self._app(environ, start_response)


class _CountingMotoServer(ThreadedMotoServer):
    def __init__(self, counter: RequestCounter) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._counter = counter

    def _server_entry(self) -> None:  # same as moto's, with the counting middleware around the app
        app = _CountingApp(DomainDispatcherApplication(create_backend_app), self._counter)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class MotoServer:
    """Start/stop moto in-process; `endpoint` is what boto3 clients (ours and the handlers') talk to."""

    def __init__(self) -> None:
        self.counter = RequestCounter()
        self._server = _CountingMotoServer(self.counter)
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        # moto's Step Functions interpreter calls the other services at localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})

    def stop(self) -> None:
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": False}})
        self._post("/moto-api/reset", None)
        self._server.stop()

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
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
