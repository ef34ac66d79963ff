"""Outbound HTTP for evaluators and triggers, guarded against SSRF.

Every URL Interlock calls comes from pipeline configuration, so every call goes through `request()`:
- the URL is checked first: http(s) only, no credentials, no whitespace or control characters, a real port (not 0),
  an ASCII or IDNA-normal host; a non-ASCII path or query is percent-encoded (UTF-8);
- the host is resolved once and every address must be a plain global unicast address (IPv4 embedded in IPv6 judged
  by the same rule), or inside the stack's allowlist (`INTERLOCK_ALLOWED_NETWORKS`); the metadata service never;
- the connection goes to the address that was checked (no second DNS lookup); the Host header and TLS SNI/certificate
  check still use the name;
- redirects are never followed (a 3xx is an error naming the location), so a redirect cannot reach a refused address;
- connect and read timeouts, a response body cap (1 MiB), a body cut short of its Content-Length is an error.
Everything it raises is an OutboundError with a failure category; server text in its messages is a masked excerpt
(`redaction.safe_excerpt`). Standard library only: this runs in the Lambdas.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, urlsplit

from .address_policy import IPAddress, IPNetwork, allowed_networks, is_metadata, refusal_reason
from .models import FailureCategory
from .redaction import ERROR_TEXT_LIMIT, clean_text, safe_excerpt

MAX_BODY_BYTES = 1 << 20
CONNECT_TIMEOUT_SECONDS = 5.0
_READ_CHUNK = 64 * 1024


class OutboundError(Exception):
    """A call that did not produce an HTTP response. `kind` says why:
    `refused` (SSRF guard), `invalid` (bad URL or request), `timeout`, `connection`, `too_large`, `redirect`."""

    def __init__(self, kind: str, message: str):
        super().__init__(clean_text(message))
        self.kind = kind

    @property
    def category(self) -> str:
        """TIMEOUT for a timeout, TRANSIENT for a connection error, else PERMANENT (a retry would meet it again)."""
        return {"timeout": FailureCategory.TIMEOUT, "connection": FailureCategory.TRANSIENT}.get(
            self.kind, FailureCategory.PERMANENT
        )


def status_category(status: int) -> str:
    """Failure category of an HTTP error status: 429 and 5xx may pass (TRANSIENT), other 4xx will not (PERMANENT)."""
    if status == 429 or status >= 500:
        return FailureCategory.TRANSIENT
    return FailureCategory.PERMANENT


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self):
        """The body decoded as JSON (raises ValueError when it is not)."""
        return json.loads(self.body.decode("utf-8"))

    def snippet(self, limit: int = ERROR_TEXT_LIMIT, secrets: Iterable[str] = ()) -> str:
        """The body as a short, normalized excerpt for error messages, every echo of `secrets` masked."""
        return safe_excerpt(self.body, secrets, limit)


# --- URLs ------------------------------------------------------------------------------------------------------------

_NUMERIC_LABEL = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)")
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII: what is resolved, sent as Host and used for TLS
    literal: IPAddress | None
    port: int
    path: str  # request target: path and query, ASCII
    display: str  # scheme://netloc/path for messages (no query)


def _refuse(message: str) -> OutboundError:
    return OutboundError("invalid", message)


def _literal_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any spelling resolvers accept (`127.1`, `0x7f.0.0.1`, `2130706433`), or None when the host
    is a name. A host whose last label is a number but is not a valid address is refused (as browsers do)."""
    labels = host.removesuffix(".").split(".")
    if not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        raise _refuse(f"host {host!r} looks like an IPv4 address but is not one")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.removesuffix(".")))
    except OSError:
        raise _refuse(f"host {host!r} looks like an IPv4 address but is not one") from None


