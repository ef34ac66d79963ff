"""The test session's socket fence (tests/conftest.py): nothing but loopback can be reached, so a test against a
broken SSRF guard fails instead of sending packets out. The targets are documentation ranges: never routed."""

import contextlib
import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from handlers.interlock import netguard
from tests.handlers.outbound_http import LoopbackServer


def _fenced(socket_fence, call):
    before = len(socket_fence.refused)
    with pytest.raises(socket_fence.Error) as err:
        call()
    assert "socket fence" in str(err.value)
    assert len(socket_fence.refused) == before + 1
    return err.value


@pytest.mark.parametrize(
    "family, address",
    [
        (socket.AF_INET, ("192.0.2.1", 80)),
        (socket.AF_INET6, ("2001:db8::1", 443, 0, 0)),
        (socket.AF_INET6, ("::ffff:192.0.2.1", 80, 0, 0)),
        (socket.AF_INET, ("10.0.0.1", 80)),
        (socket.AF_INET, ("169.254.169.254", 80)),
        (socket.AF_INET, ("example.com", 80)),
    ],
)
def test_connect_and_connect_ex_outside_loopback_are_refused_before_any_packet(socket_fence, family, address):
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)  # were the fence missing, a real connect would start here, not block the test
        error = _fenced(socket_fence, lambda: sock.connect(address))
        assert not isinstance(error, Exception)  # no `except Exception` in code under test can swallow it
        _fenced(socket_fence, lambda: sock.connect_ex(address))


def test_create_connection_is_refused(socket_fence):
    _fenced(socket_fence, lambda: socket.create_connection(("192.0.2.1", 80), timeout=0.1))


def test_addressed_datagrams_are_refused(socket_fence):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        _fenced(socket_fence, lambda: sock.sendto(b"x", ("192.0.2.1", 53)))
        _fenced(socket_fence, lambda: sock.sendto(b"x", 0, ("192.0.2.1", 53)))
        _fenced(socket_fence, lambda: sock.sendmsg([b"x"], [], 0, ("192.0.2.1", 53)))


def test_loopback_and_unix_sockets_pass():
    server = LoopbackServer()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=2):
            pass
        with socket.create_connection(("localhost", server.port), timeout=2):
            pass
    finally:
        server.close()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        receiver.bind(("127.0.0.1", 0))
        sender.sendto(b"ping", receiver.getsockname())
        assert receiver.recv(4) == b"ping"
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"


def test_a_refusal_in_another_thread_is_still_recorded(socket_fence):
    before = len(socket_fence.refused)

    def reach_out():
        with contextlib.suppress(BaseException):  # the worker swallows it; the record stays
            socket.create_connection(("198.51.100.7", 80), timeout=0.1)

    worker = threading.Thread(target=reach_out)
    worker.start()
    worker.join()
    assert socket_fence.refused[before:] and "198.51.100.7" in socket_fence.refused[-1]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.ip_addresses().filter(
        lambda ip: not (ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped and ip.ipv4_mapped.is_loopback))
    )
)
def test_no_address_outside_loopback_gets_through(socket_fence, address):
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        _fenced(socket_fence, lambda: sock.connect((str(address), 9)))


def test_the_guard_never_needs_the_fence(socket_fence, allow_loopback, monkeypatch):
    """The other way round: the fence stands behind the guard. With a guard that lets everything through, the
    fence is what stops the call (and the test that relied on the guard fails loudly)."""
    monkeypatch.setattr(netguard, "refusal_reason", lambda address, allowed=(): None)
    _fenced(socket_fence, lambda: netguard.request("GET", "http://192.0.2.1/", timeout=1))
