"""Secrets Manager references in header values: resolution, caching, errors, redaction."""

import json
import re

import boto3
import pytest
from moto import mock_aws

from handlers.interlock import clients, secrets


@pytest.fixture
def secretsmanager():
    secrets.clear_cache()
    clients.reset()
    with mock_aws():
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="prod/airflow", SecretString="tok-12345")
        sm.create_secret(Name="prod/db", SecretString=json.dumps({"user": "svc", "token": "json-tok-999"}))
        yield sm
    secrets.clear_cache()
    clients.reset()


def test_whole_secret_and_json_key_references_resolve(secretsmanager):
    arn = secretsmanager.describe_secret(SecretId="prod/airflow")["ARN"]
    headers = secrets.resolve_headers(
        {
            "Authorization": "Bearer {{secret:prod/airflow}}",
            "X-By-Arn": "{{secret:" + arn + "}}",
            "X-Token": "{{secret:prod/db#token}}",
            "X-Plain": "plain",
        }
    )
    assert headers == {
        "Authorization": "Bearer tok-12345",
        "X-By-Arn": "tok-12345",
        "X-Token": "json-tok-999",
        "X-Plain": "plain",
    }


def test_values_are_cached_for_a_while(secretsmanager, monkeypatch):
    assert secrets.resolve("{{secret:prod/airflow}}") == "tok-12345"
    secretsmanager.put_secret_value(SecretId="prod/airflow", SecretString="rotated")
    assert secrets.resolve("{{secret:prod/airflow}}") == "tok-12345"
    monkeypatch.setattr(secrets.time, "monotonic", lambda: 10**9)
    assert secrets.resolve("{{secret:prod/airflow}}") == "rotated"


@pytest.mark.parametrize(
    "value, message",
    [
        ("{{secret:missing/one}}", "could not be read (ResourceNotFoundException)"),
        ("{{secret:prod/airflow#token}}", "is not JSON"),
        ("{{secret:prod/db#password}}", "has no key 'password'"),
        ("Bearer {{secret:bad name}}", "malformed secret reference"),
    ],
)
def test_bad_references_fail_without_leaking_values(secretsmanager, value, message):
    with pytest.raises(secrets.SecretError, match=re.escape(message)) as err:
        secrets.resolve(value)
    assert not err.value.transient
    assert "tok-12345" not in str(err.value) and "json-tok-999" not in str(err.value)


def test_redact_hides_every_resolved_value(secretsmanager):
    secrets.resolve("{{secret:prod/airflow}} {{secret:prod/db#token}}")
    text = "denied: Bearer tok-12345 (token json-tok-999) for svc"
    assert secrets.redact(text) == "denied: Bearer *** (token ***) for svc"
