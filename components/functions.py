"""The Lambda functions: one code package (zip + dependency layer), one role, policy and log group per function.

Each function is described by its record (function_records.py). CoreFunctions builds the ones the state machine
calls; stream-router is built by components/marker_stream.py with the same `LambdaFunction` building block, after
the state machine it starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import packaging
from .function_records import CORE_FUNCTIONS, STATE_MACHINE_TASKS, FunctionInputs, FunctionRecord
from .service_role import ServiceRoleArgs, service_role
from .stack_settings import PROJECT_ROOT

BUILD_DIR = os.path.join(PROJECT_ROOT, "build")
REQUIREMENTS = os.path.join(PROJECT_ROOT, "handlers", "requirements.txt")


@dataclass
class FunctionPackageArgs:
    layer_name: str
    runtime: str  # e.g. "python3.12"
    architecture: str  # "arm64" or "x86_64"


class FunctionPackage(pulumi.ComponentResource):
    """The code zip every function runs and the layer of its third-party dependencies, both built here.

    The zip and the layer file are built while the program runs (not inside an apply): deterministic, and the
    layer is cached under build/ (see packaging.py).
    """

    def __init__(self, name: str, args: FunctionPackageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:FunctionPackage", name, None, opts)
        python_version = args.runtime.removeprefix("python")
        self.code_path = packaging.build_code_archive(PROJECT_ROOT, BUILD_DIR, python_version)
        self.code_hash = packaging.source_code_hash(self.code_path)
        layer_path = packaging.build_dependency_layer(REQUIREMENTS, args.architecture, python_version, BUILD_DIR)
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-layer",
            layer_name=args.layer_name,
            description="Third-party runtime dependencies of the Interlock functions (handlers/requirements.txt)",
            code=pulumi.FileArchive(layer_path),
            source_code_hash=packaging.source_code_hash(layer_path),
            compatible_runtimes=[args.runtime],
            compatible_architectures=[args.architecture],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.layer_arn = self.layer.arn
        self.register_outputs({"codeHash": self.code_hash, "layerArn": self.layer_arn})


@dataclass
class RuntimeArgs:
    """What every function shares: code, layer, runtime settings and environment."""

    code_path: str
    code_hash: str
    layer_arn: pulumi.Input[str]
    runtime: str
    architecture: str
    memory: int
    timeout: int
    log_retention_days: int
    account_id: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]


@dataclass
class FunctionsArgs:
    """What every function of the stack gets: its name prefix, runtime, and the resources its policy may name."""

    project_name: str
    runtime: RuntimeArgs
    inputs: FunctionInputs


@dataclass
class LambdaFunctionArgs:
    record: FunctionRecord
    functions: FunctionsArgs


class LambdaFunction(pulumi.ComponentResource):
    """One function with its own role (least-privilege inline policy) and its own log group."""

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:LambdaFunction", name, None, opts)
        runtime, record, inputs = args.functions.runtime, args.record, args.functions.inputs
        function_name = f"{args.functions.project_name}-{record.kind}"
        access = service_role(
            name,
            ServiceRoleArgs(
                role_name=function_name,
                service="lambda.amazonaws.com",
                account_id=runtime.account_id,
                statements=record.policy_statements(inputs),
                log_group_name=f"/aws/lambda/{function_name}",
                log_retention_days=runtime.log_retention_days,
                writes_own_logs=True,
            ),
            parent=self,
        )
        self.log_group, self.role, self.policy = access.log_group, access.role, access.policy
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            role=self.role.arn,
            runtime=runtime.runtime,
            handler=record.handler,
            architectures=[runtime.architecture],
            memory_size=runtime.memory,
            timeout=runtime.timeout,
            code=pulumi.FileArchive(runtime.code_path),
            source_code_hash=runtime.code_hash,
            layers=[runtime.layer_arn],
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={**runtime.environment, **record.environment(inputs)}
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.policy]),
        )
        self.name = self.function.name
        self.arn = self.function.arn
        self.register_outputs({"name": self.name, "arn": self.arn, "roleArn": self.role.arn})


class CoreFunctions(pulumi.ComponentResource):
    """The lifecycle's functions (function_records.CORE_FUNCTIONS): the ones the state machine calls and the
    evaluator the orchestrator calls, each with its own role."""

    def __init__(self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("interlock:index:CoreFunctions", name, None, opts)
        self.functions: dict[str, LambdaFunction] = {}
        for record in CORE_FUNCTIONS:
            self.functions[record.kind] = LambdaFunction(
                f"{name}-{record.kind}", LambdaFunctionArgs(record, args), opts=pulumi.ResourceOptions(parent=self)
            )
        self.register_outputs({kind: function.arn for kind, function in self.functions.items()})

    def arns_by_placeholder(self) -> dict[str, pulumi.Output[str]]:
        """Each function's ARN under the placeholder the state machine definition uses for it."""
        return {record.state_machine_placeholder: self.functions[record.kind].arn for record in STATE_MACHINE_TASKS}
