"""Which addresses Interlock may call: the SSRF guard's address policy and the stack's allowlist.

Decided by what an address is (IANA special-purpose registries), not by ipaddress.is_global alone: Python 3.11-3.13
call ::7f00:1, ::ffff:0:a9fe:a9fe, fec0::/10 and 64:ff9b:1::/48 global. First match wins. An IPv6 address that
carries an IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo) is judged by that address too; the
cloud metadata service is refused in every spelling, allowlist or not. Standard library only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from . import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _table(*rows: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in rows)


_LINK_LOCAL = "link-local (includes the cloud metadata service)"
_IPV4_SPECIAL = _table(
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "'this network' (0.0.0.0/8), not publicly routable"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (100.64.0.0/10), not publicly routable"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", _LINK_LOCAL),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved for IETF protocol assignments, not publicly routable"),
    ("192.0.2.0/24", "documentation-only, not publicly routable"),
    ("192.88.99.0/24", "the retired 6to4 relay range, not publicly routable"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking-only, not publicly routable"),
    ("198.51.100.0/24", "documentation-only, not publicly routable"),
    ("203.0.113.0/24", "documentation-only, not publicly routable"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved, not publicly routable"),
)
_IPV6_SPECIAL = _table(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::ffff:0:0:0/96", "IPv4-translated, not publicly routable"),
    ("::/96", "IPv4-compatible (deprecated), not publicly routable"),
    ("64:ff9b:1::/48", "NAT64 local-use, not publicly routable"),
    ("::/8", "reserved, not publicly routable"),
    ("100::/64", "discard-only, not publicly routable"),
    ("2001::/32", "Teredo, not a plain global unicast address"),
    ("2001::/23", "reserved for IETF protocol assignments, not publicly routable"),
    ("2001:db8::/32", "documentation-only, not publicly routable"),
    ("3fff::/20", "documentation-only, not publicly routable"),
    ("fc00::/7", "private (unique local)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated), not publicly routable"),
    ("ff00::/8", "multicast"),
)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
METADATA_ADDRESSES = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


def _low32(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _stands_for(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address is only a spelling of: IPv4-mapped (`::ffff:a.b.c.d`, what a dual-stack
    socket uses) and NAT64 (`64:ff9b::a.b.c.d`, what DNS64 answers in an IPv6-only subnet)."""
    if address.version == 6 and (address in _MAPPED or address in _NAT64):
        return _low32(address)
    return None


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address carried inside `address`: IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64 (well-known
    and local-use), 6to4, and both Teredo addresses (server and client)."""
    if address.version != 6:
        return []
    if address in _MAPPED or address in _NAT64 or address in _TRANSLATED or address in _NAT64_LOCAL:
        return [_low32(address)]
    if address in _COMPATIBLE and int(address) > 1:
        return [_low32(address)]
    if address.sixtofour:
        return [address.sixtofour]
    if address.teredo:
        return list(address.teredo)
    return []


def _special_reason(address: IPAddress) -> str | None:
    for network, reason in _IPV4_SPECIAL if address.version == 4 else _IPV6_SPECIAL:
        if address in network:
            return reason
    if address.version == 6 and address not in _GLOBAL_UNICAST_V6:
        return "not a global unicast address (outside 2000::/3), not publicly routable"
    # The standard library's view as a second opinion: it only ever adds refusals.
    for flag, reason in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved, not publicly routable"),
    ):
        if getattr(address, flag):
            return reason
    if not address.is_global:
        return "not publicly routable"
    return None


def _own_reason(address: IPAddress) -> str | None:
    """Why `address` is not a plain global unicast address, judging every IPv4 address inside it by the same rule."""
    stands_for = _stands_for(address)
    if stands_for is not None:
        return _special_reason(stands_for)
    reason = _special_reason(address)
    for inner in embedded_ipv4(address):
        inner_reason = _special_reason(inner)
        if inner_reason:
            return f"{reason}, carrying {inner} ({inner_reason})" if reason else f"{inner_reason} (inside {address})"
    return reason


def is_metadata(address: IPAddress) -> bool:
    """`address` is the cloud metadata service, in any spelling."""
    return address in METADATA_ADDRESSES or any(inner in METADATA_ADDRESSES for inner in embedded_ipv4(address))


def refusal_reason(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why a call to `address` is refused, or None when it may be called.

    The metadata service is always refused. Otherwise an address inside an allowlisted network is allowed (an
    IPv4-mapped address when its IPv4 address is: a dual-stack socket connects to exactly that); anything else must
    be a plain global unicast address, and so must every IPv4 address embedded in it (`::ffff:127.0.0.1` is loopback).
    """
    own = _own_reason(address)
    if is_metadata(address):
        return f"{own or 'not publicly routable'}: the cloud metadata service, never called"
    candidates = [address] + ([_low32(address)] if address.version == 6 and address in _MAPPED else [])
    if any(c in net for c in candidates for net in allowed if net.version == c.version):
        return None
    return own


