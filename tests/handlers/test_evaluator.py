"""Evaluator Lambda against moto (table, S3) and loopback HTTP evaluators."""

import socket
import time

import boto3
import pytest
from hypothesis import HealthCheck, given, settings as settings_, strategies as st

from handlers import evaluator
from handlers.interlock import settings, store
from handlers.interlock.evaluators import TraitStorageError, builtins

KEYS = {"traitType", "status", "value", "reason", "failureCategory", "required", "expiresAt"}


def item(evaluator_path, **overrides):
    event = {
        "pipelineID": "sales",
        "traitType": "freshness",
        "evaluator": evaluator_path,
        "config": {"maxLagSeconds": 60, "date": "2026-11-28", "scheduleID": "daily"},
        "timeout": 2,
        "ttl": 300,
        "required": True,
    }
    event.update(overrides)
    return event


def test_http_pass_is_returned_stored_and_audited(aws_env, server, allow_loopback):
    server.answer("POST", "/eval/freshness", 200, {"status": "PASS", "value": {"lagSeconds": 5}, "reason": "fresh"})
    out = evaluator.handler(item(server.url("/eval/freshness")), None)
    assert out == {
        "traitType": "freshness",
        "status": "PASS",
        "value": {"lagSeconds": 5},
        "reason": "fresh",
        "failureCategory": None,
        "required": True,
        "expiresAt": store.get_trait_result("sales", "freshness")["expiresAt"],  # a PASS is reused until then
    }
    sent = server.requests[0].json()
    assert sent == {
        "pipelineId": "sales",
        "traitType": "freshness",
        "config": {"maxLagSeconds": 60, "date": "2026-11-28", "scheduleID": "daily"},
    }
    stored = store.get_trait_result("sales", "freshness")
    assert stored["status"] == "PASS" and stored["value"] == {"lagSeconds": 5}
    events = [e for e in store.list_events("sales") if e["kind"] == "TRAIT_EVALUATED"]
    assert [(e["traitType"], e["status"]) for e in events] == [("freshness", "PASS")]


def test_a_relative_path_is_joined_to_the_base_url(aws_env, server, allow_loopback, monkeypatch):
    monkeypatch.setenv("EVALUATOR_BASE_URL", server.url("/api/"))
    settings.reset()
    server.answer("POST", "/api/checks/freshness", 200, {"status": "STALE", "reason": "old"})
    out = evaluator.handler(item("/checks/freshness", required=False), None)
    assert (out["status"], out["reason"], out["required"]) == ("STALE", "old", False)


@pytest.mark.parametrize(
    "status, body, expected_category, reason_part",
    [
        (400, b"bad config", "PERMANENT", "EVALUATOR_HTTP_ERROR: status 400: bad config"),
        (404, b"", "PERMANENT", "status 404"),
        (429, b"slow down", "TRANSIENT", "status 429"),
        (500, b"boom", "TRANSIENT", "status 500"),
        (503, b"", "TRANSIENT", "status 503"),
        (200, b"not json", "PERMANENT", "EVALUATOR_OUTPUT_INVALID: not JSON"),
        (200, b'{"status": "pass"}', "PERMANENT", "status 'pass' is not one of PASS, FAIL, STALE"),
        (200, b'["PASS"]', "PERMANENT", "expected a JSON object"),
        (302, b"", "PERMANENT", "redirects are not followed"),
    ],
)
def test_http_outcomes_map_to_failure_categories(
    aws_env, server, allow_loopback, status, body, expected_category, reason_part
):
    headers = {"Location": "http://169.254.169.254/"} if status == 302 else {}
    server.answer("POST", "/e", status, body, headers)
    out = evaluator.handler(item(server.url("/e")), None)
    assert set(out) == KEYS
    assert (out["status"], out["failureCategory"]) == ("FAIL", expected_category)
    assert reason_part in out["reason"]
    assert store.get_trait_result("sales", "freshness")["failureCategory"] == expected_category


def test_a_connection_error_is_transient(aws_env, allow_loopback):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = evaluator.handler(item(f"http://127.0.0.1:{port}/e"), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "TRANSIENT")


