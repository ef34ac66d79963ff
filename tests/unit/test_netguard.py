"""The SSRF guard and safe HTTP client: address policy, pinning, redirects, limits, timeouts, error text."""

import ipaddress
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from handlers.interlock import address_policy, netguard, redaction
from handlers.interlock.address_policy import refusal_reason
from handlers.interlock.netguard import OutboundError
from tests.handlers.outbound_http import LoopbackServer
from tests.unit.address_classes import NON_GLOBAL_V4, in_network


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
    allowed = address_policy.parse_networks("127.0.0.0/8, 10.20.0.0/16")
    assert refusal_reason(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert refusal_reason(ipaddress.ip_address("10.21.0.1"), allowed) == "private"
    assert "link-local" in refusal_reason(ipaddress.ip_address("169.254.169.254"), allowed)


def test_a_malformed_allowlist_entry_is_named():
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        address_policy.parse_networks("127.0.0.0/8,10.0.0.0/33")


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
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))],
    )
    with pytest.raises(OutboundError, match=r"evil\.example: 10\.9\.8\.7 is private"):
        netguard.request("GET", "http://evil.example/", timeout=2)


def test_any_refused_address_among_several_refuses_the_name(no_allowlist, monkeypatch):
    answers = [("8.8.8.8", 80), ("169.254.169.254", 80)]
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", a) for a in answers],
    )
    with pytest.raises(OutboundError, match=r"169\.254\.169\.254 is link-local"):
        netguard.request("GET", "http://mixed.example/", timeout=2)


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(
    server, allow_loopback, monkeypatch
):
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
    with pytest.raises(OutboundError, match=r"redirect to http://169\.254\.169\.254/latest/meta-data/") as err:
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
    text = redaction.clean_text("ok\x1b[31m red\r\nnext\x00\u202etail" + "y" * 500, limit=40)
    assert not any(c in text for c in "\x1b\r\n\x00\u202e")
    assert text.startswith("ok[31m red  next") and len(text) == 40 and text.endswith("…")


