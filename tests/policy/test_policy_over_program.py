"""Every guardrail over every resource the real program (__main__.py) registers under mocks: all must pass.

Resource rules see a resource's inputs (what `pulumi preview --policy-pack policy` checks before creating it);
stack rules see inputs merged with the outputs the mocks computed (what the stack validation sees after an update).
"""

import glob
import os

import pytest
import yaml

from policy.guardrails import rules
from tests.infra.conftest import FULL_CONFIG, REQUIRED
from tests.infra.harness import ROOT, run_program

# at least one resource of each of these types must be present, or a rule would pass without checking anything
CHECKED_TYPES = {
    rules.TABLE,
    rules.ROLE_POLICY,
    rules.STATE_MACHINE,
    rules.TOPIC,
    rules.EVENT_SOURCE_MAPPING,
    rules.FUNCTION,
    rules.LOG_GROUP,
}


def stack_file_config(stack: str) -> dict:
    """The `config:` of Pulumi.<stack>.yaml, keyed as the harness expects (aws:region is the harness's own)."""
    with open(os.path.join(ROOT, f"Pulumi.{stack}.yaml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)["config"]
    return {key.removeprefix("interlock:"): value for key, value in config.items() if key != "aws:region"}


def violations(resources):
    found = [
        f"{resource.type} {resource.name}: {message}"
        for resource in resources
        for message in rules.resource_violations(resource.type, resource.inputs)
    ]
    stack = [
        rules.StackResource(resource.type, resource.name, {**resource.inputs, **resource.outputs})
        for resource in resources
    ]
    return found + rules.stack_violations(stack)


STACKS = sorted(
    os.path.basename(path)[len("Pulumi.") : -len(".yaml")] for path in glob.glob(os.path.join(ROOT, "Pulumi.*.yaml"))
)


@pytest.mark.parametrize(
    "name, config",
    [
        ("defaults", lambda: REQUIRED),
        ("every feature", lambda: FULL_CONFIG),
    ]
    + [(f"Pulumi.{stack}.yaml", lambda stack=stack: stack_file_config(stack)) for stack in STACKS],
)
def test_program_passes_every_guardrail(name, config):
    resources = run_program(config())
    assert {resource.type for resource in resources} >= CHECKED_TYPES
    assert violations(resources) == []


def test_every_committed_stack_file_is_checked():
    assert {"dev", "team-a-dev"} <= set(STACKS)


def test_the_full_program_also_has_a_bucket_for_the_bucket_rule():
    resources = run_program(FULL_CONFIG)
    assert any(resource.type in rules.BUCKETS for resource in resources)
    assert violations(resources) == []


def test_a_violation_in_the_program_would_be_reported():
    """The same check on a deliberately weakened copy of the real resources fails: the test above can fail."""
    resources = run_program(REQUIRED)
    table = next(resource for resource in resources if resource.type == rules.TABLE)
    table.inputs = {**table.inputs, "pointInTimeRecovery": {"enabled": False}}
    assert any("point-in-time recovery" in message for message in violations(resources))


def test_the_reconciler_and_its_rule_are_checked_like_the_rest():
    """The reconciler's role policy and log group go through the same rules: without its log group the stack fails."""
    resources = run_program(REQUIRED)
    names = {resource.inputs.get("name") for resource in resources}
    assert {"team-a-reconciler", "team-a-execution-ends", "/aws/lambda/team-a-reconciler"} <= names
    assert any(
        resource.type == rules.ROLE_POLICY and resource.inputs["role"] == "team-a-reconciler" for resource in resources
    )
    weakened = [resource for resource in resources if resource.inputs.get("name") != "/aws/lambda/team-a-reconciler"]
    assert any("team-a-reconciler" in message for message in violations(weakened))
