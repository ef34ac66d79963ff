"""HTTP evaluators: POST `{pipelineId, traitType, config}` and read `{status, value, reason, failureCategory}`.

The URL is the evaluator if absolute, else the stack's `evaluatorBaseUrl` joined with the evaluator path. Every call
goes through the SSRF guard. Outcomes: 4xx → FAIL/PERMANENT, 429, 5xx and connection errors → FAIL/TRANSIENT,
timeout → FAIL/TIMEOUT, invalid JSON or a status outside PASS/FAIL/STALE → FAIL/PERMANENT, a refused address or a URL
that cannot be sent (e.g. a host IDNA would change) → FAIL/PERMANENT. Text from the answer (an error excerpt, `reason`,
the strings of `value`) never carries a secret value this container resolved, in any spelling.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .. import netguard, redaction, secrets, settings
from ..models import FailureCategory
from . import CATEGORIES, STATUSES, TraitRequest, Verdict, fail

REASON_LIMIT = 1000
VALUE_LIMIT_BYTES = 8 * 1024  # results travel through the Step Functions history (256 KiB for all traits)


def evaluator_url(evaluator: str, base_url: str) -> str:
    """The absolute URL of an evaluator; ValueError when it cannot be built safely."""
    if evaluator.lower().startswith(("http://", "https://")):
        return evaluator
    if "://" in evaluator or evaluator.startswith("//"):
        raise ValueError(f"evaluator {evaluator!r} is neither an http(s) URL nor a path")
    if not base_url:
        raise ValueError(f"evaluator path {evaluator!r} is not a URL and no evaluatorBaseUrl is configured")
    path = evaluator.lstrip("/")
    if any(segment in (".", "..") for segment in path.split("?", 1)[0].split("/")):
        raise ValueError(f"evaluator path {evaluator!r} must not contain . or .. segments")
    return f"{base_url.rstrip('/')}/{path}"


def run(evaluator: str, request: TraitRequest) -> Verdict:
    try:
        url = evaluator_url(evaluator, settings.get().evaluator_base_url)
    except ValueError as exc:
        return fail(str(exc), FailureCategory.PERMANENT)
    body = json.dumps({"pipelineId": request.pipeline_id, "traitType": request.trait_type, "config": request.config})
    known = secrets.known_values()
    try:
        response = netguard.request(
            "POST",
            url,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            body=body.encode(),
            timeout=request.timeout,
            secrets=known,
        )
    except netguard.OutboundError as exc:
        if exc.kind == "timeout":
            return fail(f"EVALUATOR_TIMEOUT: {exc}", FailureCategory.TIMEOUT)
        return fail(f"EVALUATOR_REQUEST_FAILED: {exc}", exc.category)
    if response.status >= 400:
        return fail(
            f"EVALUATOR_HTTP_ERROR: status {response.status}: {response.snippet(secrets=known)}",
            netguard.status_category(response.status),
        )
    return parse_output(response, known)


def parse_output(response: netguard.Response, known: Sequence[str] = ()) -> Verdict:
    """The evaluator's JSON answer as a Verdict, or FAIL/PERMANENT naming what is wrong with it; every echo of the
    `known` secret values is masked."""
    try:
        document = response.json()
    except (ValueError, UnicodeDecodeError) as exc:
        return fail(
            f"EVALUATOR_OUTPUT_INVALID: not JSON ({redaction.clean_text(exc, 80)}): {response.snippet(200, known)}",
            FailureCategory.PERMANENT,
        )
    if not isinstance(document, dict):
        return fail("EVALUATOR_OUTPUT_INVALID: expected a JSON object", FailureCategory.PERMANENT)
    status = document.get("status")
    if status not in STATUSES:
        return fail(
            f"EVALUATOR_OUTPUT_INVALID: status {redaction.safe_excerpt(repr(status), known, 60)} is not one of "
            f"{', '.join(STATUSES)}",
            FailureCategory.PERMANENT,
        )
    value = document.get("value")
    if len(json.dumps(value)) > VALUE_LIMIT_BYTES:
        return fail(
            f"EVALUATOR_OUTPUT_INVALID: value is larger than {VALUE_LIMIT_BYTES} bytes", FailureCategory.PERMANENT
        )
    reason = document.get("reason")
    category = document.get("failureCategory")
    return Verdict(
        status=status,
        reason=redaction.safe_excerpt(str(reason), known, REASON_LIMIT) if reason not in (None, "") else None,
        value=redaction.mask_data(value, known),
        failure_category=category if status != "PASS" and category in CATEGORIES else None,
    )