@pytest.mark.parametrize("host", ["2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1"])
def test_obfuscated_loopback_spellings_are_resolved_then_refused(host, no_allowlist, monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", lambda *a: pytest.fail("must not connect"))
    with pytest.raises(OutboundError, match="is loopback") as err:
        netguard.request("GET", f"http://{host}:8080/", timeout=2)
    assert err.value.kind == "refused"


# --- Address classes, generated -------------------------------------------------------------------------------------
# The rule under test, written independently of the module: an address is called only when it is a plain global
# unicast address; IPv4-mapped and NAT64 (64:ff9b::/96) spellings are judged as the IPv4 address they stand for,
# 6to4 by the IPv4 address it carries; every other IPv6 form carrying an IPv4 address is refused.

NON_GLOBAL_IN_2000_3 = [ipaddress.ip_network(n) for n in ("2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20")]
ALL_V6 = 2**128 - 1


def v6(value: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(value)


non_global_v4 = st.sampled_from(NON_GLOBAL_V4).flatmap(in_network)
global_v4 = (
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(lambda a: not any(a in n for n in NON_GLOBAL_V4))
)
low_bits = st.integers(0, 2**80 - 1)


def spellings(v4: ipaddress.IPv4Address, noise: int) -> dict[str, ipaddress.IPv6Address]:
    """Every IPv6 spelling that carries `v4` (noise fills the bits the form leaves free)."""
    n = int(v4)
    return {
        "mapped": v6(0xFFFF << 32 | n),
        "compatible": v6(n),
        "translated": v6(0xFFFF << 48 | n),
        "nat64": v6(int(ipaddress.ip_address("64:ff9b::")) | n),
        "nat64-local": v6(int(ipaddress.ip_address("64:ff9b:1::")) | (noise & (2**48 - 1)) << 32 | n),
        "6to4": v6(0x2002 << 112 | n << 80 | noise),
        "teredo-server": v6(0x20010000 << 96 | n << 64 | (noise & (2**64 - 1))),
        "teredo-client": v6(0x20010000 << 96 | (noise & (2**64 - 1)) >> 32 << 32 | (n ^ 0xFFFFFFFF)),
    }


@given(non_global_v4, low_bits)
def test_a_non_global_ipv4_address_is_refused_in_every_spelling(address, noise):
    assert refusal_reason(address)
    for form, spelled in spellings(address, noise).items():
        if form == "compatible" and int(address) <= 1:
            continue  # ::0 and ::1 are the unspecified and loopback IPv6 addresses themselves
        assert refusal_reason(spelled), f"{form} {spelled}"


@given(global_v4, low_bits)
def test_a_global_ipv4_address_passes_only_in_spellings_that_reach_it(address, noise):
    assert refusal_reason(address) is None
    forms = spellings(address, noise)
    for form in ("mapped", "nat64", "6to4"):
        assert refusal_reason(forms[form]) is None, f"{form} {forms[form]}"
    for form in ("compatible", "translated", "nat64-local", "teredo-server", "teredo-client"):
        assert refusal_reason(forms[form]), f"{form} {forms[form]}"


@given(
    st.integers(0, ALL_V6)
    .map(v6)
    .filter(lambda a: a not in ipaddress.ip_network("::ffff:0:0/96") and a not in ipaddress.ip_network("64:ff9b::/96"))
)
def test_ipv6_outside_global_unicast_is_refused(address):
    """Everything outside 2000::/3 (and the special blocks inside it) is refused, whatever ipaddress.is_global says."""
    if address in ipaddress.ip_network("2000::/3") and not any(address in n for n in NON_GLOBAL_IN_2000_3):
        assert refusal_reason(address) is None
    elif address not in ipaddress.ip_network("2002::/16"):
        assert refusal_reason(address)


@given(
    st.sampled_from(
        [
            "fec0::/10",
            "64:ff9b:1::/48",
            "::/96",
            "::ffff:0:0:0/96",
            "fc00::/7",
            "fe80::/10",
            "ff00::/8",
            "100::/64",
            "2001:db8::/32",
            "3fff::/20",
            "2001::/32",
        ]
    )
    .map(ipaddress.ip_network)
    .flatmap(in_network)
)
def test_addresses_python_calls_global_are_refused(address):
    assert refusal_reason(address)


@pytest.mark.parametrize(
    "address",
    [
        "::7f00:1",
        "::a9fe:a9fe",
        "::ffff:0:a9fe:a9fe",
        "fec0::1",
        "64:ff9b:1::a9fe:a9fe",
        "64:ff9b:1::808:808",
        "2001:0:a9fe:a9fe::1",
        "2002:a9fe:a9fe::1",
        "192.0.0.9",
        "192.88.99.1",
        "3fff::1",
        "5f00::1",
    ],
)
def test_the_reported_escapes_are_refused_as_literals_and_as_dns_answers(
    address, no_allowlist, monkeypatch, socket_fence
):
    before = len(socket_fence.refused)
    ip = ipaddress.ip_address(address)
    host = f"[{address}]" if ip.version == 6 else address
    with pytest.raises(OutboundError) as err:
        netguard.request("GET", f"http://{host}/", timeout=1)
    assert err.value.kind == "refused" and err.value.category == "PERMANENT"
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda h, port, **kw: [(family, socket.SOCK_STREAM, 6, "", (address, port))]
    )
    with pytest.raises(OutboundError) as err:
        netguard.request("GET", "http://answer.example/", timeout=1)
    assert err.value.kind == "refused" and address in str(err.value)
    assert len(socket_fence.refused) == before


@given(st.sampled_from(["169.254.169.254", "fd00:ec2::254"]).map(ipaddress.ip_address), low_bits)
def test_the_metadata_service_is_refused_even_inside_the_allowlist(address, noise):
    allowed = address_policy.parse_networks("0.0.0.0/0,::/0")
    assert "metadata" in refusal_reason(address, allowed)
    if address.version == 4:
        for form, spelled in spellings(address, noise).items():
            assert "metadata" in refusal_reason(spelled, allowed), f"{form} {spelled}"


@given(
    st.sampled_from(["10.20.0.0/16", "192.168.7.0/24", "100.64.0.0/10", "fd12:3456::/32"])
    .map(ipaddress.ip_network)
    .flatmap(lambda net: st.tuples(st.just(net), in_network(net)))
)
def test_the_allowlist_admits_exactly_its_networks(net_and_address):
    network, address = net_and_address
    assert refusal_reason(address, [network]) is None
    if address.version == 4:
        assert refusal_reason(v6(0xFFFF << 32 | int(address)), [network]) is None  # a dual-stack socket's spelling
        assert refusal_reason(v6(int(address)), [network])  # IPv4-compatible reaches nothing in the network
        assert refusal_reason(spellings(address, 0)["nat64"], [network])  # another host's translator: not the same
    assert refusal_reason(address, [])


# --- The allowlist setting ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cidr, problem",
    [
        ("0.0.0.0/0", "allows every address"),
        ("::/0", "allows every address"),
        ("169.254.0.0/16", "169.254.169.254"),
        ("169.254.169.254/32", "169.254.169.254"),
        ("128.0.0.0/1", "metadata"),
        ("fd00::/8", "fd00:ec2::254"),
        ("fd00:ec2::254/128", "fd00:ec2::254"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::ffff:169.254.169.254/128", "IPv4-mapped"),
        ("::/96", "IPv4-compatible"),
        ("::ffff:0:0:0/96", "IPv4-translated"),
        ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "NAT64 local-use"),
        ("64:ff9b:1:aa::a9fe:a9fe/128", "NAT64 local-use"),
        ("2002::/16", "6to4"),
        ("2002:a9fe:a9fe::/48", "6to4"),
        ("2001:0:a9fe:a9fe::/64", "Teredo"),
        ("::/1", "metadata"),
        ("not-a-cidr", "not a CIDR"),
    ],
)
def test_allowlists_that_reach_everything_or_the_metadata_service_are_refused(cidr, problem):
    problems = address_policy.allowed_network_problems(["10.0.0.0/8", cidr])
    assert len(problems) == 1 and problem in problems[0] and repr(cidr) in problems[0]


