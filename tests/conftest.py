"""Shared test setup: the repository root is importable, boto3 never reaches real AWS, and no socket leaves the
machine (the socket fence), so a test against a broken SSRF guard fails instead of sending packets out."""

import ipaddress
import os
import socket
import sys

import pytest
from hypothesis import settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)

# Generated-input tests: the same examples on every run (a failure reproduces), no example database in the tree.
settings.register_profile("interlock", derandomize=True, database=None, deadline=None)
settings.load_profile("interlock")


class SocketFenceError(BaseException):
    """A test tried to reach an address outside the loopback range. A BaseException, so no `except Exception` in the
    code under test (a retry loop, an error classifier) can swallow it."""


class SocketFence:
    """Refuses, for the whole session, every connect and addressed send to anything but 127.0.0.0/8, ::1 (also as
    ::ffff:127.x.y.z) and `localhost`; AF_UNIX is allowed. Every refusal is recorded, so one swallowed by a thread
    still fails the test that caused it."""

    Error = SocketFenceError
    _LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})

    def __init__(self):
        self.refused: list[str] = []
        self._originals = {}

    def check(self, sock, address) -> None:
        family = sock.family
        if family == socket.AF_UNIX:
            return
        if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
            host = str(address[0])
            if host.lower() in self._LOOPBACK_NAMES:
                return
            try:
                ip = ipaddress.ip_address(host.split("%", 1)[0])
            except ValueError:
                ip = None
            if ip is not None and (ip.is_loopback or (ip.version == 6 and (ip.ipv4_mapped or ip).is_loopback)):
                return
        self.refused.append(f"{getattr(family, 'name', family)} {address!r}")
        raise SocketFenceError(f"socket fence: tests may only reach loopback addresses, not {address!r}")

    def install(self) -> None:
        fence = self
        cls = socket.socket
        self._originals = {name: getattr(cls, name) for name in ("connect", "connect_ex", "sendto", "sendmsg")}
        connect, connect_ex, sendto, sendmsg = (
            self._originals[n] for n in ("connect", "connect_ex", "sendto", "sendmsg")
        )

        def fenced_connect(self, address):
            fence.check(self, address)
            return connect(self, address)

        def fenced_connect_ex(self, address):
            fence.check(self, address)
            return connect_ex(self, address)

        def fenced_sendto(self, data, *args):
            fence.check(self, args[-1] if args else None)
            return sendto(self, data, *args)

        def fenced_sendmsg(self, buffers, *args):
            if len(args) >= 3 and args[2] is not None:  # (ancdata, flags, address)
                fence.check(self, args[2])
            return sendmsg(self, buffers, *args)

        cls.connect, cls.connect_ex, cls.sendto, cls.sendmsg = (
            fenced_connect,
            fenced_connect_ex,
            fenced_sendto,
            fenced_sendmsg,
        )


_FENCE = SocketFence()
_FENCE.install()


@pytest.fixture
def socket_fence():
    """The session's socket fence; refusals a test provokes on purpose are cleared after it."""
    yield _FENCE
    _FENCE.refused.clear()


@pytest.fixture(autouse=True)
def _no_socket_left_the_machine(request):
    before = len(_FENCE.refused)
    yield
    if "socket_fence" not in request.fixturenames and len(_FENCE.refused) > before:
        attempts = _FENCE.refused[before:]
        del _FENCE.refused[before:]
        pytest.fail(f"the socket fence refused {len(attempts)} connection(s) outside loopback: {attempts[:5]}")