def test_a_slow_evaluator_times_out(aws_env, server, allow_loopback):
    server.answer("POST", "/slow", 200, {"status": "PASS"}, delay=3)
    started = time.monotonic()
    out = evaluator.handler(item(server.url("/slow"), timeout=1), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "TIMEOUT")
    assert out["reason"].startswith("EVALUATOR_TIMEOUT")
    assert time.monotonic() - started < 2.5


def test_an_oversized_answer_is_refused(aws_env, server, allow_loopback):
    server.answer("POST", "/big", 200, b'{"status":"PASS","value":"' + b"x" * (2 << 20) + b'"}')
    out = evaluator.handler(item(server.url("/big")), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert "exceeds 1048576 bytes" in out["reason"]


def test_an_evaluator_reason_is_cleaned_and_its_category_kept_only_when_valid(aws_env, server, allow_loopback):
    server.answer(
        "POST", "/e", 200, {"status": "FAIL", "reason": "late\r\n\x1b[31mdata", "failureCategory": "TRANSIENT"}
    )
    out = evaluator.handler(item(server.url("/e")), None)
    assert (out["reason"], out["failureCategory"]) == ("late  [31mdata", "TRANSIENT")
    server.answer("POST", "/e", 200, {"status": "FAIL", "failureCategory": "WHATEVER"})
    assert evaluator.handler(item(server.url("/e")), None)["failureCategory"] is None


def test_loopback_without_the_allowlist_is_refused_and_the_evaluator_receives_nothing(aws_env, server, no_allowlist):
    server.answer("POST", "/e", 200, {"status": "PASS"})
    out = evaluator.handler(item(server.url("/e")), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert "refused" in out["reason"] and "loopback" in out["reason"]
    assert server.requests == []


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/iam/", "http://10.0.0.8/e", "http://[::1]/e"])
def test_metadata_and_private_evaluator_urls_are_refused(aws_env, no_allowlist, url):
    out = evaluator.handler(item(url), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert out["reason"].startswith("EVALUATOR_REQUEST_FAILED: refused")


@pytest.mark.parametrize(
    "path, base, reason",
    [
        pytest.param("", "http://x", "no evaluator configured", id="none"),
        pytest.param("checks/x", "", "is not a URL and no evaluatorBaseUrl is configured", id="path-without-base"),
        pytest.param("../admin", "http://127.0.0.1:9/api", "must not contain . or .. segments", id="dot-segments"),
        pytest.param("file:///etc/passwd", "http://x", "neither an http(s) URL nor a path", id="file-url"),
        pytest.param("builtin:nope", "", "unknown builtin evaluator: nope", id="unknown-builtin"),
    ],
)
def test_unusable_evaluators_fail_permanently(aws_env, monkeypatch, path, base, reason):
    monkeypatch.setenv("EVALUATOR_BASE_URL", base)
    settings.reset()
    out = evaluator.handler(item(path), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert reason in out["reason"]


# --- Unicode in an evaluator's URL: the trait fails (or the evaluator is called), the handler never raises ---------


def test_a_non_ascii_path_is_sent_percent_encoded(aws_env, server, allow_loopback):
    server.answer("POST", "/checks/fr%C3%BChling/%E2%82%AC", 200, {"status": "PASS"})
    assert evaluator.handler(item(server.url("/checks/frühling/€")), None)["status"] == "PASS"
    out = evaluator.handler(item(server.url("/checks/frühling/nirgendwo")), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")  # the server's 404
    assert [r.path for r in server.requests] == ["/checks/fr%C3%BChling/%E2%82%AC", "/checks/fr%C3%BChling/nirgendwo"]


@pytest.mark.parametrize("host", ["faß.example", "ｅｘａｍｐｌｅ.com", "bad_ünïcode..example", "\ud800.example"])
def test_a_non_ascii_host_that_cannot_be_called_as_written_fails_permanently(aws_env, socket_fence, host):
    out = evaluator.handler(item(f"https://{host}/e"), None)
    assert set(out) == KEYS
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert out["reason"].startswith("EVALUATOR_REQUEST_FAILED:")
    assert socket_fence.refused == []


def test_a_non_ascii_base_url_is_encoded_like_any_path(aws_env, server, allow_loopback, monkeypatch):
    monkeypatch.setenv("EVALUATOR_BASE_URL", server.url("/prüfungen"))
    settings.reset()
    server.answer("POST", "/pr%C3%BCfungen/frische", 200, {"status": "STALE"})
    assert evaluator.handler(item("frische"), None)["status"] == "STALE"


@pytest.mark.parametrize("path", ["/e\ud800", "/e\u2028x", "/e x", "/e\u200bx", "/e\r\nX-Injected: 1"])
def test_a_path_with_a_surrogate_separator_or_control_character_fails_permanently(
    aws_env, server, allow_loopback, path
):
    out = evaluator.handler(item(server.url(path)), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert server.requests == []


@settings_(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=30))
def test_any_generated_path_gives_a_verdict_never_an_exception(aws_env, server, allow_loopback, path):
    out = evaluator.handler(item(server.url("/") + path), None)
    assert set(out) == KEYS
    # no route answers, so every path that can be sent meets a 404; one that cannot is refused: both PERMANENT
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT"), (path, out)


@settings_(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(min_codepoint=0x80, categories=("L", "N", "S", "M")), min_size=1, max_size=12))
def test_any_generated_non_ascii_host_gives_a_verdict_never_an_exception(
    aws_env, server, allow_loopback, monkeypatch, label
):
    """A name that IDNA encodes losslessly is resolved (here: to the loopback server, which answers 404); one it
    would change, or cannot encode, is refused before any lookup."""
    looked_up = []

    def resolve(host, port, *args, **kwargs):
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", server.port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    out = evaluator.handler(item(f"http://{label}.example:{server.port}/e"), None)
    assert set(out) == KEYS
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT"), (label, out)
    assert all(host.isascii() for host in looked_up)


def test_invalid_input_is_a_clear_fail(aws_env):
    out = evaluator.handler({"traitType": "freshness", "evaluator": "builtin:s3-object"}, None)
    assert set(out) == KEYS
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert "pipelineID required" in out["reason"] and out["expiresAt"] is None  # nothing stored, nothing reused


def test_a_storage_failure_is_reported_as_such(aws_env, server, allow_loopback):
    server.answer("POST", "/e", 200, {"status": "PASS"})
    boto3.client("dynamodb").delete_table(TableName=aws_env.table_name)
    with pytest.raises(TraitStorageError, match="storing the PASS result of trait freshness of sales failed"):
        evaluator.handler(item(server.url("/e")), None)


# --- builtin:upstream-job-log ---------------------------------------------------------------------------------


def builtin_item(evaluator: str, trait_type: str, config: dict) -> dict:
    """A request to a builtin evaluator for the daily schedule of 2026-11-28, with `config`."""
    return item(evaluator, traitType=trait_type, config={"date": "2026-11-28", "scheduleID": "daily", **config})


def upstream_item(**config):
    return builtin_item("builtin:upstream-job-log", "upstream-dependency", config)


def test_upstream_completed_passes(aws_env):
    store.put_run_log(
        {
            "pipelineId": "raw",
            "date": "2026-11-28",
            "scheduleId": "daily",
            "status": "COMPLETED",
            "runId": "r-1",
            "updatedAt": "2026-11-28T05:00:00Z",
        }
    )
    out = evaluator.handler(upstream_item(upstreamPipeline="raw"), None)
    assert out["status"] == "PASS"
    assert out["value"] == {"upstreamRunID": "r-1", "completedAt": "2026-11-28T05:00:00Z"}


def test_upstream_not_completed_or_missing_fails_without_category(aws_env):
    store.put_run_log({"pipelineId": "raw", "date": "2026-11-28", "scheduleId": "h05", "status": "RUNNING"})
    out = evaluator.handler(upstream_item(upstreamPipeline="raw", upstreamSchedule="h05"), None)
    assert (out["status"], out["reason"], out["failureCategory"]) == (
        "FAIL",
        "upstream raw status is RUNNING for 2026-11-28/h05",
        None,
    )
    out = evaluator.handler(upstream_item(upstreamPipeline="raw"), None)
    assert out["reason"] == "upstream raw has no run log for 2026-11-28/daily"


def test_upstream_without_config_is_permanent(aws_env):
    out = evaluator.handler(upstream_item(), None)
    assert (out["reason"], out["failureCategory"]) == ("config missing: upstreamPipeline", "PERMANENT")


# --- builtin:s3-object ----------------------------------------------------------------------------------------


@pytest.fixture
def landing(aws_env, monkeypatch):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="landing-bucket")
    s3.put_object(Bucket="landing-bucket", Key="sales/2026-11-28/part-0.csv", Body=b"x" * 10)
    s3.put_object(Bucket="landing-bucket", Key="sales/2026-11-28/part-1.csv", Body=b"x" * 500)
    monkeypatch.setenv("DATA_BUCKET", "landing-bucket")
    settings.reset()
    return s3


def s3_item(**config):
    return builtin_item("builtin:s3-object", "source-freshness", config)


def test_s3_key_with_todays_date_passes(landing):
    out = evaluator.handler(s3_item(bucket="landing-bucket", key="sales/${date}/part-0.csv"), None)
    assert out["status"] == "PASS"
    assert out["value"]["key"] == "sales/2026-11-28/part-0.csv" and out["value"]["size"] == 10


def test_s3_missing_key_fails_cleanly(landing):
    out = evaluator.handler(s3_item(key="sales/2026-11-29/part-0.csv"), None)  # bucket from DATA_BUCKET
    assert (out["status"], out["failureCategory"]) == ("FAIL", None)
    assert out["reason"] == "no object at s3://landing-bucket/sales/2026-11-29/part-0.csv"


def test_s3_prefix_with_min_size_picks_an_object_that_qualifies(landing):
    out = evaluator.handler(s3_item(prefix="sales/${date}/", minSizeBytes=100), None)
    assert out["status"] == "PASS" and out["value"]["key"] == "sales/2026-11-28/part-1.csv"
    out = evaluator.handler(s3_item(prefix="sales/${date}/", minSizeBytes=1000), None)
    assert out["status"] == "FAIL" and "bytes (min 1000)" in out["reason"]
    out = evaluator.handler(s3_item(prefix="sales/2026-11-30/"), None)
    assert out["reason"] == "no object under s3://landing-bucket/sales/2026-11-30/"


def test_s3_max_age(landing, monkeypatch):
    assert evaluator.handler(s3_item(key="sales/${date}/part-0.csv", maxAgeSeconds=3600), None)["status"] == "PASS"
    real_time = time.time
    monkeypatch.setattr(builtins.time, "time", lambda: real_time() + 7200)
    out = evaluator.handler(s3_item(key="sales/${date}/part-0.csv", maxAgeSeconds=3600), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", None)
    assert "s old (max 3600s)" in out["reason"]


@pytest.mark.parametrize(
    "config, reason",
    [
        ({"bucket": "no-such-bucket", "key": "k"}, "S3 HeadObject on bucket no-such-bucket failed"),
        (
            {"bucket": "no-such-bucket", "prefix": "p/"},
            "S3 ListObjectsV2 on bucket no-such-bucket failed: NoSuchBucket",
        ),
        ({"key": "a", "prefix": "b"}, "exactly one of key or prefix"),
        ({"key": "a", "maxAgeSeconds": "1h"}, "maxAgeSeconds must be a non-negative number"),
    ],
)
def test_s3_config_and_bucket_errors_are_permanent(landing, config, reason):
    out = evaluator.handler(s3_item(**config), None)
    assert (out["status"], out["failureCategory"]) == ("FAIL", "PERMANENT")
    assert reason in out["reason"]


class LambdaContext:
    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def test_the_timeout_never_outlives_the_lambda_invocation(aws_env, server, allow_loopback):
    """A trait timeout of 60 s inside an invocation with 4 s left: the evaluator gets 1 s, the result is stored."""
    server.answer("POST", "/slow", 200, {"status": "PASS"}, delay=3)
    started = time.monotonic()
    out = evaluator.handler(item(server.url("/slow"), timeout=60), LambdaContext(4000))
    assert (out["status"], out["failureCategory"]) == ("FAIL", "TIMEOUT")
    assert time.monotonic() - started < 2.5
    assert store.get_trait_result("sales", "freshness")["failureCategory"] == "TIMEOUT"
