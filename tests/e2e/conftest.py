"""End-to-end tier: whole lifecycles on the embedded emulator (moto's server in this process).

Emulators are module-scoped fixtures: one deployment is shared by a module's scenarios (each scenario uses its own
pipeline ids), and it is gone before the next module and the other tiers run, since moto's backends and the
emulator's patches are process-global. Every test here carries the `e2e` marker (`pytest -m "not e2e"` skips them).
"""

import glob
import os
import shutil
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def pipelines_dir():
    """The shipped pipelines plus tests/e2e/pipelines (the ones the modules' stack schedules name: a stack schedule
    must name a pipeline of pipelinesDir), in a scratch directory inside the project (pipelinesDir is relative to
    it)."""
    repo = os.path.dirname(os.path.dirname(HERE))
    path = os.path.join(repo, "build", f"e2e-pipelines-{uuid.uuid4().hex[:8]}")
    shutil.copytree(os.path.join(repo, "pipelines"), path)
    for file in glob.glob(os.path.join(HERE, "pipelines", "*.yaml")):
        shutil.copy(file, path)
    yield os.path.relpath(path, repo)
    shutil.rmtree(path, ignore_errors=True)
