"""Interlock's Pulumi program: typed settings in, one InterlockStack, the outputs operators and scripts use."""

import pulumi

from components.stack import InterlockStack
from components.stack_settings import settings_from_pulumi_config

settings = settings_from_pulumi_config()
stack = InterlockStack(settings.project_name, settings)

pulumi.export("tableName", stack.table.name)
pulumi.export("alertTopicArn", stack.alerts.arn)
pulumi.export("stateMachineArn", stack.state_machine.arn)
pulumi.export("functionNames", stack.function_names)
pulumi.export("dataBucket", stack.bucket.name if stack.bucket else "")
pulumi.export("dashboardUrl", stack.dashboard.url)
