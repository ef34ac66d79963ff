"""Asking the evaluator function about traits from the orchestrator: checkEvaluation and checkMonitoring evaluate
the run's traits themselves, so no state count depends on the number of traits (DESIGN §10.0).

Each trait item is the evaluator's own input, sent with one synchronous invoke, all at once (as many at a time as
the Map states this replaced ran). The evaluator answers a business outcome (an unreachable endpoint, a bad config)
as a FAIL with its category; only a broken evaluator (an unhandled error, a timeout) or Lambda itself failing
raises.
"""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import ThreadPoolExecutor

from . import clients, invocation, settings
from .models import DEFAULT_TRAIT_TIMEOUT_SECONDS

MAX_CONCURRENT = 10  # the MaxConcurrency of the Map states this replaced
STORE_MARGIN_SECONDS = 5.0  # the evaluator's own margin for storing its result, and the invoke's round trip


class EvaluatorFailed(RuntimeError):
    """The evaluator function did not answer (it raised, timed out or could not be invoked)."""


def evaluate(items: list[dict], budget: float | None = None) -> list[dict]:
    """The evaluator's answer for each trait item, in order. With `budget` (seconds the caller may still spend),
    no trait is given longer than fits in it."""
    if not items:
        return []
    function = settings.get().evaluator_function
    lambda_client = clients.client("lambda")  # created here, shared by the threads (clients are thread-safe)
    timeout = max(invocation.MIN_BUDGET_SECONDS, budget - STORE_MARGIN_SECONDS) if budget is not None else None

    def ask(item: dict) -> dict:
        event = _with_timeout(item, timeout)
        try:
            response = lambda_client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        except Exception as exc:  # botocore's errors: the invoke itself failed
            reason = clients.error_code(exc) or type(exc).__name__
            raise EvaluatorFailed(f"{_trait(item)}: invoking {function} failed: {reason}") from exc
        answer = _json(response["Payload"].read())
        if response.get("FunctionError"):
            error = answer if isinstance(answer, dict) else {}
            reason = invocation.capped(f"{error.get('errorType', 'error')}: {error.get('errorMessage', '')}", 300)
            raise EvaluatorFailed(f"{_trait(item)}: the evaluator failed: {reason}")
        if not isinstance(answer, dict):
            raise EvaluatorFailed(f"{_trait(item)}: the evaluator answered {type(answer).__name__}, not an object")
        return answer

    with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT, len(items))) as pool:
        # each call runs in a copy of this invocation's context, as asyncio.to_thread runs its function
        asked = [pool.submit(contextvars.copy_context().run, ask, item) for item in items]
        return [answer.result() for answer in asked]


def _with_timeout(item: dict, limit: float | None) -> dict:
    """The item with its `timeout` (the evaluator's default when it has none) cut to `limit`."""
    if limit is None:
        return item
    return {**item, "timeout": min(invocation.positive(item, "timeout") or DEFAULT_TRAIT_TIMEOUT_SECONDS, limit)}


def _trait(item: dict) -> str:
    return f"trait {invocation.text(item, 'traitType') or '?'}"


def _json(body: bytes) -> object:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None