@pytest.mark.parametrize(
    "cidr",
    [
        "10.0.0.0/8",
        "127.0.0.0/8",
        "::1/128",
        "192.168.0.0/16",
        "169.254.170.0/24",
        "fd12:3456::/32",
        "64:ff9b::a00:0/104",
        "2002:a00::/24",
        "2600:1f18::/32",
    ],
)
def test_ordinary_allowlists_pass(cidr):
    assert address_policy.allowed_network_problems([cidr]) == []


@given(st.integers(0, 32))
def test_any_ipv4_network_around_the_metadata_address_is_refused(prefix):
    network = ipaddress.ip_network(f"169.254.169.254/{prefix}", strict=False)
    assert address_policy.allowed_network_problems([str(network)])


@given(
    st.sampled_from(
        [
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "::ffff:0:169.254.169.254",
            "64:ff9b::169.254.169.254",
            "fd00:ec2::254",
        ]
    ),
    st.integers(0, 128),
)
def test_any_ipv6_network_around_a_metadata_spelling_is_refused(address, prefix):
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    assert address_policy.allowed_network_problems([str(network)])


# --- Everything the outbound module raises is an OutboundError with a category --------------------------------------

URL_BREAKERS = st.sampled_from(
    ["\r\n", "\r", "\n", " ", "\t", "\x00", "\x1b", "\x7f", "\u00a0", "\u2028", "\u200b", "\ufeff", "\u3000", "\x85"]
)


@given(URL_BREAKERS, st.integers(0, 40))
def test_whitespace_and_control_characters_anywhere_in_a_url_are_a_permanent_config_error(breaker, position):
    url = "http://api.example.com:8080/jobs/run?x=1"
    position = min(position, len(url))
    with pytest.raises(OutboundError) as err:
        netguard.parse_url(url[:position] + breaker + url[position:])
    assert err.value.kind == "invalid" and err.value.category == "PERMANENT"


@given(st.text(max_size=80))
def test_parsing_any_text_as_a_url_either_succeeds_or_raises_the_outbound_error(text):
    for url in (text, "http://" + text, "https://example.com/" + text, "http://[" + text + "]/"):
        try:
            target = netguard.parse_url(url)
        except OutboundError as exc:
            assert exc.category == "PERMANENT"
            continue
        assert target.host.isascii() and target.path.isascii() and 0 < target.port < 65536


@pytest.mark.parametrize("url", ["http://example.com:0/", "https://example.com:00/x", "http://[2001:4860::1]:0/"])
def test_port_zero_is_refused_not_replaced(url):
    with pytest.raises(OutboundError, match="port 0") as err:
        netguard.parse_url(url)
    assert err.value.category == "PERMANENT"


