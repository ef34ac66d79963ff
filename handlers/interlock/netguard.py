"""Outbound HTTP for evaluators and triggers, guarded against SSRF.

Every URL Interlock calls comes from pipeline configuration, so every call goes through `request()`:
- the host is resolved once and every address it resolves to must be publicly routable, or inside the stack's
  allowlist (`INTERLOCK_ALLOWED_NETWORKS`, comma-separated CIDRs, empty by default);
- the connection goes to the address that was checked (no second DNS lookup); the Host header and TLS SNI/certificate
  check still use the name;
- redirects are never followed (a 3xx is an error naming the location), so a redirect cannot reach a refused address;
- connect and read timeouts, a response body cap (1 MiB), and error text stripped of control characters.
Standard library only: this runs in the Lambdas, where only boto3 and the layer's packages exist.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from . import settings
from .models import FailureCategory

MAX_BODY_BYTES = 1 << 20
CONNECT_TIMEOUT_SECONDS = 5.0
ERROR_TEXT_LIMIT = 300
_READ_CHUNK = 64 * 1024
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundError(Exception):
    """A call that did not produce an HTTP response. `kind` says why:
    `refused` (SSRF guard), `invalid` (bad URL or request), `timeout`, `connection`, `too_large`, `redirect`."""

    def __init__(self, kind: str, message: str):
        super().__init__(clean_text(message))
        self.kind = kind

    @property
    def category(self) -> str:
        """TIMEOUT for a timeout, TRANSIENT for a connection error, else PERMANENT (a retry would meet it again)."""
        return {"timeout": FailureCategory.TIMEOUT.value, "connection": FailureCategory.TRANSIENT.value}.get(
            self.kind, FailureCategory.PERMANENT.value)


def status_category(status: int) -> str:
    """Failure category of an HTTP error status: 429 and 5xx may pass (TRANSIENT), other 4xx will not (PERMANENT)."""
    if status == 429 or status >= 500:
        return FailureCategory.TRANSIENT.value
    return FailureCategory.PERMANENT.value


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self):
        """The body decoded as JSON (raises ValueError when it is not)."""
        return json.loads(self.body.decode("utf-8"))

    def snippet(self, limit: int = ERROR_TEXT_LIMIT) -> str:
        """The body as short, printable text for error messages."""
        return clean_text(self.body[: limit * 4].decode("utf-8", "replace"), limit)


def clean_text(text: object, limit: int = ERROR_TEXT_LIMIT) -> str:
    """`text` without control/format characters (newlines become spaces), truncated to `limit` characters."""
    out = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if ch in "\r\n\t":
            out.append(" ")
        elif category not in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            out.append(ch)
    cleaned = "".join(out).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


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


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _why_not_public(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (includes the cloud metadata service)"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not publicly routable"
    return None


def refusal_reason(address: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why a call to `address` is refused, or None when it may be called.

    An address inside an allowlisted network is always allowed. Otherwise it must be publicly routable, and so must
    any IPv4 address embedded in it (IPv4-mapped, 6to4, Teredo, NAT64), so `::ffff:127.0.0.1` is loopback too.
    """
    allowed = tuple(allowed)
    embedded = _embedded_ipv4(address)
    for candidate in (address, embedded):
        if candidate is not None and any(candidate in net for net in allowed if net.version == candidate.version):
            return None
    if embedded is not None:
        reason = _why_not_public(embedded)
        if reason or address.ipv4_mapped:  # a mapped address is exactly its IPv4 address
            return reason
    return _why_not_public(address)


