"""Run every Lambda invocation moto receives (direct Invoke, Step Functions tasks, our stream poller) in-process.

moto would start a Docker container per invocation; there is no Docker here. `LambdaRuntime.install()` replaces
`moto.awslambda.models.LambdaFunction._invoke_lambda` with a call of the deployed handler code:
- the function's code zip is extracted once per code hash, and each function imports its handler module from it
  once, under its own package name (one warm "container" per function, like Lambda keeps per function);
- third-party dependencies come from this virtualenv (the real layer holds arm64 wheels that cannot load here);
- the function's environment is applied to `os.environ` (process-global: the functions share one code zip and
  almost all variables, so concurrent invocations see the same values); `/var/task` in a value means the extracted
  code directory, and `AWS_ENDPOINT_URL` sends the handler's boto3 calls to this moto server;
- what the handler prints goes to the function's CloudWatch log group, routed per thread (never a global
  `redirect_stdout`: Map iterations run concurrently and the caller's own output must stay visible);
- no lock is held while a handler runs (a handler's write can lead to a nested invocation on another thread);
- every AWS API call a handler makes is recorded (`api_calls`) for the IAM check (iam_check.py);
- `faults` (faults.py), when set, may fail a handler's AWS call before it is sent and wrap a handler so it raises.
Not emulated: the function timeout and memory limit.
"""

from __future__ import annotations

import collections
import contextvars
import hashlib
import importlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
import types
import uuid
import zipfile
from typing import Any

import boto3
import moto.awslambda.models as lambda_models

from .iam_check import ApiCall, api_call
from .server import ACCOUNT_ID, region


class _Invocation:
    """The function a thread is running and its output buffer. Context variables rather than thread-locals: a
    thread a handler starts with a copy of its context (handlers/interlock/evaluator_function.py) still counts as
    that function's, for the IAM check, the faults and the logs; any other thread starts with neither."""

    def __init__(self) -> None:
        self._function: contextvars.ContextVar[Any] = contextvars.ContextVar("emulator_function", default=None)
        self._buffer: contextvars.ContextVar[io.StringIO | None] = contextvars.ContextVar(
            "emulator_buffer", default=None
        )

    @property
    def function(self) -> Any:
        return self._function.get()

    @function.setter
    def function(self, value: Any) -> None:
        self._function.set(value)

    @property
    def buffer(self) -> io.StringIO | None:
        return self._buffer.get()

    @buffer.setter
    def buffer(self, value: io.StringIO | None) -> None:
        self._buffer.set(value)


class _ThreadRoutedStream(io.TextIOBase):
    """A stdout/stderr stand-in: writes from a thread running a handler are captured, all others pass through."""

    def __init__(self, target: Any, local: _Invocation) -> None:
        self.target = target
        self._local = local

    def write(self, text: str) -> int:
        buffer = getattr(self._local, "buffer", None)
        if buffer is not None:
            return buffer.write(text)
        return self.target.write(text)

    def flush(self) -> None:
        if getattr(self._local, "buffer", None) is None:
            self.target.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")


