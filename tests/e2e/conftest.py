"""End-to-end tier: whole lifecycles on the embedded emulator (moto server in this process).

Emulators are module-scoped: one deployment is shared by a module's scenarios (each uses its own pipeline ids),
and it is gone before other tiers run, since moto's backends and the patches are process-global.
"""
import pytest

pytestmark = pytest.mark.e2e
