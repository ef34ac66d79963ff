"""InterlockStack: the whole deployment of DESIGN §4, wired in dependency order.

table, topic, bucket -> function package (code zip + layer) -> core functions -> state machine -> stream-router,
the execution-end rule with its reconciler and the job-end rules with job-events (all need the state machine ARN)
-> the watchdog, the schedules (markers and the watchdog's), pipelines as code -> alarms, dashboard.
"""

from __future__ import annotations

import dataclasses
import os

import pulumi
import pulumi_aws as aws

from . import asl
from .alarms import Alarms, AlarmsArgs
from .alert_topic import AlertTopic, AlertTopicArgs
from .dashboard import Dashboard, DashboardArgs
from .data_bucket import DataBucket, DataBucketArgs
from .execution_events import ExecutionEvents, ExecutionEventsArgs
from .function_records import EVALUATOR, FunctionInputs
from .functions import CoreFunctions, FunctionPackage, FunctionPackageArgs, FunctionsArgs, RuntimeArgs
from .job_end_rules import JobEvents, JobEventsArgs
from .marker_stream import StreamRouter, StreamRouterArgs
from .pipeline_registry import PipelineRegistry, PipelineRegistryArgs
from .schedules import Schedules, SchedulesArgs
from .stack_settings import PROJECT_ROOT, StackSettings
from .state_machine import PipelineStateMachine, StateMachineArgs
from .table import InterlockTable, TableArgs
from .watchdog_function import Watchdog, WatchdogArgs


