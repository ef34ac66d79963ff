"""Local HTTP endpoints a test scripts: trait evaluators, synchronous trigger endpoints and asynchronous jobs.

One threading HTTP server on a free loopback port (the emulator's stack allows 127.0.0.0/8 for outbound calls).
Every request is recorded, so a test can assert what the handlers sent.
- `evaluator(path, status)` answers the evaluator protocol: `{"status", "value", "reason"}`; a `sequence` of
  answers is served in order and its last answer repeats.
- `trigger(path, statuses)` is a synchronous HTTP trigger: it answers the scripted HTTP status codes in order.
- `job(name, sequence)` is an asynchronous job behind an Airflow-style API: POST `.../dags/<name>/dagRuns` starts
  a run, GET `.../dags/<name>/dagRuns/<id>` answers the scripted states (running, succeeded, failed) in order.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Any

_AIRFLOW_STATES = {"running": "running", "succeeded": "success", "failed": "failed", "queued": "queued"}
_DAG_RUNS = re.compile(r"/dags/(?P<dag>[^/]+)/dagRuns(?:/(?P<run>[^/?]+))?/?$")


class _Script:
    """Answers served in order; the last one repeats."""

    def __init__(self, answers: list) -> None:
        if not answers:
            raise ValueError("a scripted endpoint needs at least one answer")
        self._answers = list(answers)
        self._lock = threading.Lock()
        self.served = 0

    def next(self) -> Any:
        with self._lock:
            answer = self._answers[min(self.served, len(self._answers) - 1)]
            self.served += 1
            return answer


@dataclasses.dataclass
class Job:
    """An asynchronous job endpoint; `trigger` is the pipeline trigger config that starts and polls it."""

    name: str
    url: str
    script: _Script
    trigger_statuses: _Script
    runs: list[str] = dataclasses.field(default_factory=list)

    @property
    def trigger(self) -> dict:
        return {"type": "airflow", "url": self.url, "dagID": self.name}

    @property
    def polls(self) -> int:
        return self.script.served


class LocalHttp:
    """The scripted endpoints; `base_url` is where they listen."""

    def __init__(self) -> None:
        self._evaluators: dict[str, _Script] = {}
        self._triggers: dict[str, _Script] = {}
        self._jobs: dict[str, Job] = {}
        self._requests: list[dict] = []
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator-http", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    # -- scripting --------------------------------------------------------------------------------------------------
    def evaluator(
        self,
        path: str,
        status: str = "PASS",
        *,
        value: Any = None,
        reason: str | None = None,
        sequence: list | None = None,
        http_status: int = 200,
    ) -> str:
        """Script an evaluator at `path`; returns its URL. `sequence` items are statuses or whole answer dicts."""
        answers = sequence if sequence is not None else [status]
        shaped = [
            a
            if isinstance(a, dict)
            else {"http_status": http_status, "body": {"status": a, "value": value, "reason": reason}}
            for a in answers
        ]
        with self._lock:
            self._evaluators[self._path(path)] = _Script(shaped)
        return self.base_url + self._path(path)

    def trigger(self, path: str, statuses: list[int] | int = 200) -> str:
        """Script a synchronous HTTP trigger endpoint answering `statuses` in order; returns its URL."""
        answers = statuses if isinstance(statuses, list) else [statuses]
        with self._lock:
            self._triggers[self._path(path)] = _Script(answers)
        return self.base_url + self._path(path)

    def job(
        self, name: str, sequence: Sequence[str] = ("running", "succeeded"), *, trigger_statuses: list[int] | int = 200
    ) -> Job:
        """Script an asynchronous job whose polls answer `sequence` (running|succeeded|failed) in order."""
        unknown = [s for s in sequence if s not in _AIRFLOW_STATES]
        if unknown:
            raise ValueError(f"unknown job states {unknown}; use {sorted(_AIRFLOW_STATES)}")
        statuses = trigger_statuses if isinstance(trigger_statuses, list) else [trigger_statuses]
        job = Job(name, f"{self.base_url}/jobs/{name}", _Script(list(sequence)), _Script(statuses))
        with self._lock:
            self._jobs[name] = job
        return job

    def requests(self, path: str | None = None) -> list[dict]:
        """Requests received (method, path, headers, json body), optionally only those to `path`."""
        with self._lock:
            return [r for r in self._requests if path is None or r["path"] == self._path(path)]

    @staticmethod
    def unreachable_url(path: str = "/unreachable") -> str:
        """A loopback URL on a port where nothing listens (the connection is refused)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}/{path.lstrip('/')}"

    @staticmethod
    def _path(path: str) -> str:
        return "/" + path.lstrip("/")

    # -- serving ----------------------------------------------------------------------------------------------------
    def _answer(self, method: str, path: str, headers: dict, body: Any) -> tuple[int, Any]:
        with self._lock:
            self._requests.append({"method": method, "path": path, "headers": headers, "body": body})
            evaluator = self._evaluators.get(path)
            trigger = self._triggers.get(path)
            job = next((j for n, j in self._jobs.items() if path.startswith(f"/jobs/{n}/")), None)
        if evaluator is not None:
            answer = evaluator.next()
            return answer.get("http_status", 200), answer.get("body", answer)
        if trigger is not None:
            status = trigger.next()
            return status, {"status": "accepted" if status < 400 else "rejected", "message": f"scripted {status}"}
        if job is not None:
            match = _DAG_RUNS.search(path)
            if match and method == "POST" and not match.group("run"):
                status = job.trigger_statuses.next()
                if status >= 400:
                    return status, {"detail": f"scripted {status}"}
                run_id = f"run-{uuid.uuid4().hex[:8]}"
                job.runs.append(run_id)
                return 200, {"dag_run_id": run_id, "dag_id": job.name, "state": "queued"}
            if match and method == "GET" and match.group("run"):
                state = _AIRFLOW_STATES[job.script.next()]
                return 200, {"dag_run_id": match.group("run"), "dag_id": job.name, "state": state}
        return 404, {"error": f"no scripted endpoint at {method} {path}"}

    def _handler_class(self) -> type:
        endpoints = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                path = self.path.split("?", 1)[0]
                status, answer = endpoints._answer(self.command, path, dict(self.headers), body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:  # keep test and demo output clean
                pass

        return Handler
