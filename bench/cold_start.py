"""Cold start of each Lambda entry module, measured in fresh interpreters.

For every handler: the import of `handlers.<module>` alone; "init" = that import plus the boto3 clients it creates
(through clients.client, once per container), compared with the baseline `import boto3` + one client; and
"+logger" = init plus the Powertools Logger its first log line creates (and, for the stream-router, the
Powertools batch utility its first invocation imports). Also the peak resident memory of each
interpreter. Each figure is the median of several fresh processes. Target: every handler's init within 1.5x of
the baseline.

    .venv/bin/python bench/cold_start.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_RATIO = 1.5

# The clients each handler creates on its first invocation (the trigger and run-checker also create the one
# client of the job service they drive; glue stands for those).
HANDLERS = {
    "orchestrator": ("dynamodb", "sns", "lambda"),  # lambda: checkEvaluation and checkMonitoring ask the evaluator
    "stream_router": ("stepfunctions",),
    "evaluator": ("dynamodb",),
    "trigger": ("dynamodb", "glue"),
    "run_checker": ("glue",),
    "job_events": ("dynamodb", "stepfunctions"),
}
# Powertools modules a handler imports on its first invocation, besides the Logger.
POWERTOOLS_FIRST_USE = {"stream_router": ("aws_lambda_powertools.utilities.batch",)}

_PROBE = r"""
import json, resource, sys, time
start, cpu_start = time.perf_counter(), time.process_time()
{body}
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
print(json.dumps({{"import_ms": imported * 1000, "init_ms": (initialized - start) * 1000,
                   "logger_ms": elapsed * 1000, "cpu_ms": cpu * 1000,
                   "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "modules": sorted(m for m in ("boto3", "yaml", "aws_lambda_powertools") if m in sys.modules)}}))
"""

_BASELINE = """
import boto3
imported = time.perf_counter() - start
boto3.client("dynamodb")
initialized = time.perf_counter()
"""

_HANDLER = """
import handlers.{module}
imported = time.perf_counter() - start
from handlers.interlock import clients, log
for service in {services!r}:
    clients.client(service)
initialized = time.perf_counter()
log.logger()
for name in {first_use!r}:
    __import__(name)
"""


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        PYTHONPATH=ROOT,
        PYTHONDONTWRITEBYTECODE="",
    )
    return env


def _sample(body: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure_all(bodies: dict[str, str], runs: int) -> dict[str, dict]:
    """Median figures per body; rounds interleave the bodies so machine load drifts hit all rows alike."""
    for body in bodies.values():
        _sample(body)  # warm the OS file cache and the bytecode caches
    samples: dict[str, list[dict]] = {name: [] for name in bodies}
    for _ in range(runs):
        for name, body in bodies.items():
            samples[name].append(_sample(body))
    return {
        name: {key: statistics.median(s[key] for s in rows) for key in ("import_ms", "init_ms", "logger_ms", "peak_mb")}
        for name, rows in samples.items()
    }


def _eager_imports(module: str) -> list[str]:
    code = (
        f"import sys, handlers.{module}; print(' '.join(m for m in ('boto3', 'yaml', 'aws_lambda_powertools') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    return out.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bodies = {"baseline: import boto3 + 1 client": _BASELINE}
    bodies.update(
        {
            f"handlers.{module}": _HANDLER.format(
                module=module, services=services, first_use=POWERTOOLS_FIRST_USE.get(module, ())
            )
            for module, services in HANDLERS.items()
        }
    )
    figures = _measure_all(bodies, args.runs)
    baseline = figures["baseline: import boto3 + 1 client"]
    rows = [
        (
            name,
            figures[name],
            "+".join(HANDLERS.get(name.removeprefix("handlers."), ())),
            _eager_imports(name.removeprefix("handlers.")) if name.startswith("handlers.") else [],
        )
        for name in bodies
    ]

    print(
        f"{'module':36} {'import ms':>10} {'init ms':>9} {'x base':>7} {'+logger':>8} {'peak MB':>8}  "
        f"{'clients':22}heavy imports at load"
    )
    failures = 0
    for name, figures, services, eager in rows:
        ratio = figures["init_ms"] / baseline["init_ms"]
        if name.startswith("handlers.") and ratio > TARGET_RATIO:
            failures += 1
        logger = f"{figures['logger_ms']:8.1f}" if name.startswith("handlers.") else f"{'-':>8}"
        print(
            f"{name:36} {figures['import_ms']:10.1f} {figures['init_ms']:9.1f} {ratio:7.2f} {logger} "
            f"{figures['peak_mb']:8.1f}  {services or 'dynamodb':22}{' '.join(eager) or 'none'}"
        )
    verdict = "within" if not failures else f"{failures} handler(s) above"
    print(
        f"\n{args.runs} fresh interpreters per row, medians; target: init within {TARGET_RATIO}x of the "
        f"baseline ({verdict})."
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
