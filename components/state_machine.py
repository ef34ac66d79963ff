"""The lifecycle state machine: STANDARD, rendered from asl/pipeline.asl.json, logged to a vended-logs group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import asl, iam
from .service_role import ServiceRoleArgs, service_role


@dataclass
class StateMachineArgs:
    state_machine_name: str
    role_name: str
    function_arns: Mapping[str, pulumi.Input[str]]  # placeholder name -> core function ARN
    topic_arn: pulumi.Input[str]
    knob_values: Mapping[str, int | str]  # asl.knob_values(settings)
    topic_key_arn: pulumi.Input[str]  # the alert topic's KMS key
    log_retention_days: int
    account_id: pulumi.Input[str]


class PipelineStateMachine(pulumi.ComponentResource):
    """Its role may invoke exactly the functions the definition calls (orchestrator, trigger, run-checker), publish to
    the (encrypted) alert topic and deliver logs."""

    def __init__(self, name: str, args: StateMachineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:PipelineStateMachine", name, None, opts)
        access = service_role(
            name,
            ServiceRoleArgs(
                role_name=args.role_name,
                service="states.amazonaws.com",
                account_id=args.account_id,
                statements=[
                    iam.statement("InvokeCoreFunctions", ("lambda:InvokeFunction",), list(args.function_arns.values())),
                    iam.topic_statement(args.topic_arn),
                    iam.kms_statement(args.topic_key_arn),
                    iam.statement("DeliverExecutionLogs", iam.STATES_LOG_DELIVERY, "*"),
                ],
                log_group_name=f"/aws/vendedlogs/states/{args.state_machine_name}",
                log_retention_days=args.log_retention_days,
            ),
            parent=self,
        )
        self.log_group, self.role, self.policy = access.log_group, access.role, access.policy
        template = asl.load_template()
        arns = {**args.function_arns, "AlertTopicArn": args.topic_arn}
        names = list(arns)
        self.definition = pulumi.Output.all(*arns.values()).apply(
            lambda values: asl.render(template, dict(zip(names, values, strict=True)), args.knob_values)
        )
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-state-machine",
            name=args.state_machine_name,
            type="STANDARD",
            role_arn=self.role.arn,
            definition=self.definition,
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level="ERROR",
                include_execution_data=False,
                log_destination=pulumi.Output.concat(self.log_group.arn, ":*"),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )
        self.arn = self.state_machine.arn
        self.name = self.state_machine.name
        self.register_outputs({"arn": self.arn, "name": self.name})
