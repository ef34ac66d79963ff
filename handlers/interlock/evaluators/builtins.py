"""Builtin evaluators (`builtin:<name>`), run inside the evaluator Lambda.

- `upstream-job-log`: config `upstreamPipeline` (required), `upstreamSchedule` (default `daily`), `date` (default:
  the run's date). PASS when that pipeline's run log for the date and schedule is COMPLETED.
- `s3-object`: config `bucket` (default: the stack's data bucket), `key` or `prefix` (templated with `${date}`,
  `${hour}`, `${scheduleID}`, `${pipelineID}`), optional `maxAgeSeconds` and `minSizeBytes`. PASS when the object (or,
  for a prefix, at least one object under it) exists and meets both limits: "has today's file landed".
A FAIL whose check ran cleanly has no failure category; a FAIL because the check itself could not run has one.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .. import clients, settings
from ..models import FailureCategory
from ..redaction import clean_text
from ..templating import render
from . import TraitRequest, Verdict, fail

MAX_LISTED_OBJECTS = 10_000
# The builtins and the config fields each reads (pipeline configs are checked against this when loaded).
BUILTIN_FIELDS = {
    "upstream-job-log": ("upstreamPipeline", "upstreamSchedule", "date"),
    "s3-object": ("bucket", "key", "prefix", "maxAgeSeconds", "minSizeBytes"),
}
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
}


def run(name: str, request: TraitRequest) -> Verdict:
    builtin = _BUILTINS.get(name)
    if builtin is None:
        return fail(
            f"unknown builtin evaluator: {name} (known: {', '.join(sorted(_BUILTINS))})", FailureCategory.PERMANENT
        )
    return builtin(request)


def config_problems(name: str, config: dict) -> list[str]:
    """What a pipeline's config for builtin `name` gets wrong that would fail every run."""
    if name == "s3-object" and config.get("key") and config.get("prefix"):
        return ["s3-object takes key or prefix, not both"]
    return []


def upstream_job_log(request: TraitRequest) -> Verdict:
    from botocore.exceptions import BotoCoreError, ClientError

    from .. import store

    config = request.config
    upstream = config.get("upstreamPipeline")
    if not isinstance(upstream, str) or not upstream:
        return fail("config missing: upstreamPipeline", FailureCategory.PERMANENT)
    schedule_id = str(config.get("upstreamSchedule") or "daily")
    date = str(config.get("date") or request.date)
    try:
        entry = store.get_run_log(upstream, date, schedule_id)
    except (ClientError, BotoCoreError) as exc:  # the check could not run: not a clean FAIL
        return fail(f"reading the run log of {upstream} failed: {clean_text(exc)}", FailureCategory.TRANSIENT)
    where = f"{date}/{schedule_id}"
    if not entry:
        return fail(f"upstream {upstream} has no run log for {where}")
    status = entry.get("status")
    if status == "COMPLETED":
        value = {"upstreamRunID": entry.get("runID"), "completedAt": entry.get("updatedAt")}
        return Verdict("PASS", f"upstream {upstream} completed for {where}", value)
    return fail(f"upstream {upstream} status is {status} for {where}")


def _positive_number(config: dict, key: str) -> float | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"config {key} must be a non-negative number")
    return float(value)


def s3_object(request: TraitRequest) -> Verdict:
    config = request.config
    bucket = config.get("bucket") or settings.get().data_bucket
    key, prefix = config.get("key"), config.get("prefix")
    if not isinstance(bucket, str) or not bucket:
        return fail("config missing: bucket (and the stack has no data bucket)", FailureCategory.PERMANENT)
    if bool(key) == bool(prefix) or not isinstance(key or prefix, str):
        return fail("config needs exactly one of key or prefix", FailureCategory.PERMANENT)
    try:
        max_age = _positive_number(config, "maxAgeSeconds")
        min_size = _positive_number(config, "minSizeBytes")
    except ValueError as exc:
        return fail(str(exc), FailureCategory.PERMANENT)
    target = render(key or prefix, request.template)
    try:
        candidates = _head(bucket, target) if key else _list(bucket, target)
    except _S3Failure as exc:
        return fail(str(exc), exc.category)
    location = f"s3://{bucket}/{target}"
    if not candidates:
        return fail(f"no object at {location}" if key else f"no object under {location}")
    now = time.time()
    problems = []
    for obj_key, size, modified in sorted(candidates, key=lambda c: c[2], reverse=True):
        age = max(0.0, now - modified.timestamp())
        value = {
            "bucket": bucket,
            "key": obj_key,
            "size": size,
            "lastModified": modified.astimezone(UTC).isoformat(),
            "ageSeconds": int(age),
        }
        if max_age is not None and age > max_age:
            problems.append(f"s3://{bucket}/{obj_key} is {int(age)}s old (max {int(max_age)}s)")
        elif min_size is not None and size < min_size:
            problems.append(f"s3://{bucket}/{obj_key} is {size} bytes (min {int(min_size)})")
        else:
            return Verdict("PASS", f"s3://{bucket}/{obj_key} present ({size} bytes, {int(age)}s old)", value)
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return fail(problems[0] + more)


class _S3Failure(Exception):
    def __init__(self, message: str, category: str):
        super().__init__(message)
        self.category = category


def _s3_error(action: str, bucket: str, exc: Exception) -> _S3Failure:
    code = clients.error_code(exc) or type(exc).__name__
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    transient = code in _TRANSIENT_CODES or status >= 500 or not hasattr(exc, "response")
    return _S3Failure(
        f"S3 {action} on bucket {bucket} failed: {code}",
        FailureCategory.TRANSIENT if transient else FailureCategory.PERMANENT,
    )


def _head(bucket: str, key: str) -> list[tuple[str, int, datetime]]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        head = clients.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if clients.error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return []
        raise _s3_error("HeadObject", bucket, exc) from None
    except BotoCoreError as exc:
        raise _s3_error("HeadObject", bucket, exc) from None
    return [(key, head["ContentLength"], head["LastModified"])]


def _list(bucket: str, prefix: str) -> list[tuple[str, int, datetime]]:
    from botocore.exceptions import BotoCoreError, ClientError

    found: list[tuple[str, int, datetime]] = []
    try:
        pages = clients.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            found.extend((o["Key"], o["Size"], o["LastModified"]) for o in page.get("Contents", []))
            if len(found) >= MAX_LISTED_OBJECTS:
                break
    except (ClientError, BotoCoreError) as exc:
        raise _s3_error("ListObjectsV2", bucket, exc) from None
    return found


_BUILTINS = {"upstream-job-log": upstream_job_log, "s3-object": s3_object}