class LambdaContext:
    """The attributes of the Lambda context object handlers (and Powertools) read."""

    def __init__(self, function: Any, deadline: float) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.function_arn
        self.memory_limit_in_mb = int(function.memory_size or 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = function.logs_group_name
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{self.aws_request_id[:8]}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaRuntime:
    """The in-process Lambda executor; counts invocations (and handler errors) per function name."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        self._workdir = tempfile.mkdtemp(prefix="interlock-emulator-code-")
        self._code_dirs: dict[str, str] = {}
        self._handlers: dict[tuple[str, str, str], Any] = {}
        self._load_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._local = _Invocation()
        self._original_invoke = None
        self._original_env: dict[str, str | None] = {}
        self._session: Any = None
        self.api_calls: set[ApiCall] = set()
        self.invocations: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.faults: Any = None

    # -- installation -------------------------------------------------------------------------------------------
    def install(self) -> None:
        """Patch moto's Lambda invocation, route handler output, hook boto3 to record handlers' API calls."""
        runtime = self
        self._original_invoke = lambda_models.LambdaFunction._invoke_lambda

        def _invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(function, event)

        lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda
        self._route_output()
        # Handlers create their clients from boto3's default session after this, so they carry the hook.
        self._session = boto3._get_default_session()
        self._session.events.register("before-parameter-build", self._record_call)
        self._session.events.register("before-call", self._fault_call)

    def _record_call(self, params: dict, model: Any, context: dict | None = None, **_: Any) -> None:
        function = getattr(self._local, "function", None)
        if function is not None:  # a call made by a handler (not by moto's interpreter or the emulator itself)
            call = api_call(
                function.function_name, model.service_model.signing_name, model.name, params, region(), ACCOUNT_ID
            )
            with self._count_lock:
                self.api_calls.add(call)
            if context is not None:
                context["emulator_api_params"] = params  # before-call only sees the serialized request

    def _fault_call(self, model: Any, context: dict, **_: Any) -> Any:
        function = getattr(self._local, "function", None)
        if function is None or self.faults is None:
            return None
        return self.faults.call_fault(function.function_name, model, context.get("emulator_api_params") or {})

    def _route_output(self) -> None:
        """Wrap the current sys.stdout/stderr (again, when someone such as pytest's capture replaced them)."""
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _ThreadRoutedStream):
                setattr(sys, name, _ThreadRoutedStream(stream, self._local))

    def uninstall(self) -> None:
        """Undo `install` and everything invocations changed: environment, imported modules, extracted code."""
        if self._original_invoke is not None:
            lambda_models.LambdaFunction._invoke_lambda = self._original_invoke
            self._original_invoke = None
        if self._session is not None:
            self._session.events.unregister("before-parameter-build", self._record_call)
            self._session.events.unregister("before-call", self._fault_call)
            self._session = None
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if isinstance(stream, _ThreadRoutedStream):
                setattr(sys, name, stream.target)
        for key, value in self._original_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._original_env.clear()
        for name in [n for n in sys.modules if n.startswith("_interlock_lambda_")]:
            del sys.modules[name]
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- one invocation -----------------------------------------------------------------------------------------
    def invoke(self, function: Any, event: Any) -> tuple[str, bool, str]:
        """Run `function`'s handler with `event`; return moto's `(payload json, is_error, logs)` triple."""
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        if event is None:
            event = {}
        with self._count_lock:
            self.invocations[function.function_name] += 1
        function.logs_backend.ensure_log_group(function.logs_group_name)
        code_dir = self.code_dir(function)
        self.apply_environment(function, code_dir)
        started = time.monotonic()
        context = LambdaContext(function, started + float(function.timeout or 3))
        self._route_output()
        self._local.buffer = io.StringIO()
        self._local.function = function
        try:
            handler = self._handler(function, code_dir)
            if self.faults is not None:
                handler = self.faults.wrap_handler(function.function_name, handler)
            payload, is_error = json.dumps(handler(event, context)), False
        except Exception as error:  # a handler exception is the function's error response, as in Lambda
            payload = json.dumps(
                {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_exc().splitlines(),
                }
            )
            is_error = True
            with self._count_lock:
                self.errors[function.function_name] += 1
        finally:
            output = self._local.buffer.getvalue()
            self._local.buffer = None
            self._local.function = None
        duration_ms = (time.monotonic() - started) * 1000
        report = f"REPORT RequestId: {context.aws_request_id} Duration: {duration_ms:.2f} ms"
        function.save_logs(output + ("\n" if output and not output.endswith("\n") else "") + report)
        return payload, is_error, output

    def code_dir(self, function: Any) -> str:
        """The directory the function's code zip is extracted to (once per code hash): its /var/task."""
        digest = hashlib.sha256(function.code_bytes).hexdigest()
        with self._load_lock:
            if digest not in self._code_dirs:
                target = os.path.join(self._workdir, digest[:16])
                zipfile.ZipFile(io.BytesIO(function.code_bytes)).extractall(target)
                self._code_dirs[digest] = target
            return self._code_dirs[digest]

    def import_module(self, code_dir: str, owner: str, module: str) -> types.ModuleType:
        """Import `module` (e.g. `handlers.interlock.store`) from `code_dir` under a package private to `owner`.

        Each owner (a function, or the emulator's own API) gets its own module instances, as each Lambda function
        gets its own container; none of them collides with the repository's `handlers` package.
        """
        package = "_interlock_lambda_" + re.sub(r"\W", "_", f"{owner}_{os.path.basename(code_dir)}")
        with self._load_lock:
            if package not in sys.modules:
                root = types.ModuleType(package)
                root.__path__ = [code_dir]  # the code directory plays /var/task for this owner's imports
                sys.modules[package] = root
            return importlib.import_module(f"{package}.{module}")

    def _handler(self, function: Any, code_dir: str) -> Any:
        key = (code_dir, function.function_name, function.handler)
        if key not in self._handlers:
            module_path, _, attribute = function.handler.replace("/", ".").rpartition(".")
            module = self.import_module(code_dir, function.function_name, module_path)
            self._handlers[key] = getattr(module, attribute)
        return self._handlers[key]

    def apply_environment(self, function: Any, code_dir: str) -> None:
        """Set the function's environment (and the Lambda runtime's own variables) in os.environ."""
        env = {
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_REGION": function.region or region(),
            "AWS_DEFAULT_REGION": function.region or region(),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": self._endpoint,
            "LAMBDA_TASK_ROOT": code_dir,
        }
        for key, value in (function.environment_vars or {}).items():
            value = str(value)
            if value == "/var/task" or value.startswith("/var/task/"):
                value = code_dir + value[len("/var/task") :]
            env[key] = value
        for key, value in env.items():
            self._original_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