def _holds_suffix(network: ipaddress.IPv6Network, prefix: ipaddress.IPv6Network, suffix: int) -> bool:
    """`network` contains an address of `prefix` whose last 32 bits are `suffix`."""
    if not network.overlaps(prefix):
        return False
    inner = network if network.prefixlen >= prefix.prefixlen else prefix  # overlapping CIDRs are nested
    if inner.prefixlen <= 96:
        return True
    return ipaddress.IPv6Address((int(inner.network_address) >> 32 << 32) | suffix) in inner


def _metadata_inside(network: IPNetwork) -> str | None:
    """The metadata address (or an IPv6 spelling of it) that `network` contains, if any."""
    for address in METADATA_ADDRESSES:
        if address.version == network.version and address in network:
            return str(address)
    if network.version == 4:
        return None
    v4 = int(METADATA_ADDRESSES[0])
    for prefix, suffix, spelling in (
        (_MAPPED, v4, "IPv4-mapped"),
        (_COMPATIBLE, v4, "IPv4-compatible"),
        (_TRANSLATED, v4, "IPv4-translated"),
        (_NAT64, v4, "NAT64"),
        (_NAT64_LOCAL, v4, "NAT64 local-use"),
        (ipaddress.ip_network("2001::/32"), v4 ^ 0xFFFFFFFF, "Teredo client"),
    ):
        if _holds_suffix(network, prefix, suffix):
            return f"169.254.169.254 ({spelling} form)"
    for form, spelling in (("2002:a9fe:a9fe::/48", "6to4"), ("2001:0:a9fe:a9fe::/64", "Teredo server")):
        if network.overlaps(ipaddress.ip_network(form)):
            return f"169.254.169.254 ({spelling} form)"
    return None


def allowed_network_problems(cidrs: Iterable[str]) -> list[str]:
    """What is wrong with an allowlist (empty when nothing): an entry that is not a CIDR, one that allows every
    address (`0.0.0.0/0`, `::/0`), or one that contains the cloud metadata address in any spelling."""
    problems = []
    for entry in cidrs:
        text = str(entry).strip()
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            problems.append(f"{text!r} is not a CIDR such as 10.0.0.0/8")
            continue
        if network.prefixlen == 0:
            problems.append(f"{text!r} allows every address; list only the networks Interlock must reach")
            continue
        metadata = _metadata_inside(network)
        if metadata:
            problems.append(f"{text!r} contains the cloud metadata address {metadata}; narrow it to exclude it")
    return problems


@lru_cache(maxsize=8)
def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """CIDRs from a comma-separated list (blank entries ignored); raises ValueError naming a bad entry."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"INTERLOCK_ALLOWED_NETWORKS: {entry!r} is not a CIDR such as 10.0.0.0/8") from None
    return tuple(networks)


def allowed_networks() -> tuple[IPNetwork, ...]:
    """The stack's allowlist from the settings; a malformed entry is a broken deployment and raises ValueError."""
    return parse_networks(",".join(settings.get().allowed_networks))
