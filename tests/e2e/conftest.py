"""End-to-end tier: whole lifecycles on the embedded emulator (moto's server in this process).

Emulators are module-scoped fixtures: one deployment is shared by a module's scenarios (each scenario uses its own
pipeline ids), and it is gone before the next module and the other tiers run, since moto's backends and the
emulator's patches are process-global. Every test here carries the `e2e` marker (`pytest -m "not e2e"` skips them).
"""

import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.e2e)
