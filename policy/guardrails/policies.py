"""The rules of rules.py as Pulumi policies, every one MANDATORY (a violation fails preview and up)."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import rules


def resource_policy(rule: rules.ResourceRule) -> ResourceValidationPolicy:
    """A resource validation that runs one rule on the inputs of each resource of the rule's types."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in rule.resource_types:
            for message in rule.check(args.resource_type, args.props):
                report_violation(message, None)

    return ResourceValidationPolicy(
        name=rule.name, description=rule.description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


def stack_policy(rule: rules.StackRule) -> StackValidationPolicy:
    """A stack validation that runs one rule over all resources (their outputs), reporting each offender's URN."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            rules.StackResource(resource.resource_type, resource.name, resource.props, resource.urn)
            for resource in args.resources
        ]
        for resource, message in rule.check(resources):
            report_violation(message, resource.urn)

    return StackValidationPolicy(
        name=rule.name, description=rule.description, validate=validate, enforcement_level=EnforcementLevel.MANDATORY
    )


POLICIES = [resource_policy(rule) for rule in rules.RESOURCE_RULES] + [stack_policy(rule) for rule in rules.STACK_RULES]
