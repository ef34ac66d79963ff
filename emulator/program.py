"""Deploy a Pulumi program into the emulator: the program runs under Pulumi's mocks and every resource it
registers is created for real, through boto3, in the moto server (mocks.py).

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
from typing import Any, Callable

import pulumi
from pulumi.runtime import settings as pulumi_settings

from .mocks import DeployedResource, EmulatorMocks
from .server import REGION


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
def project_config(program_dir: str) -> tuple[str, dict[str, str]]:
    """The project name and the config defaults Pulumi.yaml declares (the CLI applies them; the mocks do not)."""
    import yaml

    with open(os.path.join(program_dir, "Pulumi.yaml")) as handle:
        project = yaml.safe_load(handle)
    name = project["name"]
    defaults: dict[str, str] = {}
    for key, spec in (project.get("config") or {}).items():
        value = spec.get("default", spec.get("value")) if isinstance(spec, dict) else spec
        if value is not None:
            defaults[key if ":" in key else f"{name}:{key}"] = _config_string(value)
    return name, defaults


def _config_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def deploy_program(
    program_dir: str, config: dict[str, Any], client: Callable[[str], Any], stack: str = "emulator"
) -> Deployment:
    """Run `program_dir/__main__.py` under `EmulatorMocks` with `config` over Pulumi.yaml's defaults."""
    project, values = project_config(program_dir)
    for key, value in config.items():
        values[key if ":" in key else f"{project}:{key}"] = _config_string(value)
    values.setdefault("aws:region", REGION)

    mocks = EmulatorMocks(client)
    pulumi_settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(values)
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def run_program():
        runpy.run_path(os.path.join(program_dir, "__main__.py"), run_name="__main__")
        outputs = pulumi_settings.get_root_resource().outputs
        return pulumi.Output.all(**outputs).apply(exports.update) if outputs else None

    cwd, path = os.getcwd(), list(sys.path)
    os.chdir(program_dir)
    sys.path.insert(0, program_dir)
    try:
        run_program()
    finally:
        os.chdir(cwd)
        sys.path[:] = path
    if mocks.skipped:
        warnings.warn(
            "the emulator could not create these resources (not emulated; the program's other resources were "
            "created): " + ", ".join(mocks.skipped),
            EmulatorWarning,
            stacklevel=2,
        )
    return Deployment(resources=list(mocks.resources), outputs=exports, skipped=list(mocks.skipped),
                      adjusted=list(mocks.adjusted))
