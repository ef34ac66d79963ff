"""The Lambda functions: one code package (zip + dependency layer), one role, policy and log group per function.

The four core functions come from one table of specs (FUNCTION_SPECS); stream-router is built by
components/stream_router.py with the same `LambdaFunction` building block, after the state machine it starts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from . import iam, packaging
from .stack_settings import PROJECT_ROOT, TriggerPermissions

BUILD_DIR = os.path.join(PROJECT_ROOT, "build")
REQUIREMENTS = os.path.join(PROJECT_ROOT, "handlers", "requirements.txt")


@dataclass(frozen=True)
class FunctionSpec:
    kind: str       # resource-name suffix, e.g. "run-checker"
    module: str     # module under handlers/, e.g. "run_checker"

    @property
    def handler(self) -> str:
        return f"handlers.{self.module}.handler"


CORE_FUNCTIONS = (
    FunctionSpec("orchestrator", "orchestrator"),
    FunctionSpec("evaluator", "evaluator"),
    FunctionSpec("trigger", "trigger"),
    FunctionSpec("run-checker", "run_checker"),
)
STREAM_ROUTER = FunctionSpec("stream-router", "stream_router")


@dataclass
class FunctionPackageArgs:
    layer_name: str
    runtime: str         # e.g. "python3.12"
    architecture: str    # "arm64" or "x86_64"


class FunctionPackage(pulumi.ComponentResource):
    """The code zip every function runs and the layer of its third-party dependencies, both built here.

    The zip and the layer file are built while the program runs (not inside an apply): deterministic, and the
    layer is cached under build/ (see packaging.py).
    """

    def __init__(self, name: str, args: FunctionPackageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("interlock:index:FunctionPackage", name, None, opts)
        self.code_path = packaging.build_code_archive(PROJECT_ROOT, BUILD_DIR)
        self.code_hash = packaging.source_code_hash(self.code_path)
        layer_path = packaging.build_dependency_layer(
            REQUIREMENTS, args.architecture, args.runtime.removeprefix("python"), BUILD_DIR)
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
class LambdaFunctionArgs:
    function_name: str
    spec: FunctionSpec
    runtime: RuntimeArgs
    statements: Sequence[dict]
    extra_environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


class LambdaFunction(pulumi.ComponentResource):
    """One function with its own role (least-privilege inline policy) and its own log group."""

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("interlock:index:LambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        runtime = args.runtime
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.function_name}",
            retention_in_days=runtime.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.function_name,
            assume_role_policy=iam.assume_role_policy("lambda.amazonaws.com", runtime.account_id),
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name="least-privilege",
            role=self.role.id,
            policy=iam.policy_json([iam.log_statement(self.log_group.arn), *args.statements]),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            role=self.role.arn,
            runtime=runtime.runtime,
            handler=args.spec.handler,
            architectures=[runtime.architecture],
            memory_size=runtime.memory,
            timeout=runtime.timeout,
            code=pulumi.FileArchive(runtime.code_path),
            source_code_hash=runtime.code_hash,
            layers=[runtime.layer_arn],
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={**runtime.environment, **args.extra_environment}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.policy]),
        )
        self.name = self.function.name
        self.arn = self.function.arn
        self.register_outputs({"name": self.name, "arn": self.arn, "roleArn": self.role.arn})


@dataclass
class CoreFunctionsArgs:
    project_name: str
    runtime: RuntimeArgs
    table_arn: pulumi.Input[str]
    topic_arn: pulumi.Input[str]
    topic_key_arn: pulumi.Input[str]        # the alert topic's KMS key (the configured kmsKeyArn when set)
    bucket_arn: Optional[pulumi.Input[str]]
    secret_arns: Sequence[str]
    evaluator_bucket_arns: Sequence[str]
    trigger_permissions: TriggerPermissions


class CoreFunctions(pulumi.ComponentResource):
    """orchestrator, evaluator, trigger and run-checker, each with exactly the permissions of DESIGN §4."""

    def __init__(self, name: str, args: CoreFunctionsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("interlock:index:CoreFunctions", name, None, opts)
        self.functions: dict[str, LambdaFunction] = {}
        for spec in CORE_FUNCTIONS:
            self.functions[spec.kind] = LambdaFunction(
                f"{name}-{spec.kind}",
                LambdaFunctionArgs(
                    function_name=f"{args.project_name}-{spec.kind}",
                    spec=spec,
                    runtime=args.runtime,
                    statements=self._statements(spec.kind, args),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({kind: function.arn for kind, function in self.functions.items()})

    @staticmethod
    def _statements(kind: str, args: CoreFunctionsArgs) -> list[dict]:
        statements = iam.table_statements(kind, args.table_arn)
        if kind in ("orchestrator", "trigger"):
            statements += [iam.topic_statement(args.topic_arn), iam.kms_statement(args.topic_key_arn)]
            statements += iam.bucket_statements(args.bucket_arn)
        if kind in ("evaluator", "trigger", "run-checker"):
            statements += iam.secrets_statements(args.secret_arns)
        if kind == "evaluator":
            readable = ([args.bucket_arn] if args.bucket_arn is not None else []) + list(args.evaluator_bucket_arns)
            statements += iam.bucket_read_statements(readable)
        if kind == "trigger":
            statements += iam.trigger_statements(args.trigger_permissions)
        if kind == "run-checker":
            statements += iam.run_checker_statements(args.trigger_permissions)
        return statements
