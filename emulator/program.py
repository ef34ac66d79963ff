"""Run a Pulumi program under Pulumi's mocks (`run_program`, also used by the infra and operating tests), and
deploy it into the emulator (`deploy_program`): every resource it registers is created for real, through boto3,
in the moto server (mocks.py).

Pulumi's CLI and the AWS provider plugin cannot run here, so `pulumi.runtime.set_mocks(..., preview=False)` plays
the engine. Pulumi orders registrations by their data dependencies, as in a real `pulumi up`, so everything
downstream in the program (policies, environment variables, the rendered state machine) sees moto's real values.
What could not be created is reported in one `EmulatorWarning`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import runpy
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockMonitor

from components.pulumi_project import read_project

from .mocks import DeployedResource, EmulatorMocks
from .server import region


class EmulatorWarning(UserWarning):
    """Something of the program could not be emulated (listed in the message)."""


@dataclasses.dataclass
class Deployment:
    """What the program created: resources in registration order, its stack outputs, what could not be created,
    and what was created differently from the program's inputs (with the reason)."""

    resources: list[DeployedResource]
    outputs: dict
    skipped: list[str]
    adjusted: list[str] = dataclasses.field(default_factory=list)

    def of_type(self, token: str) -> list[DeployedResource]:
        return [r for r in self.resources if r.type == token]


# -- running a program ---------------------------------------------------------------------------------------------
def _config_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def run_program(
    program_dir: str,
    config: Mapping[str, Any],
    mocks: pulumi.runtime.Mocks,
    *,
    stack: str,
    monitor: MockMonitor | None = None,
) -> dict[str, Any]:
    """Run `program_dir/__main__.py` under `mocks` as the Pulumi CLI would and return its stack outputs.

    As the CLI does: the project's name and its Pulumi.yaml config defaults, `config` on top (bare keys belong to
    the project; values other than strings are passed as JSON), the program's directory as cwd and first on
    sys.path. preview=False, so every output resolves. Exceptions of the program propagate unchanged.
    """
    project = read_project(program_dir)
    values = {key: _config_string(value) for key, value in project.defaults().items()}
    for key, value in config.items():
        values[key if ":" in key else f"{project.name}:{key}"] = _config_string(value)
    pulumi_settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project=project.name, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(values)
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        runpy.run_path(os.path.join(program_dir, "__main__.py"), run_name="__main__")
        outputs = pulumi_settings.get_root_resource().outputs
        return pulumi.Output.all(**outputs).apply(exports.update) if outputs else None

    cwd, path = os.getcwd(), list(sys.path)
    os.chdir(program_dir)
    sys.path.insert(0, program_dir)
    try:
        program()
    finally:
        os.chdir(cwd)
        sys.path[:] = path
    return exports


def deploy_program(
    program_dir: str, config: dict[str, Any], client: Callable[[str], Any], stack: str = "emulator"
) -> Deployment:
    """Run `program_dir/__main__.py` under `EmulatorMocks`: every resource it registers is created in moto."""
    mocks = EmulatorMocks(client)
    exports = run_program(program_dir, {"aws:region": region(), **config}, mocks, stack=stack)
    if mocks.skipped:
        warnings.warn(
            "the emulator could not create these resources (not emulated; the program's other resources were "
            "created): " + ", ".join(mocks.skipped),
            EmulatorWarning,
            stacklevel=2,
        )
    return Deployment(
        resources=list(mocks.resources), outputs=exports, skipped=list(mocks.skipped), adjusted=list(mocks.adjusted)
    )
