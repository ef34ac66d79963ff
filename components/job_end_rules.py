"""The stack's jobs' ends -> job-events: per job service the stack may start jobs of (a non-empty
`triggerPermissions` list), an EventBridge rule on that service's state-change events of those jobs in a terminal
state, its Lambda target and the permission that lets EventBridge invoke the function from that rule only.

Each rule names the configured jobs exactly (Glue job names, EMR cluster IDs, EMR Serverless application IDs, state
machine ARNs, taken from the ARNs): `triggerPermissions` accepts no wildcard ARN, so no rule matches by prefix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi

from .execution_events import RuleToFunctionArgs, rule_to_function
from .function_records import JOB_EVENTS
from .functions import FunctionsArgs, LambdaFunction, LambdaFunctionArgs

# EventBridge's default quota on an event pattern's size, in characters; more jobs than fit go to further rules.
PATTERN_LIMIT = 2048


def _resource_id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


@dataclass(frozen=True)
class JobService:
    """How one job service announces a job's state changes on EventBridge (the reference's event table)."""

    permissions: str  # the TriggerPermissions field listing the ARNs of the jobs the stack may start
    slug: str  # in the rule's name
    source: str
    detail_type: str
    job_field: str  # the detail field naming the job
    state_field: str
    terminal_states: tuple[str, ...]
    job_of: Callable[[str], str]  # the job_field value of a configured ARN


JOB_SERVICES = (
    JobService(
        "glue",
        "glue",
        "aws.glue",
        "Glue Job State Change",
        "jobName",
        "state",
        ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"),
        _resource_id,
    ),
    JobService(
        "emr",
        "emr",
        "aws.emr",
        "EMR Step Status Change",
        "clusterId",
        "state",
        ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"),
        _resource_id,
    ),
    JobService(
        "emr_serverless",
        "emr-serverless",
        "aws.emr-serverless",
        "EMR Serverless Job Run State Change",
        "applicationId",
        "state",
        ("SUCCESS", "FAILED", "CANCELLED"),
        _resource_id,
    ),
    JobService(
        "step_functions",
        "step-functions",
        "aws.states",
        "Step Functions Execution Status Change",
        "stateMachineArn",
        "status",
        ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"),
        lambda arn: arn,
    ),
)


def job_end_pattern(service: JobService, jobs: Sequence[str]) -> str:
    return json.dumps(
        {
            "source": [service.source],
            "detail-type": [service.detail_type],
            "detail": {service.job_field: list(jobs), service.state_field: list(service.terminal_states)},
        },
        sort_keys=True,
    )


def job_end_patterns(service: JobService, arns: Sequence[str]) -> list[str]:
    """The patterns of the service's rules for the jobs of `arns`: one rule unless they do not fit PATTERN_LIMIT."""
    patterns: list[str] = []
    jobs: list[str] = []
    for job in dict.fromkeys(service.job_of(arn) for arn in arns):
        if jobs and len(job_end_pattern(service, [*jobs, job])) > PATTERN_LIMIT:
            patterns.append(job_end_pattern(service, jobs))
            jobs = []
        jobs.append(job)
    return [*patterns, job_end_pattern(service, jobs)] if jobs else patterns


@dataclass
class JobEventsArgs:
    functions: FunctionsArgs  # its inputs name the state machine and the trigger permissions


class JobEvents(pulumi.ComponentResource):
    """The job-events function and the rules that deliver the ends of the stack's jobs to it."""

    def __init__(self, name: str, args: JobEventsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:JobEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.function = LambdaFunction(f"{name}-function", LambdaFunctionArgs(JOB_EVENTS, args.functions), child)
        permissions = args.functions.inputs.trigger_permissions
        self.rules = []
        self.rule_names: list[str] = []
        for service in JOB_SERVICES:
            for index, pattern in enumerate(job_end_patterns(service, getattr(permissions, service.permissions))):
                part = service.slug + (f"-{index + 1}" if index else "")
                self.rule_names.append(f"{args.functions.project_name}-job-ends-{part}")
                rule_args = RuleToFunctionArgs(
                    rule_name=self.rule_names[-1],
                    description=f"Terminal {service.detail_type} events of the jobs this stack may start",
                    event_pattern=pattern,
                    function=self.function,
                )
                self.rules.append(rule_to_function(f"{name}-{part}", rule_args, self))
        self.register_outputs({"functionName": self.function.name, "ruleArns": [rule.arn for rule in self.rules]})