def _ascii_host(host: str) -> str:
    """The host as ASCII. An internationalized name is encoded with IDNA (the standard library's codec) only when
    that is lossless: a name the encoding would change (`faß.de` → `fass.de`, full-width letters) is refused, so the
    name that is checked and called is the one that was written."""
    if not host.isascii():
        try:
            encoded = host.encode("idna").decode("ascii")
            lossless = encoded.encode("ascii").decode("idna") == host
        except UnicodeError:
            raise _refuse(f"host {host!r} is not a valid internationalized domain name") from None
        if not lossless:
            raise _refuse(f"host {host!r} would be called as {encoded}; write the host in its ASCII (xn--) form")
        host = encoded
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise _refuse(f"host {host!r} is not a valid host name")
    return host


def _ascii_path(text: str) -> str:
    return "".join(ch if ch.isascii() else quote(ch, safe="") for ch in text)


def parse_url(url: str) -> _Target:
    """The parts of `url` a request needs, or OutboundError(invalid) saying what is wrong with it."""
    if not isinstance(url, str):
        raise _refuse(f"URL must be a string, not {type(url).__name__}")
    bad = next(
        (ch for ch in url if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")), None
    )
    if bad is not None:
        raise _refuse(
            f"URL {url!r} contains whitespace or a control character ({ord(bad):#06x}); encode it or fix "
            "the configuration"
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise _refuse(f"URL {url!r} is not valid ({exc})") from None
    try:
        port = parts.port
    except ValueError:
        raise _refuse(f"URL {url!r} has an invalid port") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse(f"URL {url!r} must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise _refuse("URLs must not carry credentials; use a header with a secret reference")
    host = parts.hostname
    if not host:
        raise _refuse(f"URL {url!r} has no host")
    if port == 0:
        raise _refuse(f"URL {url!r} has port 0, which cannot be called")
    after_bracket = parts.netloc.rpartition("]")[2] if "[" in parts.netloc else ""
    try:
        if after_bracket and not re.fullmatch(r":[0-9]*", after_bracket):
            raise ValueError(after_bracket)
        literal = ipaddress.ip_address(host)
    except ValueError:
        if ":" in host or "[" in parts.netloc:
            raise _refuse(f"URL {url!r} has an invalid IPv6 address") from None
        literal = _literal_ipv4(host)
    if literal is not None and literal.version == 6 and literal.scope_id:
        literal = ipaddress.IPv6Address(int(literal))  # a zone (%eth0) changes nothing about what the address is
    ascii_host = str(literal) if literal is not None else _ascii_host(host)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(
        scheme,
        ascii_host,
        literal,
        port or (443 if scheme == "https" else 80),
        _ascii_path(path),
        f"{scheme}://{parts.netloc}{parts.path}",
    )


def _checked_headers(headers: Mapping[str, str]) -> dict[str, bytes]:
    """Header names must be tokens; values may hold any text but control characters, and are sent as UTF-8."""
    checked = {}
    for name, value in headers.items():
        name, value = str(name), str(value)
        if not _TOKEN.fullmatch(name):
            raise _refuse(f"header name {clean_text(name, 60)!r} is not a valid HTTP header name")
        if any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value):
            raise _refuse(f"header {name!r} has a forbidden character (a line break or control character)")
        try:
            checked[name] = value.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse(f"header {name!r} holds text that cannot be encoded as UTF-8") from None
    return checked


# --- Resolution and connection ---------------------------------------------------------------------------------------


def resolve_checked(
    host: str, port: int, allowed: Iterable[IPNetwork], literal: IPAddress | None = None
) -> list[IPAddress]:
    """Resolve `host` once (unless it is an address) and return its addresses; refuse when any is not allowed."""
    if literal is None:
        with contextlib.suppress(ValueError):
            literal = ipaddress.ip_address(host.strip("[]"))
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OutboundError("connection", f"cannot resolve {host}: {exc}") from None
        addresses = []
        for info in infos:
            try:
                address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            except (ValueError, IndexError, TypeError):
                raise OutboundError(
                    "refused", f"refused to call {host}: its DNS answer {info[4]!r} is not an IP address"
                ) from None
            if address not in addresses:
                addresses.append(address)
    allowed = tuple(allowed)
    for address in addresses:
        reason = refusal_reason(address, allowed)
        if reason:
            where = "" if is_metadata(address) else " and not in INTERLOCK_ALLOWED_NETWORKS"
            raise OutboundError("refused", f"refused to call {host}: {address} is {reason}{where}")
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


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    timeout: float = 30.0,
    max_body: int = MAX_BODY_BYTES,
    secrets: Iterable[str] = (),
) -> Response:
    """Send one HTTP request through the SSRF guard and return the response (any status).

    Raises OutboundError for everything that is not an HTTP response, including 3xx (redirects are not followed) and
    a body cut short of its Content-Length; nothing else escapes. `timeout` bounds the whole call; connecting is
    additionally bounded by CONNECT_TIMEOUT_SECONDS. Text from the server in an error (a redirect location, a broken
    status line) is a `safe_excerpt` with every echo of `secrets` masked.
    """
    deadline = time.monotonic() + timeout
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise _refuse(f"method {clean_text(method, 40)!r} is not a valid HTTP method")
    target = parse_url(url)
    send_headers = _checked_headers(dict(headers or {}))
    if isinstance(body, str):
        try:
            body = body.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse("the request body holds text that cannot be encoded as UTF-8") from None
    addresses = resolve_checked(target.host, target.port, allowed_networks(), target.literal)
    secrets = tuple(secrets)

    conn_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: OSError | None = None
    for address in addresses:
        conn = conn_class(target.host, target.port, timeout=max(0.01, deadline - time.monotonic()))
        conn.pinned_address = address
        conn.connect_timeout = max(0.01, min(CONNECT_TIMEOUT_SECONDS, deadline - time.monotonic()))
        try:
            return _exchange(conn, method, target, send_headers, body, deadline, max_body, secrets)
        except (ConnectionRefusedError, socket.gaierror) as exc:
            last_error = exc
        except TimeoutError:
            raise OutboundError("timeout", f"{method} {target.display} timed out after {timeout:g}s") from None
        except ssl.SSLError as exc:
            raise OutboundError(
                "connection", f"TLS error calling {target.display}: {safe_excerpt(str(exc), secrets)}"
            ) from None
        except (OSError, http.client.HTTPException, ValueError, UnicodeError) as exc:
            raise OutboundError(
                "connection",
                f"{method} {target.display} failed: {safe_excerpt(f'{type(exc).__name__}: {exc}', secrets)}",
            ) from None
        finally:
            conn.close()
    raise OutboundError("connection", f"{method} {target.display} failed: {last_error}")


def _exchange(conn, method, target: _Target, headers, body, deadline, max_body, secrets) -> Response:
    conn.request(method, target.path, body=body, headers=headers)
    _refresh_timeout(conn, deadline)
    resp = conn.getresponse()
    where = f"{target.host}:{target.port}"
    chunks: list[bytes] = []
    size = 0
    while True:
        _refresh_timeout(conn, deadline)
        chunk = resp.read1(_READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_body:
            raise OutboundError("too_large", f"response from {where} exceeds {max_body} bytes")
        chunks.append(chunk)
    if resp.length:  # the connection closed before the announced Content-Length arrived
        raise OutboundError("connection", f"response from {where} ended after {size} of {size + resp.length} bytes")
    response_headers = {name.lower(): value for name, value in resp.getheaders()}
    if 300 <= resp.status < 400:
        location = safe_excerpt(response_headers.get("location", "(none)"), secrets)
        raise OutboundError(
            "redirect", f"{where} answered {resp.status} redirect to {location}; redirects are not followed"
        )
    return Response(resp.status, b"".join(chunks), response_headers)


def _refresh_timeout(conn, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    if conn.sock is not None:
        conn.sock.settimeout(remaining)
