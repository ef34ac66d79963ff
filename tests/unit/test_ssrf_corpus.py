"""SSRF corpus: hostile URLs and DNS answers, none of which may reach a connect outside the allowlist.

The resolver is faked (socket.getaddrinfo, which the guard calls); every connect is recorded; the session's socket
fence (tests/conftest.py) would stop anything that is not loopback even if the guard let it through, and such a
refusal fails the test."""

import ipaddress
import socket

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from handlers.interlock import address_policy, netguard
from handlers.interlock.netguard import OutboundError
from tests.unit.address_classes import NON_GLOBAL_V4, NON_GLOBAL_V6, in_network

LOOPBACK_V4 = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "017700000001",
    "127.000.000.001",
    "127.0.0.1.",
    "127.255.255.254",
    "0x7f.1",
]
METADATA_V4 = [
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",
    "0251.0376.0251.0376",
    "169.254.43518",
    "0xa9.0xfe.0xa9.0xfe",
    "169.254.170.2",
    "169.254.169.253",
]
OTHER_V4 = [
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "0.0.0.0",
    "0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "198.18.0.1",
    "240.0.0.1",
    "192.0.0.170",
    "192.0.0.9",
    "192.88.99.1",
]
V6 = [
    "::1",
    "::",
    "0:0:0:0:0:0:0:1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "::7f00:1",
    "::127.0.0.1",
    "::a9fe:a9fe",
    "::ffff:0:a9fe:a9fe",
    "::ffff:0:127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::127.0.0.1",
    "64:ff9b::10.0.0.1",
    "64:ff9b:1::a9fe:a9fe",
    "64:ff9b:1::808:808",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:1::1",
    "2001:0:a9fe:a9fe::1",
    "2001::1",
    "2001:0:4136:e378:8000:63bf:5601:5601",
    "fe80::1",
    "fe80::a9fe:a9fe",
    "fec0::1",
    "fc00::1",
    "fd00::1",
    "fd00:ec2::254",
    "fd00:ec2::23",
    "ff02::1",
    "ff05::2",
    "100::1",
    "2001:db8::1",
    "3fff::1",
    "5f00::1",
    "::ffff:10.0.0.1",
    "::ffff:192.168.1.1",
    "::ffff:0.0.0.0",
    "1::",
    "4000::1",
    "e000::1",
]

LITERAL_URLS = (
    [f"http://{host}/" for host in LOOPBACK_V4 + METADATA_V4 + OTHER_V4]
    + [f"http://[{host}]/" for host in V6]
    + [
        "http://[fe80::1%25eth0]/",
        "https://169.254.169.254:443/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1:22/",
        "http://[::ffff:127.0.0.1]:6379/",
        "HTTP://169.254.169.254/",
        "http://0x7f.1:8080/x",
    ]
)
INVALID_URLS = [
    "file:///etc/passwd",
    "gopher://127.0.0.1:25/",
    "ftp://10.0.0.1/",
    "dict://localhost:11211/",
    "http://user:pw@169.254.169.254/",
    "http://169.254.169.254\r\nX-Injected: 1/",
    "http://127.0.0.1 /",
    "http://127.0.0.1:0/",
    "http://[::1]x/",
    "http://256.256.256.256/",
    "http://1.2.3.4.5/",
    "http://localhost%00.evil.test/",
    "http://[::ffff:127.0.0.1/",
    "http://ｌｏｃａｌｈｏｓｔ/",
    "http:///169.254.169.254",
    "http://evil.test\u200b/",
    "//169.254.169.254/",
    "javascript:alert(1)",
]

DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "metadata.evil.test": ["169.254.169.254"],
    "metadata6.evil.test": ["fd00:ec2::254"],
    "mapped.evil.test": ["::ffff:169.254.169.254"],
    "compat.evil.test": ["::a9fe:a9fe"],
    "translated.evil.test": ["::ffff:0:a9fe:a9fe"],
    "nat64.evil.test": ["64:ff9b::a9fe:a9fe"],
    "nat64-local.evil.test": ["64:ff9b:1::808:808"],
    "sixtofour.evil.test": ["2002:a9fe:a9fe::1"],
    "teredo.evil.test": ["2001:0:4136:e378:8000:63bf:5601:5601"],
    "site-local.evil.test": ["fec0::1"],
    "ula.evil.test": ["fd12:3456::1"],
    "link-local.evil.test": ["fe80::1%2"],
    "private.evil.test": ["10.1.2.3"],
    "cgnat.evil.test": ["100.64.1.1"],
    "zero.evil.test": ["0.0.0.0"],
    "broadcast.evil.test": ["255.255.255.255"],
    "multicast.evil.test": ["224.0.0.251"],
    "mixed.evil.test": ["93.184.216.34", "10.0.0.1"],
    "mixed6.evil.test": ["2606:2800:220:1:248:1893:25c8:1946", "fd00::1"],
    "mixed-last.evil.test": ["8.8.8.8", "8.8.4.4", "1.1.1.1", "169.254.169.254"],
    "garbage.evil.test": ["not-an-address"],
    "docs.evil.test": ["192.0.2.10", "2001:db8::10"],
    "benchmark.evil.test": ["198.18.5.5"],
    "reserved.evil.test": ["240.1.2.3"],
    "discard.evil.test": ["100::1"],
    "ecs-metadata.evil.test": ["169.254.170.2"],
    "loopback-range.evil.test": ["127.53.0.1"],
    "v4mapped-private.evil.test": ["::ffff:192.168.0.1"],
    "nat64-private.evil.test": ["64:ff9b::c0a8:1"],
}
NAME_URLS = [f"http://{name}/" for name in DNS] + [
    "http://localhost./",
    "http://LOCALHOST:8080/x",
    "https://metadata.evil.test:443/latest/api/token",
]


