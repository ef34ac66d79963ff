"""The SSRF guard and safe HTTP client: address policy, pinning, redirects, limits, timeouts, error text."""
import ipaddress
import socket
import time

import pytest

from handlers.interlock import netguard
from handlers.interlock.netguard import OutboundError, refusal_reason
from tests.handlers.outbound_http import LoopbackServer, allow_loopback, no_allowlist, server  # noqa: F401


@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "not publicly routable"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of the metadata address
        ("2002:0a00:0001::1", "private"),  # 6to4 around 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address, reason):
    assert reason in refusal_reason(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_the_allowlist_admits_addresses_inside_it_only():
    allowed = netguard.parse_networks("127.0.0.0/8, 10.20.0.0/16")
    assert refusal_reason(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("10.21.0.1"), allowed) == "private"
    assert "link-local" in refusal_reason(ipaddress.ip_address("169.254.169.254"), allowed)


def test_a_malformed_allowlist_entry_is_named():
    with pytest.raises(ValueError, match="'10.0.0.0/33'"):
        netguard.parse_networks("127.0.0.0/8,10.0.0.0/33")


def test_loopback_is_refused_without_the_allowlist_and_the_target_receives_nothing(server, no_allowlist):
    server.answer("POST", "/hook", 200, b"ok")
    for url in (server.url("/hook"), f"http://localhost:{server.port}/hook"):
        with pytest.raises(OutboundError) as err:
            netguard.request("POST", url, body=b"{}", timeout=2)
        assert err.value.kind == "refused"
        assert "loopback" in str(err.value) and "INTERLOCK_ALLOWED_NETWORKS" in str(err.value)
    assert server.requests == []


def test_ipv6_loopback_is_refused_without_the_allowlist(no_allowlist):
    try:
        v6 = LoopbackServer("::1")
    except OSError:
        v6 = None  # no IPv6 on this host: the refusal happens before any connection anyway
    url = v6.url("/x") if v6 else "http://[::1]:9/x"
    try:
        with pytest.raises(OutboundError, match="loopback") as err:
            netguard.request("GET", url, timeout=2)
        assert err.value.kind == "refused"
        if v6:
            assert v6.requests == []
    finally:
        if v6:
            v6.close()


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://0.0.0.0:80/", "unspecified"),
    ],
)
def test_metadata_and_private_targets_are_refused_before_connecting(url, reason, no_allowlist, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("a refused address must never be connected to")

    monkeypatch.setattr(socket.socket, "connect", no_connection)
    with pytest.raises(OutboundError, match=reason) as err:
        netguard.request("GET", url, timeout=2)
    assert err.value.kind == "refused"


def test_a_name_resolving_to_a_private_address_is_refused(no_allowlist, monkeypatch):
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))]
    )
    with pytest.raises(OutboundError, match=r"evil\.example: 10\.9\.8\.7 is private"):
        netguard.request("GET", "http://evil.example/", timeout=2)


def test_any_refused_address_among_several_refuses_the_name(no_allowlist, monkeypatch):
    answers = [("8.8.8.8", 80), ("169.254.169.254", 80)]
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", a) for a in answers]
    )
    with pytest.raises(OutboundError, match="169.254.169.254 is link-local"):
        netguard.request("GET", "http://mixed.example/", timeout=2)


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(server, allow_loopback, monkeypatch):
    """DNS rebinding: the name is resolved once; a second lookup (which would now say 10.x) never happens."""
    lookups = []

    def rebinding_dns(host, port, **kwargs):
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    server.answer("GET", "/status", 200, {"ok": True})
    response = netguard.request("GET", f"http://pipeline-api.test:{server.port}/status", timeout=2)
    assert response.status == 200 and response.json() == {"ok": True}
    assert lookups == ["pipeline-api.test"]
    assert server.requests[0].headers["Host"] == f"pipeline-api.test:{server.port}"


def test_an_allowed_call_sends_method_body_and_headers(server, allow_loopback):
    server.answer("PUT", "/jobs/1", 201, b"created")
    response = netguard.request("PUT", server.url("/jobs/1?x=1"), headers={"X-Token": "t"}, body=b'{"a":1}', timeout=2)
    assert (response.status, response.body) == (201, b"created")
    received = server.requests[0]
    assert (received.method, received.path, received.body) == ("PUT", "/jobs/1?x=1", b'{"a":1}')
    assert received.headers["X-Token"] == "t"


def test_redirects_are_not_followed_even_to_allowed_addresses(server, allow_loopback):
    server.answer("GET", "/start", 302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    server.answer("GET", "/elsewhere", 200, b"should not be reached")
    with pytest.raises(OutboundError, match="redirect to http://169.254.169.254/latest/meta-data/") as err:
        netguard.request("GET", server.url("/start"), timeout=2)
    assert err.value.kind == "redirect"
    server.answer("GET", "/start", 307, headers={"Location": server.url("/elsewhere")})
    with pytest.raises(OutboundError):
        netguard.request("GET", server.url("/start"), timeout=2)
    assert [r.path for r in server.requests] == ["/start", "/start"]


def test_the_response_body_is_capped(server, allow_loopback):
    server.answer("GET", "/big", 200, b"x" * (netguard.MAX_BODY_BYTES + 1))
    server.answer("GET", "/fits", 200, b"x" * netguard.MAX_BODY_BYTES)
    with pytest.raises(OutboundError, match="exceeds 1048576 bytes") as err:
        netguard.request("GET", server.url("/big"), timeout=5)
    assert err.value.kind == "too_large"
    assert len(netguard.request("GET", server.url("/fits"), timeout=5).body) == netguard.MAX_BODY_BYTES


def test_a_slow_response_times_out_within_the_budget(server, allow_loopback):
    server.answer("GET", "/slow", 200, b"late", delay=3)
    started = time.monotonic()
    with pytest.raises(OutboundError, match="timed out") as err:
        netguard.request("GET", server.url("/slow"), timeout=0.5)
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 2


def test_a_closed_port_is_a_connection_error(allow_loopback):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OutboundError) as err:
        netguard.request("GET", f"http://127.0.0.1:{port}/", timeout=2)
    assert err.value.kind == "connection"


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/x", "must start with http"),
        ("http://user:pw@example.com/", "must not carry credentials"),
        ("http:///nohost", "has no host"),
        ("http://example.com:99999/", "invalid port"),
    ],
)
def test_bad_urls_are_refused_with_a_clear_message(url, message):
    with pytest.raises(OutboundError, match=message) as err:
        netguard.request("GET", url, timeout=1)
    assert err.value.kind == "invalid"


def test_header_injection_is_refused(server, allow_loopback):
    with pytest.raises(OutboundError, match="forbidden character"):
        netguard.request("GET", server.url("/"), headers={"X-A": "v\r\nX-Injected: 1"}, timeout=1)
    assert server.requests == []


def test_error_text_is_stripped_of_control_characters_and_truncated():
    text = netguard.clean_text("ok\x1b[31m red\r\nnext\x00\u202etail" + "y" * 500, limit=40)
    assert not any(c in text for c in "\x1b\r\n\x00\u202e")
    assert text.startswith("ok[31m red  next") and len(text) == 40 and text.endswith("…")


@pytest.mark.parametrize("host", ["2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1"])
def test_obfuscated_loopback_spellings_are_resolved_then_refused(host, no_allowlist, monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("must not connect"))
    with pytest.raises(OutboundError, match="is loopback") as err:
        netguard.request("GET", f"http://{host}:8080/", timeout=2)
    assert err.value.kind == "refused"
