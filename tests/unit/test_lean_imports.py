"""Cold start: a handler module imports no heavy library at load time (DESIGN §10.2 "Cold start"); boto3, YAML and
the Powertools Logger load on first use. Checked in a fresh interpreter per handler, as Lambda starts one."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("boto3", "botocore", "yaml", "aws_lambda_powertools")
PROBE = "import sys, handlers.{module}; print(' '.join(m for m in {heavy!r} if m in sys.modules))"


@pytest.mark.parametrize(
    "module",
    ["orchestrator", "stream_router", "evaluator", "trigger", "run_checker", "job_events", "reconciler", "watchdog"],
)
def test_a_handler_module_loads_without_heavy_imports(module):
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert loaded == [], f"handlers.{module} imports {loaded} at load time"