def fake_getaddrinfo(host, port, *args, **kwargs):
    answers = DNS.get(host.rstrip(".").lower()) if isinstance(host, str) else None
    if answers is None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [
        (
            socket.AF_INET6 if ":" in a else socket.AF_INET,
            socket.SOCK_STREAM,
            6,
            "",
            (a, port, 0, 0) if ":" in a else (a, port),
        )
        for a in answers
    ]


@pytest.fixture
def connects(monkeypatch, socket_fence):
    """Every address the code under test connects to (through the fence, which still applies)."""
    seen = []
    fenced = socket.socket.connect

    def recording(sock, address):
        seen.append(address)
        return fenced(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording)
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    before = len(socket_fence.refused)
    yield seen
    assert socket_fence.refused[before:] == [], "the guard let a call through that only the fence stopped"


def test_the_corpus_is_large_enough():
    assert len(LITERAL_URLS) + len(INVALID_URLS) + len(NAME_URLS) >= 130
    assert len(DNS) >= 30


@pytest.mark.parametrize("url", LITERAL_URLS + NAME_URLS)
def test_nothing_in_the_corpus_is_connected_to_without_an_allowlist(url, no_allowlist, connects):
    with pytest.raises(OutboundError) as err:
        netguard.request("GET", url, timeout=1)
    assert err.value.kind == "refused", str(err.value)
    assert err.value.category == "PERMANENT"
    assert connects == []


@pytest.mark.parametrize("url", INVALID_URLS)
def test_malformed_corpus_urls_are_refused_as_config_errors(url, no_allowlist, connects):
    with pytest.raises(OutboundError) as err:
        netguard.request("GET", url, timeout=1)
    assert err.value.kind in ("invalid", "refused") and err.value.category == "PERMANENT", str(err.value)
    assert connects == []


def _in(networks, address):
    ip = ipaddress.ip_address(address[0].split("%", 1)[0])
    mapped = ip.ipv4_mapped if ip.version == 6 else None
    return any(
        candidate in n
        for candidate in (ip, mapped)
        if candidate is not None
        for n in networks
        if n.version == candidate.version
    )


@pytest.mark.parametrize("url", LITERAL_URLS + NAME_URLS)
def test_with_a_loopback_allowlist_only_loopback_is_ever_connected_to(url, allow_loopback, connects):
    try:
        netguard.request("GET", url, timeout=1)
    except OutboundError as exc:
        assert exc.kind in ("refused", "connection", "timeout"), str(exc)
    loopback = address_policy.parse_networks("127.0.0.0/8,::1/128")
    assert all(_in(loopback, address) for address in connects), connects


NON_GLOBAL = NON_GLOBAL_V4 + NON_GLOBAL_V6


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(NON_GLOBAL).flatmap(in_network),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.sampled_from(["8.8.8.8", "1.1.1.1", "2606:4700::1111"]), max_size=2),
    st.randoms(use_true_random=False),
)
def test_generated_dns_answers_with_any_non_global_address_are_refused(no_allowlist, connects, bad, good, rnd):
    answers = [str(a) for a in bad] + good
    rnd.shuffle(answers)
    DNS["generated.evil.test"] = answers
    try:
        with pytest.raises(OutboundError) as err:
            netguard.request("POST", "https://generated.evil.test/hook", body=b"{}", timeout=1)
    finally:
        del DNS["generated.evil.test"]
    assert err.value.kind == "refused"
    assert connects == []


def test_a_name_is_resolved_once_even_when_the_answer_would_change(no_allowlist, connects, monkeypatch):
    """DNS rebinding: the guard checks the one answer it will connect to; a refused first answer ends the call."""
    calls = []

    def rebinding(host, port, *args, **kwargs):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1" if len(calls) == 1 else "8.8.8.8", port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(OutboundError, match="private"):
        netguard.request("GET", "http://rebind.evil.test/", timeout=1)
    assert calls == ["rebind.evil.test"] and connects == []