@pytest.mark.parametrize(
    "url",
    [
        "http://exa%41mple.com/",
        "http://-bad.example/",
        "http://a..b/",
        "http://256.1.1.1/",
        "http://1.2.3.4.5/",
        "http://foo.0x10/",
        "http://[::1/",
        "http://[::1]x/",
        "http://" + "a" * 64 + ".example/",
        "http://faß.de/",
        "http://ｅｘａｍｐｌｅ.com/",
        "http://exa\ud800mple.com/",
    ],
)
def test_malformed_hosts_are_a_permanent_config_error(url):
    with pytest.raises(OutboundError) as err:
        netguard.parse_url(url)
    assert err.value.kind == "invalid"


def test_idna_hosts_are_called_by_their_ascii_name(server, allow_loopback, monkeypatch):
    asked = []

    def dns(host, port, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    server.answer("GET", "/b%C3%BCcher", 200, b"ok")
    response = netguard.request("GET", f"http://bücher.example:{server.port}/bücher", timeout=2)
    assert response.status == 200
    assert asked == ["xn--bcher-kva.example"]
    assert server.requests[0].headers["Host"] == f"xn--bcher-kva.example:{server.port}"


def test_a_non_ascii_path_and_query_are_percent_encoded(server, allow_loopback):
    server.answer("GET", "/d%C3%A9p%C3%B4t", 200, b"ok")
    assert netguard.request("GET", server.url("/dépôt?q=日本&x=%41"), timeout=2).status == 200
    assert server.requests[0].path == "/d%C3%A9p%C3%B4t?q=%E6%97%A5%E6%9C%AC&x=%41"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=20), value=st.text(max_size=40))
def test_any_header_is_sent_as_utf8_or_refused_before_sending(server, allow_loopback, name, value):
    server.requests.clear()
    server.answer("GET", "/h", 200, b"ok")
    try:
        response = netguard.request("GET", server.url("/h"), headers={name: value}, timeout=2)
    except OutboundError as exc:
        assert exc.kind == "invalid" and exc.category == "PERMANENT" and server.requests == []
        if len(value) >= 8:
            assert value not in str(exc)  # a header value (maybe a secret) is never echoed
        return
    assert response.status == 200
    received = server.requests[0].headers[name]
    assert received.encode("latin-1").decode("utf-8") == value.strip(" \t")


def test_a_secret_that_is_not_latin1_is_sent_as_utf8(server, allow_loopback):
    server.answer("GET", "/h", 200, b"ok")
    netguard.request("GET", server.url("/h"), headers={"Authorization": "Bearer ключ-€-токен"}, timeout=2)
    assert server.requests[0].headers["Authorization"].encode("latin-1").decode() == "Bearer ключ-€-токен"


@pytest.mark.parametrize("method", ["GET POST", "GE\nT", "", "GÉT", "GET/1"])
def test_a_malformed_method_is_refused(method):
    with pytest.raises(OutboundError) as err:
        netguard.request(method, "http://example.com/", timeout=1)
    assert err.value.kind == "invalid"


class RawServer:
    """A loopback server that writes `reply` verbatim to each connection, then closes it."""

    def __init__(self, reply: bytes):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(65536)
                conn.sendall(self.reply)
            except OSError:
                pass

    def close(self):
        self.sock.close()


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ],
)
def test_a_response_cut_short_is_transient_not_complete(reply, allow_loopback):
    raw = RawServer(reply)
    try:
        with pytest.raises(OutboundError) as err:
            netguard.request("GET", f"http://127.0.0.1:{raw.port}/", timeout=3)
        assert err.value.category == "TRANSIENT"
    finally:
        raw.close()


def test_a_complete_response_is_accepted(allow_loopback):
    raw = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    try:
        assert netguard.request("GET", f"http://127.0.0.1:{raw.port}/", timeout=3).body == b"hello"
    finally:
        raw.close()


def test_server_text_in_an_error_is_masked(allow_loopback):
    raw = RawServer(b"HTTP/1.1 2xx tok-SECRET-123 echoed\r\n\r\n")
    try:
        with pytest.raises(OutboundError) as err:
            netguard.request("GET", f"http://127.0.0.1:{raw.port}/", timeout=3, secrets=["tok-SECRET-123"])
        assert "tok-SECRET-123" not in str(err.value) and "***" in str(err.value)
    finally:
        raw.close()
