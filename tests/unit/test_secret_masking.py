"""Masking: a server that echoes a secret in any spelling never gets it into an excerpt (error text, events, alerts,
execution history). The secrets and the text around them are generated."""

import base64
import json
import re
import time
import unicodedata
from urllib.parse import quote

import boto3
import pytest
from hypothesis import assume, given, settings, strategies as st
from moto import mock_aws

from handlers.interlock import clients, redaction, secrets
from handlers.interlock.triggers import TriggerError, webcall
from tests.handlers.outbound_echo import ZERO_WIDTH, echoes


def leaks(excerpt: str, secret: str, user: str) -> list[str]:
    """What of `secret` can still be read from `excerpt`: a listed spelling as is, the secret after normalizing the
    excerpt once more, or the secret inside any base64 run of it (at any alignment)."""
    found = [
        name
        for name, form in echoes(secret, user, 0, "\u200b").items()
        if name not in ("line-split-lf", "line-split-crlf-indent", "zero-width") and form in excerpt
    ]
    if secret in redaction.normalize_text(excerpt):
        found.append("normalized")
    target = secret.encode()
    for run in re.findall(r"[A-Za-z0-9+/_=-]{8,}", excerpt):
        for start in range(4):
            chunk = run[start:].rstrip("=")
            chunk = chunk[: len(chunk) // 4 * 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    if target in decode(chunk):
                        found.append(f"base64 run {run!r}")
                except ValueError:
                    pass
    return found


secret_text = st.text(st.characters(categories=("L", "N", "P", "S")), min_size=8, max_size=40)
ascii_secret = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=40)
surrounding = st.text(max_size=60)
user_name = st.text(st.characters(categories=("L", "N"), max_codepoint=0x2FF), min_size=1, max_size=12)


@settings(max_examples=300)
@given(
    st.one_of(ascii_secret, secret_text),
    user_name,
    surrounding,
    surrounding,
    st.integers(0, 100),
    st.sampled_from(ZERO_WIDTH),
    st.sampled_from(sorted(echoes("placeholder-secret", "u", 0, "\u200b"))),
)
def test_no_listed_echo_of_a_secret_survives_the_excerpt(secret, user, before, after, split, zero_width, form):
    assume(secret.strip() == secret)
    echoed = echoes(secret, user, split, zero_width)[form]
    excerpt = redaction.safe_excerpt(f"{before}{echoed}{after}", [secret], limit=10_000)
    assert not leaks(excerpt, secret, user), (form, excerpt)


@settings(max_examples=150)
@given(
    ascii_secret,
    st.lists(st.sampled_from(sorted(echoes("placeholder-secret", "u", 0, "\u200b"))), min_size=2, max_size=6),
    surrounding,
    st.integers(0, 100),
)
def test_many_echoes_at_once_and_the_truncation_leave_nothing(secret, forms, noise, split):
    text = noise.join(echoes(secret, "svc", split, "\u200b")[form] for form in forms)
    for limit in (20, 80, 300):
        excerpt = redaction.safe_excerpt(text, [secret, "another-secret-value"], limit=limit)
        assert len(excerpt) <= limit
        assert not leaks(excerpt, secret, "svc")


@given(st.text(max_size=300), st.integers(1, 400))
def test_an_excerpt_is_short_printable_and_normalized(text, limit):
    excerpt = redaction.safe_excerpt(text, [], limit)
    assert len(excerpt) <= limit
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in excerpt)


def test_a_basic_credential_secret_is_masked_decoded_too():
    credential = base64.b64encode(b"svc-user:hunter2-pass").decode()
    text = f"denied {credential} for svc-user:hunter2-pass (password hunter2-pass)"
    excerpt = redaction.safe_excerpt(text, [credential])
    assert excerpt == "denied *** for *** (password ***)"


def test_a_secret_behind_a_flood_of_invisible_characters_is_still_masked():
    text = "\u200b" * 200_000 + "tok-" + "\u200b" * 10 + "ABCDEFGH"
    assert redaction.safe_excerpt(text, ["tok-ABCDEFGH"]) == "***"
    head = "x" * 70_000 + "tok-ABCDEFGH"
    assert redaction.safe_excerpt(head, ["tok-ABCDEFGH"], limit=50) == "x" * 49 + "…"


def test_text_encoded_too_many_times_over_is_withheld():
    deep = "%" + "25" * 20 + "41"
    assert "withheld" in redaction.safe_excerpt(deep, [])


