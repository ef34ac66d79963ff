"""Pipelines as code: every pipeline config in the pipelines dir is validated and written as table items.

Validation and the items' keys belong to the domain (handlers/interlock/pipelines.py and store.py); this module
only finds the files, turns the items into DynamoDB JSON and declares one TableItem per item: each config and its
downstream-index edges, so a removed pipeline or a changed upstream takes its edges away at the next `pulumi up`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from handlers.interlock import schema

from . import stack_settings
from .stack_settings import PROJECT_ROOT, ConfigurationError, StackSettings

ARCHETYPE_DIR = os.path.join(PROJECT_ROOT, "archetypes")


class PipelineConfigurationError(ConfigurationError):
    """One or more pipeline files are invalid; each problem names its file and field."""

    heading = "invalid pipeline configuration"


def load_pipeline_items(directory: str, settings: StackSettings | None = None) -> list[dict[str, Any]]:
    """Validate every pipeline file (against the shipped archetypes and the stack's settings) and return their
    table items (`store.pipeline_items`: each config, then its downstream-index edges).

    An absent directory has no pipelines (they are registered some other way) and nothing to cross-check. Raises
    PipelineConfigurationError naming each file and field.
    """
    if not os.path.isdir(directory):
        return []
    from handlers.interlock import pipelines, store
    from handlers.interlock.models import ConfigError

    try:
        configs = pipelines.load_pipeline_files(directory, ARCHETYPE_DIR)
    except ConfigError as error:
        raise PipelineConfigurationError(error.problems) from None
    problems = stack_problems(configs, settings, directory) if settings else []
    if problems:
        raise PipelineConfigurationError(problems)
    return [item for config in configs.values() for item in store.pipeline_items(config.to_dict())]


def stack_problems(configs: dict[str, Any], settings: StackSettings, directory: str) -> list[str]:
    """What only the pipelines and the stack settings together show: an evaluator path while
    `interlock:evaluatorBaseUrl` is empty, a stack schedule naming a pipeline the directory does not have (its
    markers would start nothing), an `sla.maxDuration` the execution timeout ends first, and retries or monitoring
    that could outgrow the execution history."""
    from handlers.interlock import run_duration
    from handlers.interlock.evaluators import BUILTIN_PREFIX
    from handlers.interlock.models import did_you_mean
    from handlers.interlock.pipelines import is_absolute_url

    problems: list[str] = []
    numbers = {
        "evaluationWindow": settings.evaluation_window_seconds,
        "evaluationInterval": settings.evaluation_interval_seconds,
        "maxPollAttempts": settings.max_poll_attempts,
        "monitoringInterval": settings.monitoring_interval_seconds,
        "executionTimeout": settings.execution_timeout_seconds,
    }
    for path, config in configs.items():
        if not settings.evaluator_base_url:
            problems += [
                f"{path}: traits.{trait_type}.evaluator: {trait.evaluator!r} is a path relative to "
                "interlock:evaluatorBaseUrl, which is empty; set it or use an absolute URL"
                for trait_type, trait in config.traits.items()
                if trait.evaluator
                and not trait.evaluator.strip().startswith(BUILTIN_PREFIX)
                and not is_absolute_url(trait.evaluator)
            ]
        problems += _history_problems(path, config, numbers)
        max_duration = run_duration.limit(config)
        if max_duration and max_duration.total_seconds() >= settings.execution_timeout_seconds:
            problems.append(
                f"{path}: sla.maxDuration: {config.sla.max_duration} is not shorter than interlock:executionTimeout "
                f"({settings.execution_timeout_seconds}s), which ends the execution first (RUN_STUCK covers that)"
            )
    names = {config.name for config in configs.values()}
    problems += [
        f"interlock:schedules: [{index}].pipeline: {schedule.pipeline!r} is not a pipeline in {directory}; a "
        f"schedule starts only a pipeline of pipelinesDir{did_you_mean(schedule.pipeline, names)}"
        for index, schedule in enumerate(settings.schedules)
        if schedule.pipeline not in names
    ]
    return problems


def dynamodb_json(item: dict[str, Any]) -> str:
    """The item in DynamoDB's typed JSON (what TableItem expects), keys sorted so the text is stable."""
    from handlers.interlock import store

    return json.dumps(store.typed_item(item), sort_keys=True, default=str)


@dataclass
class PipelineRegistryArgs:
    table_name: pulumi.Input[str]
    pipelines_dir: str
    settings: StackSettings | None = None  # when given, the pipelines are cross-checked against it


class PipelineRegistry(pulumi.ComponentResource):
    """One aws.dynamodb.TableItem per pipeline config file and per downstream-index edge."""

    def __init__(self, name: str, args: PipelineRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:PipelineRegistry", name, None, opts)
        self.items = []
        for item in load_pipeline_items(args.pipelines_dir, args.settings):
            key = re.sub(r"[^A-Za-z0-9-]+", "-", f"{item[schema.PARTITION_KEY]}-{item[schema.SORT_KEY]}").strip("-")
            self.items.append(
                aws.dynamodb.TableItem(
                    f"{name}-{key.lower()}",
                    table_name=args.table_name,
                    hash_key=schema.PARTITION_KEY,
                    range_key=schema.SORT_KEY,
                    item=dynamodb_json(item),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.register_outputs({"count": len(self.items)})


def _history_problems(path: str, config: Any, numbers: dict[str, int]) -> list[str]:
    """Every attempt the pipeline's retry allows, then its monitoring, must fit one execution's history."""
    from handlers.interlock.durations import parse_duration

    duration = config.watch.monitoring.duration if config.monitoring_enabled else ""
    attempts = config.retry_policy.max_attempts
    events = stack_settings.execution_history_events(numbers, attempts, parse_duration(duration) if duration else 0)
    if events + stack_settings.HISTORY_RESERVE <= stack_settings.HISTORY_EVENT_LIMIT:
        return []
    return [
        f"{path}: {'watch.monitoring.duration' if duration else 'retry.maxAttempts'}: {attempts} attempt(s) and "
        f"{duration or 'no'} monitoring with this stack's evaluationWindow, evaluationInterval, maxPollAttempts and "
        f"monitoringInterval can write {events} history events in one execution; Step Functions fails an execution "
        f"at {stack_settings.HISTORY_EVENT_LIMIT} (keep {stack_settings.HISTORY_RESERVE} for the rest): lower "
        "retry.maxAttempts, shorten the monitoring or lengthen interlock:monitoringInterval"
    ]
