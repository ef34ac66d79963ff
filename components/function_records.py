"""One record per Lambda function: everything about it that differs from the other functions.

Adding a function the state machine calls is adding a record here (plus its handler module and its use in
asl/pipeline.asl.json): CoreFunctions builds it, the state machine's role may invoke it, the definition gets its
ARN, and an error alarm watches it. CoreFunctions also builds the evaluator, which the orchestrator invokes (not the
state machine). stream-router's record is built by StreamRouter, reconciler's by ExecutionEvents and watchdog's by
Watchdog: all need the state machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi

from . import iam
from .stack_settings import TriggerPermissions


@dataclass(frozen=True)
class FunctionInputs:
    """What a function's statements and environment may name: this stack's resources and the configured ARNs."""

    table_arn: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    topic_key_arn: pulumi.Input[str]  # the alert topic's KMS key (the configured kmsKeyArn when set)
    bucket_arn: pulumi.Input[str] | None  # the data bucket, when configured
    secret_arns: Sequence[str]
    evaluator_bucket_arns: Sequence[str]
    trigger_permissions: TriggerPermissions
    state_machine_name: str = ""  # known before the state machine exists
    evaluator_function_name: str = ""  # known before the evaluator exists (the orchestrator invokes it)
    state_machine_arn: pulumi.Input[str] | None = None  # known once the state machine exists
    dead_letter_queue_arn: pulumi.Input[str] | None = None  # stream-router's failed batches


@dataclass(frozen=True)
class FunctionRecord:
    kind: str  # physical name `<projectName>-<kind>`, logical name suffix
    module: str  # handlers/<module>.py exposes handler(event, context)
    table_actions: tuple[str, ...] = ()  # DynamoDB actions on the table
    queries_index: bool = False  # may also Query the table's indexes
    state_machine_placeholder: str = ""  # ${...} of its ARN in the definition; empty: not a state machine task
    core: bool = False  # built by CoreFunctions (the state machine's tasks and the evaluator)
    statements: Callable[[FunctionInputs], list[dict]] = lambda _inputs: []
    environment: Callable[[FunctionInputs], Mapping[str, pulumi.Input[str]]] = lambda _inputs: {}

    @property
    def handler(self) -> str:
        return f"handlers.{self.module}.handler"

    def policy_statements(self, inputs: FunctionInputs) -> list[dict]:
        """Every statement of its role but the log statement (see service_role)."""
        return iam.table_statements(self.table_actions, self.queries_index, inputs.table_arn) + self.statements(inputs)


def _publishes_alerts(inputs: FunctionInputs) -> list[dict]:
    return [
        iam.topic_statement(inputs.topic_arn),
        iam.kms_statement(inputs.topic_key_arn),
        *iam.bucket_statements(inputs.bucket_arn),
    ]


def _orchestrator(inputs: FunctionInputs) -> list[dict]:
    # acquireLock asks whether a lock's owner still runs; the ARN is built from the machine's name because the
    # machine's own ARN depends on this function
    executions = iam.own_state_machine_executions(inputs.table_arn, inputs.state_machine_name)
    # checkEvaluation and checkMonitoring evaluate the run's traits through the evaluator function
    evaluator = iam.own_function(inputs.table_arn, inputs.evaluator_function_name)
    return [
        *_publishes_alerts(inputs),
        iam.statement("DescribeLockOwners", ("states:DescribeExecution",), executions),
        iam.statement("EvaluateMonitoredTraits", ("lambda:InvokeFunction",), [evaluator]),
    ]


def _evaluator(inputs: FunctionInputs) -> list[dict]:
    readable = ([inputs.bucket_arn] if inputs.bucket_arn is not None else []) + list(inputs.evaluator_bucket_arns)
    return iam.secrets_statements(inputs.secret_arns) + iam.bucket_read_statements(readable)


def _trigger(inputs: FunctionInputs) -> list[dict]:
    return (
        _publishes_alerts(inputs)
        + iam.secrets_statements(inputs.secret_arns)
        + iam.trigger_statements(inputs.trigger_permissions)
    )


def _run_checker(inputs: FunctionInputs) -> list[dict]:
    # it arms a run's wait for its job and may find the job already ended: then it answers the wait itself
    machine = iam.own_state_machine(inputs.table_arn, inputs.state_machine_name)
    return [
        *iam.secrets_statements(inputs.secret_arns),
        *iam.run_checker_statements(inputs.trigger_permissions),
        iam.resume_waiting_runs_statement(machine),
    ]


def _job_events(inputs: FunctionInputs) -> list[dict]:
    return [iam.resume_waiting_runs_statement(inputs.state_machine_arn)]


def _stream_router(inputs: FunctionInputs) -> list[dict]:
    return [
        # the table's streams, not one stream label: re-enabling the stream changes the label
        iam.statement("ReadTableStream", iam.STREAM_READ, [pulumi.Output.concat(inputs.table_arn, "/stream/*")]),
        iam.statement("StartLifecycle", ("states:StartExecution",), [inputs.state_machine_arn]),
        # Lambda sends the on-failure record with the function's own role.
        iam.statement("SendFailedBatches", ("sqs:SendMessage",), [inputs.dead_letter_queue_arn]),
    ]


def _watchdog(inputs: FunctionInputs) -> list[dict]:
    # the owners of locks and stuck runs, reconciled when they ended as the reconciler would
    executions = iam.own_state_machine_executions(inputs.table_arn, inputs.state_machine_name)
    return [*_publishes_alerts(inputs), iam.statement("DescribeExecutions", ("states:DescribeExecution",), executions)]


FUNCTIONS = (
    FunctionRecord(
        "orchestrator",
        "orchestrator",
        iam.TABLE_READ + iam.TABLE_WRITE,
        queries_index=True,
        state_machine_placeholder="OrchestratorFunctionArn",
        core=True,
        statements=_orchestrator,
        environment=lambda inputs: {"EVALUATOR_FUNCTION": inputs.evaluator_function_name},
    ),
    FunctionRecord(
        "evaluator",
        "evaluator",
        ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"),
        core=True,  # invoked by the orchestrator's checkEvaluation and checkMonitoring
        statements=_evaluator,
    ),
    FunctionRecord(
        "trigger",
        "trigger",
        ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"),
        state_machine_placeholder="TriggerFunctionArn",
        core=True,
        statements=_trigger,
    ),
    FunctionRecord(
        "run-checker",
        "run_checker",
        ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),  # UpdateItem: a job run's wait (§10.3)
        state_machine_placeholder="RunCheckerFunctionArn",
        core=True,
        statements=_run_checker,
    ),
    FunctionRecord(
        "stream-router",
        "stream_router",
        statements=_stream_router,
        environment=lambda inputs: {"STATE_MACHINE_ARN": inputs.state_machine_arn},
    ),
    # on the machine's abnormal execution ends: release the lock, record the run log, alert (ExecutionEvents)
    FunctionRecord(
        "reconciler",
        "reconciler",
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
        statements=_publishes_alerts,
    ),
    # on the end of a job the stack started (a job service's state-change event): resume the run waiting for it
    FunctionRecord(
        "job-events",
        "job_events",
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
        statements=_job_events,
    ),
    # every watchdogInterval: missed schedules, deadlines without a run, stuck runs, dead owners' locks (Watchdog)
    FunctionRecord(
        "watchdog",
        "watchdog",
        ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", *iam.TABLE_WRITE),
        queries_index=True,
        statements=_watchdog,
        environment=lambda inputs: {"STATE_MACHINE_ARN": inputs.state_machine_arn},
    ),
)
CORE_FUNCTIONS = tuple(record for record in FUNCTIONS if record.core)
STATE_MACHINE_TASKS = tuple(record for record in FUNCTIONS if record.state_machine_placeholder)
EVALUATOR = next(record for record in FUNCTIONS if record.kind == "evaluator")
STREAM_ROUTER = next(record for record in FUNCTIONS if record.kind == "stream-router")
RECONCILER = next(record for record in FUNCTIONS if record.kind == "reconciler")
WATCHDOG = next(record for record in FUNCTIONS if record.kind == "watchdog")
JOB_EVENTS = next(record for record in FUNCTIONS if record.kind == "job-events")
