"""Loopback HTTP servers for the outbound tests: scripted answers per (method, path), every request recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from handlers.interlock import settings


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes | dict | list | str = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (or ::1). `answer(method, path, ...)` scripts a reply; `requests` records."""

    def __init__(self, host: str = "127.0.0.1"):
        self.answers: dict[tuple[str, str], Answer | Callable[[Received], Answer]] = {}
        self.requests: list[Received] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                server.requests.append(received)
                answer = server.answers.get((self.command, self.path.split("?", 1)[0])) or Answer(404, b"no route")
                if callable(answer):
                    answer = answer(received)
                if answer.delay:
                    time.sleep(answer.delay)
                body = answer.body
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                elif isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args):
                pass

        server_class = ThreadingHTTPServer
        if ":" in host:
            import socket

            class V6Server(ThreadingHTTPServer):
                address_family = socket.AF_INET6

            server_class = V6Server
        self.httpd = server_class((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, status: int = 200, body=b"", headers=None, delay: float = 0.0):
        self.answers[(method, path)] = Answer(status, body, headers or {}, delay)

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def set_allowlist(monkeypatch, value: str) -> None:
    """Set INTERLOCK_ALLOWED_NETWORKS for this test (the settings cache is reset on both sides)."""
    monkeypatch.setenv("INTERLOCK_ALLOWED_NETWORKS", value)
    settings.reset()


@pytest.fixture
def server():
    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.fixture
def allow_loopback(monkeypatch):
    set_allowlist(monkeypatch, "127.0.0.0/8,::1/128")
    yield
    settings.reset()


@pytest.fixture
def no_allowlist(monkeypatch):
    set_allowlist(monkeypatch, "")
    yield
    settings.reset()
