"""Fault injection for tests of what a pipeline does when something fails.

    with emu.faults.fail("dynamodb", "UpdateItem", code="ProvisionedThroughputExceededException",
                         function="orchestrator"):
        ...                                  # the orchestrator's next UpdateItem fails, then calls succeed again
    emu.faults.raise_in("run-checker", times=None, error="Sandbox.Timedout")   # the function fails on every call

- `fail` makes the next `times` matching AWS calls made by deployed handlers fail with a botocore `ClientError` of
  `code` (the client's modelled exception class when the service defines one), as the handler sees a call that
  failed after the SDK's own retries. The call never reaches moto. Calls by the emulator itself, by tests and by
  the state machine's service integrations (`arn:aws:states:::dynamodb:putItem`, ...) are never faulted.
- `raise_in` makes the next `times` invocations of a function fail with a function error whose `errorType` is
  `error`, as a crashed or timed-out Lambda does: the error reaches the caller (the state machine's Retry/Catch,
  the stream mapping's retries, an EventBridge delivery). With `after=True` the handler runs first (its side
  effects happen) and its answer is replaced by the error, as when a function times out after its work was done.
- `times=None` means every matching call until the fault is removed; `matching` narrows a fault to the calls whose
  API parameters (`fail`) or event (`raise_in`) it returns true for.
A fault is removed when its count is used up, when its `with` block ends, by `remove()`, by `clear()` and when the
emulator stops. `fired()` lists every fault that fired, in order.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse

SERVER_ERROR_CODES = {
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "InternalError",
    "ServiceException",
    "ThrottlingException",
}


def _normalised(operation: str) -> str:
    return operation.replace("_", "").lower()


class Fault:
    """One injected fault; a context manager that removes it on exit."""

    def __init__(
        self,
        faults: Faults,
        kind: str,
        function: str | None,
        times: int | None,
        matching: Callable[[Any], bool] | None,
        **details: Any,
    ) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: every call)")
        self._faults = faults
        self.kind = kind
        self.function = function
        self.remaining = times
        self.matching = matching
        self.details = details
        self.fired = 0

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def remove(self) -> None:
        self._faults._remove(self)

    def _applies(self, function: str, subject: Any) -> bool:
        if self.function is not None and self.function != function:
            return False
        try:
            return self.matching is None or bool(self.matching(subject))
        except Exception:
            return False


class Faults:
    """The emulator's fault registry (`emu.faults`); the Lambda runtime consults it on every call it runs."""

    def __init__(self, resolve_function: Callable[[str], str]) -> None:
        self._resolve = resolve_function
        self._lock = threading.Lock()
        self._active: list[Fault] = []
        self._fired: list[dict] = []

    # -- the API ---------------------------------------------------------------------------------------------
    def fail(
        self,
        service: str,
        operation: str,
        *,
        times: int | None = 1,
        code: str = "InternalServerError",
        message: str = "fault injected by the emulator",
        function: str | None = None,
        status: int | None = None,
        matching: Callable[[dict], bool] | None = None,
    ) -> Fault:
        """Make the next `times` calls of `service`'s `operation` (e.g. "dynamodb", "UpdateItem") made by
        `function` (a kind such as "orchestrator", or a deployed name; None: any function) fail with `code`."""
        status = status or (500 if code in SERVER_ERROR_CODES else 400)
        return self._add(
            Fault(
                self,
                "call",
                self._function(function),
                times,
                matching,
                service=service.lower(),
                operation=_normalised(operation),
                code=code,
                message=message,
                status=status,
            )
        )

    def raise_in(
        self,
        function: str,
        *,
        times: int | None = 1,
        error: str | type[BaseException] = "RuntimeError",
        message: str = "fault injected by the emulator",
        after: bool = False,
        matching: Callable[[dict], bool] | None = None,
    ) -> Fault:
        """Make the next `times` invocations of `function` fail with a function error of type `error`."""
        return self._add(
            Fault(self, "raise", self._function(function), times, matching, error=error, message=message, after=after)
        )

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._active.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._active)

    def fired(self) -> list[dict]:
        """Every fault that fired so far, in order: `{"kind", "function", "time", ...}` with the service, operation
        and code of a failed call or the error of a raised invocation."""
        with self._lock:
            return [dict(f) for f in self._fired]

    # -- hooks for the Lambda runtime -------------------------------------------------------------------------
    def call_fault(self, function: str, model: Any, params: dict) -> tuple[AWSResponse, dict] | None:
        """A failed response for this handler call when a fault applies (botocore's `before-call` short-circuit)."""
        names = {
            model.service_model.service_name.lower(),
            model.service_model.endpoint_prefix.lower(),
            model.service_model.signing_name.lower(),
        }
        operation = _normalised(model.name)
        fault = self._take(
            "call", function, params, lambda f: f.details["service"] in names and f.details["operation"] == operation
        )
        if fault is None:
            return None
        d = fault.details
        self._record(fault, function, service=d["service"], operation=model.name, code=d["code"])
        http = AWSResponse("http://emulator.fault", d["status"], {}, None)
        parsed = {
            "Error": {"Code": d["code"], "Message": d["message"]},
            "ResponseMetadata": {"HTTPStatusCode": d["status"], "RequestId": "emulator-fault"},
        }
        return http, parsed

    def wrap_handler(self, function: str, handler: Callable) -> Callable:
        """The handler as the runtime should call it: raising where a `raise_in` fault applies."""

        def faulty(event: Any, context: Any) -> Any:
            fault = self._take("raise", function, event, lambda f: True)
            if fault is None:
                return handler(event, context)
            if fault.details["after"]:
                handler(event, context)
            self._record(fault, function, error=_error_name(fault.details["error"]))
            raise _error(fault.details["error"], fault.details["message"])

        return faulty

    # -- internals ----------------------------------------------------------------------------------------------
    def _function(self, function: str | None) -> str | None:
        return None if function is None else self._resolve(function)

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self._active.append(fault)
        return fault

    def _remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._active:
                self._active.remove(fault)

    def _take(self, kind: str, function: str, subject: Any, selects: Callable[[Fault], bool]) -> Fault | None:
        with self._lock:
            for fault in self._active:
                if fault.kind == kind and selects(fault) and fault._applies(function, subject):
                    fault.fired += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._active.remove(fault)
                    return fault
        return None

    def _record(self, fault: Fault, function: str, **what: Any) -> None:
        with self._lock:
            self._fired.append(
                {
                    "kind": fault.kind,
                    "function": function,
                    "time": datetime.datetime.now(datetime.UTC).isoformat(),
                    **what,
                }
            )


def _error_name(error: Any) -> str:
    if isinstance(error, str):
        return error
    return (error if isinstance(error, type) else type(error)).__name__


def _error(error: Any, message: str) -> BaseException:
    if isinstance(error, BaseException):
        return error
    if isinstance(error, type):
        return error(message)
    return type(error, (Exception,), {})(message)
