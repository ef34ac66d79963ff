"""What text from elsewhere may show: cleaned of control characters, cut short, and with every echo of a secret masked.

A server can echo a secret it was sent in another spelling. `safe_excerpt()` turns an answer into a short excerpt that
may go into errors, events, alerts and the execution history: normalized first (every decoding the reader's eye or a
log viewer would apply), masking every known spelling of every secret after each step, so the cleaning can never
re-assemble a value that was masked in its split form. Standard library only: this runs in the Lambdas.
"""

from __future__ import annotations

import base64
import html
import json
import re
import sys
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus, unquote

ERROR_TEXT_LIMIT = 300
EXCERPT_LIMIT = 200
MASK = "***"
MIN_SECRET_LENGTH = 4
FRAGMENT_LENGTH = 8
FRAGMENTED_UP_TO = 128  # longer values (keys, whole JSON documents) are not cut into parts: too many forms to look for


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


_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_JSON_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|[\r\n\v\f\x85\u2028\u2029])[ \t]*")
_NORMALIZE_ROUNDS = 8
_SCAN_CHARS = 64 * 1024


def _unescape_json(text: str) -> str:
    def one(match: re.Match) -> str:
        return chr(int(match.group(1), 16)) if match.group(1) else _JSON_SIMPLE[match.group(2)]

    unescaped = _JSON_ESCAPE.sub(one, text)
    # \uD83D\uDE00 pairs become one character; a lone surrogate becomes U+FFFD.
    return unescaped.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _drop_format_characters(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _join_lines(text: str) -> str:
    return _LINE_BREAK.sub("", text)


_NORMALIZERS = (
    _drop_format_characters,
    _join_lines,
    _unescape_json,
    html.unescape,
    lambda text: unquote(text, errors="replace"),
    lambda text: unicodedata.normalize("NFKC", text),
)


def normalize_text(text: str) -> str:
    """`text` as a reader would see it: format (zero-width) characters dropped, line breaks joined, JSON escapes,
    HTML entities and URL escapes undone, NFKC; repeated until nothing changes (at most a few rounds)."""
    return _normalized(text, ())[0]


def _normalized(text: str, forms: tuple[str, ...], join_lines: bool = True) -> tuple[str, bool]:
    """(`text` normalized with `forms` masked after every step, whether a fixed point was reached)."""
    steps = _NORMALIZERS if join_lines else tuple(step for step in _NORMALIZERS if step is not _join_lines)
    text = mask(text, forms)
    for _ in range(_NORMALIZE_ROUNDS):
        before = text
        for step in steps:
            text = mask(step(text), forms)
        if text == before:
            return text, True
    return text, False


def _base64_forms(raw: bytes) -> set[str]:
    """Base64 spellings of `raw`, standard and URL-safe, with and without padding, and the part of its encoding that
    stays the same wherever `raw` sits inside a longer encoded text (e.g. the password of `user:password`)."""
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        full = encode(raw).decode("ascii")
        forms.update((full, full.rstrip("=")))
        for offset, skip in ((0, 0), (1, 2), (2, 3)):
            encoded = encode(b"\0" * offset + raw).decode("ascii")
            whole_groups = (offset + len(raw)) // 3 * 4
            forms.add(encoded[skip:whole_groups])
    return forms


def _basic_credentials(value: str) -> list[str]:
    """For a value that is a Basic credential (base64 of `user:password`), the decoded pair and the password."""
    token = value[6:] if value[:6].lower() == "basic " else value
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except ValueError:
        return []
    if ":" not in decoded or not decoded.isprintable():
        return []
    return [decoded, decoded.split(":", 1)[1]]


@lru_cache(maxsize=256)
def echo_forms(value: str) -> frozenset[str]:
    """Every spelling of `value` a server could echo: raw, its UTF-8 read as Latin-1 (a response header), NFKC,
    normalized, JSON-escaped, URL-encoded (quote and quote_plus), base64 (standard/URL-safe, padded or not, also
    inside a longer encoding), and the same for the decoded pair and password when the value is a Basic credential.
    Spellings shorter than MIN_SECRET_LENGTH are left out (masking them would blank ordinary words)."""
    views = {value, unicodedata.normalize("NFKC", value), normalize_text(value), _drop_format_characters(value)}
    for credential in _basic_credentials(value):
        views.update((credential, normalize_text(credential)))
    forms: set[str] = set()
    for view in views:
        forms.add(view)
        forms.add(view.encode("utf-8", "surrogatepass").decode("latin-1"))  # a UTF-8 echo in a header, read as Latin-1
        for ensure_ascii in (True, False):
            escaped = json.dumps(view, ensure_ascii=ensure_ascii)[1:-1]
            forms.update((escaped, escaped.replace("/", "\\/")))
        for safe in ("", "/"):
            forms.add(quote(view, safe=safe, errors="surrogatepass"))
            forms.add(quote_plus(view, safe=safe, errors="surrogatepass"))
        forms |= _base64_forms(view.encode("utf-8", "surrogatepass"))
    return frozenset(form for form in forms if len(form) >= MIN_SECRET_LENGTH)


@lru_cache(maxsize=256)
def fragments(value: str) -> frozenset[str]:
    """Every part of `value` (and of its normalized view) at least half as long, FRAGMENT_LENGTH characters at least:
    what stays readable when the rest of an echo was spelled in a way no normalization undoes, or was cut short.
    Masked only once the text is normalized (masking a part earlier would keep a split echo from being re-joined and
    masked whole). None for a value longer than FRAGMENTED_UP_TO characters (a key, a whole JSON document)."""
    parts = set()
    for view in {value, normalize_text(value)}:
        length = max(FRAGMENT_LENGTH, (len(view) + 1) // 2)
        if len(view) <= FRAGMENTED_UP_TO:
            parts.update(view[start : start + length] for start in range(len(view) - length + 1))
    return frozenset(parts)


def _forms_of(secrets: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every echo form, every fragment) of the secrets, longest first."""
    forms, parts = set(), set()
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH:
            forms |= echo_forms(secret)
            parts |= fragments(secret)
    return tuple(sorted(forms, key=lambda form: (-len(form), form))), tuple(sorted(parts, key=lambda p: (-len(p), p)))


def mask(text: str, forms: Iterable[str]) -> str:
    """`text` with every occurrence of every form replaced by `***`, until none is left."""
    forms = tuple(forms)
    changed = True
    while changed:
        changed = False
        for form in forms:
            if form in text:
                text = text.replace(form, MASK)
                changed = True
    return text


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every echo form (see `echo_forms`), then every fragment, of every secret value masked; nothing else
    changes."""
    forms, parts = _forms_of(secrets)
    return mask(mask(text, forms), parts)


def safe_excerpt(text: str | bytes, secrets: Iterable[str] = (), limit: int = EXCERPT_LIMIT) -> str:
    """A server answer as a short excerpt that may go into errors, events, alerts and the execution history:
    normalized first (`normalize_text`), every echo form of every secret value masked after each step, control
    characters removed (line breaks become spaces unless a secret spanned one), at most `limit` characters. An
    answer still changing after several rounds of decoding is withheld rather than shown half-decoded. Long parts of a
    secret (`fragments`) are masked in the normalized text."""
    forms, parts = _forms_of(secrets)
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    text = str(text)
    shown = None
    if len(text) > _SCAN_CHARS:
        # The head is enough when it yields far more than `limit`: a secret cut in two where the head ends then lies
        # beyond what is shown.
        margin = 2 * max(map(len, forms), default=0) + 64
        head = _masked_clean(text[:_SCAN_CHARS], forms, parts)
        if head is not None and len(head) >= limit + margin:
            shown = head
    if shown is None:
        shown = _masked_clean(text, forms, parts)
    if shown is None:
        return "(answer withheld: it is encoded too many times over)"
    return mask(mask(clean_text(shown, limit), forms), parts)


def mask_data(value: object, secrets: Iterable[str] = ()) -> object:
    """JSON data from a server (an evaluator's `value`) with every string that carries an echo of a secret, in any
    spelling `safe_excerpt` undoes, replaced by its masked excerpt (keys too); everything else is kept as it is."""
    secrets = tuple(secrets)
    forms, parts = _forms_of(secrets)
    if not forms:
        return value

    def masked(item: object) -> object:
        if isinstance(item, str):
            shown = _masked_clean(item, forms, parts)
            if shown is not None and shown == _masked_clean(item, (), ()):
                return item
            return safe_excerpt(item, secrets, max(len(item), EXCERPT_LIMIT))
        if isinstance(item, list):
            return [masked(element) for element in item]
        if isinstance(item, dict):
            return {masked(key): masked(element) for key, element in item.items()}
        return item

    return masked(value)


def _masked_clean(text: str, forms: tuple[str, ...], parts: tuple[str, ...]) -> str | None:
    """`text` normalized and masked (`forms` after every step, `parts` at the end), uncut; line breaks stay (shown as
    spaces) unless joining them re-assembles a secret, in which case the joined, masked text is shown."""
    kept, settled = _normalized(text, forms, join_lines=False)
    joined, joined_settled = _normalized(kept, forms)
    if not (settled and joined_settled):
        return None
    shown = joined if joined != _normalized(kept, ())[0] else kept
    return mask(mask(clean_text(shown, sys.maxsize), forms), parts)
