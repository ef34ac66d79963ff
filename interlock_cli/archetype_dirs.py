"""Archetypes and exclusion calendars of one's own, beside the ones the project ships.

A directory of one's own is laid out as archetypes/ is: archetype YAML at its top level, calendars in `calendars/`.
The domain reads a single directory, so `interlock validate --archetypes` and the emulator merge the two into one:
every shipped file, then every file of one's own (replacing a shipped file of the same name).
"""

from __future__ import annotations

import os
import shutil

CALENDARS = "calendars"


def _yaml_files(directory: str) -> list[str]:
    if not os.path.isdir(directory):
        return []
    return sorted(f for f in os.listdir(directory) if f.endswith((".yaml", ".yml")))


def merge_archetype_dirs(shipped: str, own: str, target: str) -> dict[str, str]:
    """Copy the archetype and calendar files of `shipped`, then those of `own`, into `target`; return the file each
    copy came from, by its path in `target` (so a problem found in the copy can name the original).
    Raises NotADirectoryError when `own` is not a directory."""
    if not os.path.isdir(own):
        raise NotADirectoryError(f"archetypes directory {own!r} is not a directory")
    origins: dict[str, str] = {}
    for source_dir in (shipped, own):
        for sub in ("", CALENDARS):
            os.makedirs(os.path.join(target, sub), exist_ok=True)
            for name in _yaml_files(os.path.join(source_dir, sub)):
                source, copy = os.path.join(source_dir, sub, name), os.path.join(target, sub, name)
                shutil.copyfile(source, copy)
                origins[copy] = os.path.abspath(source)
    return origins