def function_environment(
    settings: StackSettings, table_name: pulumi.Input[str], topic_arn: pulumi.Input[str], bucket_name: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """The environment every function receives (a record may add its own, see function_records.py)."""
    return {
        "TABLE_NAME": table_name,
        "SNS_TOPIC_ARN": topic_arn,
        "ARCHETYPE_DIR": settings.archetype_dir,
        "READINESS_TTL_SECONDS": str(settings.readiness_ttl_seconds),
        "RETENTION_TTL_SECONDS": str(settings.retention_ttl_seconds),
        "EVALUATOR_BASE_URL": settings.evaluator_base_url,
        "DATA_BUCKET": bucket_name,
        "INTERLOCK_ALLOWED_NETWORKS": ",".join(settings.allowed_networks),
        "INTERLOCK_DRY_RUN": "true" if settings.dry_run else "false",
        "POWERTOOLS_SERVICE_NAME": settings.project_name,
        "LOG_LEVEL": settings.log_level,
    }


class InterlockStack(pulumi.ComponentResource):
    """Everything one team's stack deploys; every physical name starts with the projectName."""

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:InterlockStack", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region

        self.table = InterlockTable(
            f"{name}-data",
            TableArgs(
                table_name=settings.table_name,
                deletion_protection=settings.deletion_protection,
                point_in_time_recovery=settings.point_in_time_recovery,
                kms_key_arn=settings.kms_key_arn,
            ),
            child,
        )
        self.alerts = AlertTopic(
            f"{name}-alerts",
            AlertTopicArgs(
                topic_name=settings.sns_topic_name,
                alias_name=f"alias/{settings.resource_name('alerts')}",
                account_id=account_id,
                kms_key_arn=settings.kms_key_arn,
                subscriptions=settings.alert_subscriptions,
                name_prefix=settings.project_name,
                alarm_arn_prefix=pulumi.Output.concat(
                    "arn:aws:cloudwatch:", region, ":", account_id, ":alarm:", settings.resource_name("")
                ),
            ),
            child,
        )
        self.bucket = (
            DataBucket(
                f"{name}-bucket",
                DataBucketArgs(
                    bucket_name=settings.data_bucket_name,
                    kms_key_arn=settings.kms_key_arn,
                ),
                child,
            )
            if settings.data_bucket_name
            else None
        )
        bucket_name = self.bucket.name if self.bucket else ""

        self.package = FunctionPackage(
            f"{name}-package",
            FunctionPackageArgs(
                layer_name=settings.resource_name("dependencies"),
                runtime=settings.python_runtime,
                architecture=settings.architecture,
            ),
            child,
        )
        runtime = RuntimeArgs(
            code_path=self.package.code_path,
            code_hash=self.package.code_hash,
            layer_arn=self.package.layer_arn,
            runtime=settings.python_runtime,
            architecture=settings.architecture,
            memory=settings.lambda_memory,
            timeout=settings.lambda_timeout,
            log_retention_days=settings.log_retention_days,
            account_id=account_id,
            environment=function_environment(settings, self.table.name, self.alerts.arn, bucket_name),
        )
        inputs = FunctionInputs(
            table_arn=self.table.arn,
            topic_arn=self.alerts.arn,
            topic_key_arn=self.alerts.key_arn,
            bucket_arn=self.bucket.arn if self.bucket else None,
            secret_arns=settings.secret_arns,
            evaluator_bucket_arns=settings.evaluator_bucket_arns,
            trigger_permissions=settings.trigger_permissions,
            state_machine_name=settings.resource_name("pipeline"),
            evaluator_function_name=settings.resource_name(EVALUATOR.kind),
        )
        functions = FunctionsArgs(project_name=settings.project_name, runtime=runtime, inputs=inputs)
        self.functions = CoreFunctions(f"{name}-functions", functions, child)
        self.state_machine = PipelineStateMachine(
            f"{name}-lifecycle",
            StateMachineArgs(
                state_machine_name=inputs.state_machine_name,
                role_name=settings.resource_name("states"),
                function_arns=self.functions.arns_by_placeholder(),
                topic_arn=self.alerts.arn,
                knob_values=asl.knob_values(settings),
                topic_key_arn=self.alerts.key_arn,
                log_retention_days=settings.log_retention_days,
                account_id=account_id,
            ),
            child,
        )
        after_machine = dataclasses.replace(
            functions, inputs=dataclasses.replace(inputs, state_machine_arn=self.state_machine.arn)
        )
        self.stream_router = StreamRouter(
            f"{name}-stream", StreamRouterArgs(functions=after_machine, stream_arn=self.table.stream_arn), child
        )
        self.execution_events = ExecutionEvents(
            f"{name}-execution-events",
            ExecutionEventsArgs(functions=after_machine, state_machine_arn=self.state_machine.arn),
            child,
        )
        self.job_events = JobEvents(f"{name}-job-events", JobEventsArgs(functions=after_machine), child)
        watchdog = WatchdogArgs(after_machine, settings.execution_timeout_seconds, settings.schedules)
        self.watchdog = Watchdog(f"{name}-watchdog", watchdog, child)
        self.schedules = Schedules(
            f"{name}-schedules",
            SchedulesArgs(
                project_name=settings.project_name,
                table_name=self.table.name,
                table_arn=self.table.arn,
                account_id=account_id,
                schedules=settings.schedules,
                watchdog_arn=self.watchdog.function.arn,
                watchdog_interval_seconds=settings.watchdog_interval_seconds,
            ),
            child,
        )
        self.pipelines = PipelineRegistry(
            f"{name}-pipelines",
            PipelineRegistryArgs(
                table_name=self.table.name,
                pipelines_dir=os.path.join(PROJECT_ROOT, settings.pipelines_dir),
                settings=settings,
            ),
            child,
        )
        names_by_kind = {
            **{kind: fn.name for kind, fn in self.functions.functions.items()},
            "stream-router": self.stream_router.function.name,
            "reconciler": self.execution_events.function.name,
            "job-events": self.job_events.function.name,
            "watchdog": self.watchdog.function.name,
        }
        self.alarms = Alarms(
            f"{name}-alarms",
            AlarmsArgs(
                project_name=settings.project_name,
                topic_arn=self.alerts.arn,
                # the stream-router's failures show as iterator age and dead-letter queue depth instead of errors
                function_names={kind: fn for kind, fn in names_by_kind.items() if kind != "stream-router"},
                stream_router_name=self.stream_router.function.name,
                state_machine_arn=self.state_machine.arn,
                dead_letter_queue_name=self.stream_router.dead_letter_queue.name,
                rule_names=[self.execution_events.rule_name, *self.job_events.rule_names],
            ),
            child,
        )
        self.dashboard = Dashboard(
            f"{name}-dashboard",
            DashboardArgs(
                dashboard_name=settings.project_name,
                region=region,
                service=settings.project_name,
                function_names=names_by_kind,
                state_machine_arn=self.state_machine.arn,
                dead_letter_queue_name=self.stream_router.dead_letter_queue.name,
            ),
            child,
        )

        self.function_names = pulumi.Output.from_input(names_by_kind)
        self.register_outputs(
            {
                "tableName": self.table.name,
                "alertTopicArn": self.alerts.arn,
                "stateMachineArn": self.state_machine.arn,
                "functionNames": self.function_names,
                "dataBucket": bucket_name,
                "dashboardUrl": self.dashboard.url,
            }
        )
