"""A server that echoes a secret: the spellings it may use (written independently of the masking module), and a
reader that finds a secret in recorded text however it is spelled there."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import re
import unicodedata
from urllib.parse import quote, quote_plus, unquote, unquote_plus

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


def _json_u(text: str) -> str:
    return "".join(f"\\u{unit:04x}" for unit in memoryview(text.encode("utf-16-le")).cast("H"))


def _b64(data: bytes, urlsafe: bool, pad: bool) -> str:
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return encoded if pad else encoded.rstrip("=")


def echoes(secret: str, user: str, split: int, zero_width: str) -> dict[str, str]:
    """The spellings of `secret` the issue lists (and combinations of them), written independently of the module."""
    split = 1 + split % (len(secret) - 1)
    raw = secret.encode()
    forms = {
        "raw": secret,
        "json": json.dumps(secret)[1:-1],
        "json-ascii-slash": json.dumps(secret, ensure_ascii=True)[1:-1].replace("/", "\\/"),
        "json-all-u": _json_u(secret),
        "quote": quote(secret, safe=""),
        "quote-slash": quote(secret),
        "quote-lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe="")),
        "quote-plus": quote_plus(secret),
        "line-split-lf": secret[:split] + "\n" + secret[split:],
        "line-split-crlf-indent": secret[:split] + "\r\n    " + secret[split:],
        "zero-width": zero_width.join(secret),
        "zero-width-json": _json_u(zero_width).join(
            json.dumps(secret)[1:-1][i] for i in range(len(json.dumps(secret)) - 2)
        ),
        "zero-width-quoted": quote(zero_width.join(secret), safe=""),
        "json-of-quote": json.dumps(quote(secret, safe="")).replace("%", "\\u0025")[1:-1],
        "double-quote": quote(quote(secret, safe=""), safe=""),
        "html": "".join(f"&#{ord(c)};" for c in secret),
    }
    for urlsafe in (False, True):
        for pad in (False, True):
            kind = f"b64{'url' if urlsafe else ''}{'' if pad else '-nopad'}"
            forms[kind] = _b64(raw, urlsafe, pad)
            forms[f"basic-{kind}"] = "Basic " + _b64(f"{user}:{secret}".encode(), urlsafe, pad)
    forms["b64-wrapped"] = "\r\n".join(re.findall(".{1,8}", _b64(raw, False, True)))
    return forms


def received_header(received, name: str = "Authorization") -> str:
    """A header as the client sent it (UTF-8 bytes; http.server reads them as Latin-1)."""
    return received.headers[name].encode("latin-1").decode("utf-8")


# --- Finding a secret in recorded text ----------------------------------------------------------------------------
# Independent of the module under test: every decoding a reader could apply, in any order, a few levels deep; then
# the secret, any long part of it, or the secret inside any base64 run at any alignment.

_JSON_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')
_JSON_U = re.compile(r"\\u([0-9a-fA-F]{4})")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_=-]{8,}")
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _surrogates_joined(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _json_unescaped(text: str) -> str:
    """JSON string escapes undone left to right, as a JSON parser reads them."""
    return _surrogates_joined(
        _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" else _SIMPLE[m.group(1)], text)
    )


def _unicode_escapes_first(text: str) -> str:
    """Only the \\uXXXX escapes undone, wherever they are (another reading of an ambiguous text)."""
    return _surrogates_joined(_JSON_U.sub(lambda m: chr(int(m.group(1), 16)), text))


def _utf8_read_as_latin1(text: str) -> str:
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


_DECODINGS = (
    lambda t: "".join(ch for ch in t if unicodedata.category(ch) != "Cf"),
    lambda t: re.sub(r"\s*[\r\n\u2028\u2029\x85\v\f]\s*", "", t),
    _json_unescaped,
    _unicode_escapes_first,
    html.unescape,
    unquote,
    unquote_plus,
    lambda t: unicodedata.normalize("NFKC", t),
    _utf8_read_as_latin1,
)


def _views(text: str, depth: int = 4) -> set[str]:
    views, frontier = {text}, {text}
    for _ in range(depth):
        frontier = {decode(view) for view in frontier for decode in _DECODINGS} - views
        views |= frontier
    return views


def _base64_decodings(text: str) -> list[str]:
    decoded = []
    for run in _BASE64_RUN.findall(text):
        for start in range(4):
            chunk = run[start:].rstrip("=")
            chunk = chunk[: len(chunk) // 4 * 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                with contextlib.suppress(ValueError):
                    decoded.append(decode(chunk).decode("utf-8", "replace"))
    return decoded


def strings_in(data: object) -> list[str]:
    """Every string in JSON-like data (keys too), and the data as one JSON text."""
    found: list[str] = []

    def walk(item):
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                walk(key)
                walk(value)
        elif isinstance(item, (list, tuple)):
            for value in item:
                walk(value)

    walk(data)
    found.append(json.dumps(data, default=str, ensure_ascii=False))
    return found


def readable(secret: str, texts: list[str]) -> list[str]:
    """The texts from which `secret` can be read back: as is, after any chain of decodings, inside a base64 run, or
    a long part of it (half the value, at least 8 characters), e.g. cut at a truncation boundary."""
    part = max(8, len(secret) // 2)
    parts = {secret[i : i + part] for i in range(len(secret) - part + 1)}
    leaking = []
    for text in texts:
        views = _views(text)
        views |= {decoded for view in views for decoded in _base64_decodings(view)}
        if any(piece in view for view in views for piece in parts):
            leaking.append(text)
    return leaking