def resolve_checked(host: str, port: int, allowed: Iterable[IPNetwork]) -> list[IPAddress]:
    """Resolve `host` once and return its addresses; refuse when any of them is not allowed."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        addresses = [literal]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise OutboundError("connection", f"cannot resolve {host}: {exc}") from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
    allowed = tuple(allowed)
    for address in addresses:
        reason = refusal_reason(address, allowed)
        if reason:
            raise OutboundError(
                "refused",
                f"refused to call {host}: {address} is {reason} and not in INTERLOCK_ALLOWED_NETWORKS",
            )
    if not addresses:
        raise OutboundError("connection", f"cannot resolve {host}: no addresses")
    return addresses


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _PinnedConnectionMixin:
    """Connects to a pre-checked IP address while `self.host` (Host header, SNI) stays the name."""

    pinned_address: IPAddress
    connect_timeout: float

    def _open_socket(self) -> socket.socket:
        family = socket.AF_INET6 if self.pinned_address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.connect_timeout)
            sock.connect((str(self.pinned_address), self.port))
        except BaseException:
            sock.close()
            raise
        return sock


class _PinnedHTTPConnection(_PinnedConnectionMixin, http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = self._open_socket()


class _PinnedHTTPSConnection(_PinnedConnectionMixin, http.client.HTTPSConnection):
    def connect(self) -> None:
        raw = self._open_socket()
        try:
            self.sock = _tls_context().wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def _validate_headers(headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        if not name or any(c in name for c in "\r\n:") or any(c in str(value) for c in "\r\n\0"):
            raise OutboundError("invalid", f"header {clean_text(name, 60)!r} has a forbidden character")


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
    max_body: int = MAX_BODY_BYTES,
) -> Response:
    """Send one HTTP request through the SSRF guard and return the response (any status).

    Raises OutboundError for everything that is not an HTTP response, including 3xx (redirects are not followed).
    `timeout` bounds the whole call; connecting is additionally bounded by CONNECT_TIMEOUT_SECONDS.
    """
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundError("invalid", f"URL {url!r} must start with http:// or https://")
    if parts.username or parts.password:
        raise OutboundError("invalid", "URLs must not carry credentials; use a header with a secret reference")
    host = parts.hostname
    if not host:
        raise OutboundError("invalid", f"URL {url!r} has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise OutboundError("invalid", f"URL {url!r} has an invalid port") from None
    headers = dict(headers or {})
    _validate_headers(headers)
    addresses = resolve_checked(host, port, allowed_networks())
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query

    conn_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    last_error: OSError | None = None
    for address in addresses:
        conn = conn_class(host, port, timeout=max(0.01, deadline - time.monotonic()))
        conn.pinned_address = address
        conn.connect_timeout = max(0.01, min(CONNECT_TIMEOUT_SECONDS, deadline - time.monotonic()))
        try:
            return _exchange(conn, method, target, headers, body, deadline, max_body, url)
        except (ConnectionRefusedError, socket.gaierror) as exc:
            last_error = exc
        except TimeoutError:
            raise OutboundError("timeout", f"{method} {_display(parts)} timed out after {timeout:g}s") from None
        except ssl.SSLError as exc:
            raise OutboundError("connection", f"TLS error calling {_display(parts)}: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise OutboundError("connection", f"{method} {_display(parts)} failed: {exc}") from None
        finally:
            conn.close()
    raise OutboundError("connection", f"{method} {_display(parts)} failed: {last_error}")


def _display(parts) -> str:
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _exchange(conn, method, target, headers, body, deadline, max_body, url) -> Response:
    conn.request(method, target, body=body, headers=headers)
    _refresh_timeout(conn, deadline)
    resp = conn.getresponse()
    chunks: list[bytes] = []
    size = 0
    while True:
        _refresh_timeout(conn, deadline)
        chunk = resp.read1(_READ_CHUNK) if hasattr(resp, "read1") else resp.read(_READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_body:
            raise OutboundError("too_large", f"response from {urlsplit(url).netloc} exceeds {max_body} bytes")
        chunks.append(chunk)
    response_headers = {name.lower(): value for name, value in resp.getheaders()}
    if 300 <= resp.status < 400:
        location = clean_text(response_headers.get("location", "(none)"), 200)
        raise OutboundError("redirect", f"{urlsplit(url).netloc} answered {resp.status} redirect to {location}; redirects are not followed")
    return Response(resp.status, b"".join(chunks), response_headers)


def _refresh_timeout(conn, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    if conn.sock is not None:
        conn.sock.settimeout(remaining)