def test_ordinary_text_is_kept_readable():
    excerpt = redaction.safe_excerpt(
        '{"error": "job \\"daily\\" not found at \\/api\\/v1", "code": 404}', ["unrelated-1"]
    )
    assert excerpt == '{"error": "job "daily" not found at /api/v1", "code": 404}'


# --- Through the outbound call a trigger makes (webcall) -------------------------------------------------------------

TOKEN = "tok/Ünïcödé+€-42=="  # neither Latin-1 nor URL-safe nor base64-safe


@pytest.fixture
def token_secret():
    secrets.clear_cache()
    clients.reset()
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name="prod/api", SecretString=json.dumps({"token": TOKEN}))
        yield "Bearer {{secret:prod/api#token}}"
    secrets.clear_cache()
    clients.reset()


@pytest.mark.parametrize("form", sorted(echoes(TOKEN, "svc", 3, "\u200b")))
def test_a_trigger_error_never_carries_an_echoed_secret(form, token_secret, server, allow_loopback):
    echoed = echoes(TOKEN, "svc", 3, "\u200b")[form]
    server.answer("POST", "/run", 401, json.dumps({"detail": f"bad token {echoed}"}, ensure_ascii=False))
    with pytest.raises(TriggerError) as err:
        webcall.call("http trigger", "POST", server.url("/run"), headers={"Authorization": token_secret}, body={})
    assert err.value.category == "PERMANENT"
    assert not leaks(str(err.value), TOKEN, "svc"), str(err.value)
    assert server.requests[0].headers["Authorization"].encode("latin-1").decode() == f"Bearer {TOKEN}"


def test_a_redirect_location_echoing_the_secret_is_masked(token_secret, server, allow_loopback):
    server.answer("POST", "/run", 302, headers={"Location": "https://login.example/?token=" + quote(TOKEN, safe="")})
    with pytest.raises(TriggerError) as err:
        webcall.call("http trigger", "POST", server.url("/run"), headers={"Authorization": token_secret})
    assert "redirect to https://login.example/?token=***" in str(err.value)
    assert not leaks(str(err.value), TOKEN, "svc")


def test_a_non_json_answer_is_excerpted_masked(token_secret, server, allow_loopback):
    server.answer("POST", "/run", 200, f"<html>hello Bearer {TOKEN}</html>")
    response = webcall.call("http trigger", "POST", server.url("/run"), headers={"Authorization": token_secret})
    with pytest.raises(TriggerError) as err:
        webcall.json_object("http trigger", response)
    assert "response is not JSON: <html>hello Bearer ***</html>" in str(err.value)


def test_masking_a_large_answer_is_quick():
    body = ("log line with nothing secret in it " * 40_000).encode()
    started = time.monotonic()
    redaction.safe_excerpt(body, [TOKEN, "another-secret-value", "third-secret-value"])
    assert time.monotonic() - started < 2


def test_line_breaks_read_as_spaces_unless_a_secret_spans_one():
    assert redaction.safe_excerpt("first line\r\nsecond line", ["tok-ABCDEFGH"]) == "first line  second line"
    assert redaction.safe_excerpt("token: tok-ABCD\r\n  EFGH\nbye", ["tok-ABCDEFGH"]) == "token: ***bye"


def test_data_keeps_clean_strings_and_masks_each_one_carrying_an_echo():
    value = {"lag": 5, "note": "fresh 50%", "echo": "x" + "\u200b".join(TOKEN), TOKEN: [quote(TOKEN), True, None]}
    masked = redaction.mask_data(value, [TOKEN])
    assert (masked["lag"], masked["note"]) == (5, "fresh 50%")
    assert masked["echo"] == "x***" and masked["***"] == ["***", True, None]
    assert redaction.mask_data(value, []) is value


def test_a_long_part_of_a_secret_is_masked_once_the_rest_cannot_be_decoded():
    half_escaped = json.dumps(TOKEN).replace("\\u", "\\\\u")[1:-1]  # 'tok/\\u00dcn...': the rest stays readable
    excerpt = redaction.safe_excerpt(f"said {half_escaped}", [TOKEN])
    assert "+\\u20ac-42==" not in excerpt and "-42==" not in excerpt
    cut_short = redaction.safe_excerpt("token: tok-ABCD, the rest was lost", ["tok-ABCDEFGH"])
    assert cut_short == "token: ***, the rest was lost"
