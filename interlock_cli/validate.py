"""`interlock validate`: everything the Pulumi program checks at preview, without Pulumi.

Pipelines (the domain's rules, against the shipped archetypes and, with `--archetypes DIR`, one's own: see
archetype_dirs.py), the archetypes and exclusion calendars, the stack
file (through the stack settings loader the program uses), and the cross-checks: every schedule names a pipeline
of the directory, every `upstreamPipeline` exists. Each problem names its file, field and YAML line.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

from components.pipeline_registry import ARCHETYPE_DIR
from components.stack_settings import PROJECT, PROJECT_ROOT, load_settings
from handlers.interlock import archetypes, pipelines
from handlers.interlock.models import ConfigError
from handlers.interlock.yaml_input import load_file

from .archetype_dirs import merge_archetype_dirs
from .yaml_lines import field_tokens, line_of


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass
class Report:
    problems: list[Problem]
    pipelines: list[str]
    archetypes: list[str]
    calendars: list[str]
    stack_file: str | None


def _located(file: str, field: str, message: str, tokens: list | None = None) -> Problem:
    line = line_of(file, tokens if tokens is not None else field_tokens(field)) if os.path.isfile(file) else None
    return Problem(file, field, message, line)


def _split(problem: str) -> tuple[str, str]:
    """`"field.path: message"` -> (field, message); `(file)` stands for the whole file."""
    field, sep, message = problem.partition(": ")
    if not sep or " " in field:
        return "", problem
    return ("" if field == "(file)" else field), message


def check_archetypes(
    directory: str, origins: dict[str, str] | None = None
) -> tuple[list[Problem], list[str], list[str]]:
    """Problems of the archetypes and calendars in `directory`, each naming its file (through `origins` when the
    directory holds copies), and the names of the archetypes and calendars."""
    origins = origins or {}
    problems: list[Problem] = []
    names: list[str] = []
    calendars: list[str] = []
    archetypes.clear_cache()
    for loader, found in ((archetypes.load_dir, names), (archetypes.load_calendars, calendars)):
        try:
            found += sorted(loader(directory))
        except ConfigError as error:
            for item in error.problems:
                field, message = _split(item)
                source = error.source or directory
                problems.append(_located(origins.get(source, source), field, message))
    return problems, names, calendars


def check_pipelines(directory: str, archetype_dir: str) -> tuple[list[Problem], dict[str, tuple[str, object]]]:
    """Problems of the pipelines directory, and the pipelines that parse: name -> (file, config)."""
    if not os.path.isdir(directory):
        return [Problem(directory, "", "not a directory")], {}
    files = [
        os.path.join(directory, f) for f in sorted(os.listdir(directory)) if f.endswith((".yaml", ".yml", ".json"))
    ]
    problems = []
    try:
        pipelines.load_pipeline_dir(directory, archetype_dir)
    except ConfigError as error:
        for item in error.problems:
            file = next((f for f in files if item.startswith(f + ": ")), directory)
            field, message = _split(item[len(file) + 2 :] if file != directory else item)
            problems.append(_located(file, field, message))
    parsed = {}
    for path in files:  # the files that parse still count for the cross-checks
        try:
            config = pipelines.load_pipeline_file(path)
        except ConfigError:
            continue
        parsed.setdefault(config.name, (path, config))
    return problems, parsed


def _config_string(value: object) -> str:
    """As the Pulumi CLI hands config over: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def check_stack_file(path: str) -> tuple[list[Problem], dict]:
    """Problems of a `Pulumi.<stack>.yaml` and its raw `interlock:` values (bare keys)."""
    try:
        document = load_file(path) or {}
    except ConfigError as error:
        return [Problem(path, "", problem.removeprefix("(file): ")) for problem in error.problems], {}
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return [_located(path, "config", "the stack file has no `config:` mapping", ["config"])], {}
    prefix = f"{PROJECT}:"
    values = {
        key[len(prefix) :]: _config_string(value)
        for key, value in config.items()
        if isinstance(key, str) and key.startswith(prefix)
    }
    try:
        load_settings(values)
    except ConfigError as error:
        problems = []
        for item in error.problems:
            key, _, message = item.partition(": ")
            tokens: list = ["config", key]
            sub_field, sep, rest = message.partition(": ")
            if sep and sub_field.startswith("[") and " " not in sub_field:  # structured key: "[0].pipeline: ..."
                tokens += field_tokens(sub_field)
                key, message = key + sub_field, rest
            problems.append(_located(path, key, message, tokens))
        return problems, {k: config[prefix + k] for k in values}
    return [], {k: config[prefix + k] for k in values}


def cross_check(parsed: dict[str, tuple[str, object]], stack_values: dict, stack_file: str | None) -> list[Problem]:
    """Every `upstreamPipeline` names a pipeline of the directory; so does every schedule of the stack file."""
    problems = []
    for path, config in parsed.values():
        for trait_type, trait in config.traits.items():
            upstream = (trait.config or {}).get("upstreamPipeline")
            if isinstance(upstream, str) and upstream not in parsed:
                problems.append(
                    _located(
                        path,
                        f"traits.{trait_type}.config.upstreamPipeline",
                        f"upstream pipeline {upstream!r} is not in the pipelines directory",
                        ["traits", trait_type, "config", "upstreamPipeline"],
                    )
                )
    schedules = stack_values.get("schedules")
    if stack_file and isinstance(schedules, list):
        for index, entry in enumerate(schedules):
            pipeline = entry.get("pipeline") if isinstance(entry, dict) else None
            if isinstance(pipeline, str) and pipeline not in parsed:
                problems.append(
                    _located(
                        stack_file,
                        f"{PROJECT}:schedules[{index}].pipeline",
                        f"names pipeline {pipeline!r}, which is not in the pipelines directory",
                        ["config", f"{PROJECT}:schedules", index, "pipeline"],
                    )
                )
    return problems


def validate(pipelines_dir: str | None, stack_file: str | None, archetypes_dir: str | None = None) -> Report:
    """Check everything; `pipelines_dir` defaults to the stack's `pipelinesDir` (relative to the project root,
    as the program reads it), else `pipelines` in the current directory. `archetypes_dir`: archetypes and
    calendars of one's own, merged over the shipped ones."""
    problems: list[Problem] = []
    stack_values: dict = {}
    if stack_file:
        found, stack_values = check_stack_file(stack_file)
        problems += found
    if pipelines_dir is None:
        configured = stack_values.get("pipelinesDir")
        pipelines_dir = os.path.join(PROJECT_ROOT, configured) if isinstance(configured, str) else "pipelines"
    if archetypes_dir is not None and not os.path.isdir(archetypes_dir):
        problems.append(Problem(archetypes_dir, "", "not a directory"))
        archetypes_dir = None
    with tempfile.TemporaryDirectory(prefix="interlock-archetypes-") as merged:
        origins = merge_archetype_dirs(ARCHETYPE_DIR, archetypes_dir, merged) if archetypes_dir else {}
        archetype_dir = merged if archetypes_dir else ARCHETYPE_DIR
        arch_problems, archetype_names, calendar_names = check_archetypes(archetype_dir, origins)
        pipeline_problems, parsed = check_pipelines(pipelines_dir, archetype_dir)
        archetypes.clear_cache()  # the domain caches by directory name, and this one is about to go
    problems += arch_problems + pipeline_problems + cross_check(parsed, stack_values, stack_file)
    return Report(problems, sorted(parsed), archetype_names, calendar_names, stack_file)
