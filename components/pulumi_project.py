"""Read a Pulumi project file (Pulumi.yaml): the project's name and the config keys it declares.

The CLI applies the declared defaults; the stack settings, the mock runner (emulator/program.py) and the backend
project read them here so that a program run without the CLI sees what `pulumi up` sees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from handlers.interlock.models import ConfigError
from handlers.interlock.yaml_input import load_file


@dataclass(frozen=True)
class PulumiProject:
    name: str
    config: dict[str, dict]  # declared key (bare: the project's own namespace) -> {type, default, description, ...}

    def defaults(self) -> dict[str, Any]:
        """Namespaced key (`<project>:<key>`) -> default, for every declared key that has one."""
        return {
            key if ":" in key else f"{self.name}:{key}": spec["default"]
            for key, spec in self.config.items()
            if spec.get("default") is not None
        }


def read_project(directory: str) -> PulumiProject:
    """The project file of `directory`, read with the config-file limits; ConfigError naming it when malformed."""
    path = os.path.join(directory, "Pulumi.yaml")
    project = load_file(path)
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise ConfigError(["name: required"], path)
    if not isinstance(project.get("config") or {}, dict):
        raise ConfigError(["config: must be a mapping of key -> declaration"], path)
    config = {}
    for key, spec in (project.get("config") or {}).items():
        if not isinstance(spec, dict):  # the short form `key: value`
            spec = {"default": spec}
        elif "value" in spec and "default" not in spec:
            spec = {**spec, "default": spec["value"]}
        config[key] = spec
    return PulumiProject(project["name"], config)
