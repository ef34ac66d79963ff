"""Run the real Pulumi program (__main__.py) under Pulumi's mocks (emulator.program.run_program, as the CLI would:
Pulumi.yaml's defaults, the repository as cwd) and return everything it registered.

    resources = run_program({"projectName": "team-a"}, stack="dev")

`config` holds bare `interlock:` keys (plain Python values; structures are passed as JSON like the CLI does) and
may hold namespaced keys such as "aws:region". Mocks run with preview=False, so every output the program or a
test reads is resolved; `RecordingMocks` answers each resource with its inputs plus the outputs AWS would compute
(arn, name, id, streamArn, ...) and can delegate to another Mocks (the emulator creates each resource in moto).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor

from emulator.program import run_program as run_pulumi_program

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class Resource:
    """One registered resource: its type token, logical name, inputs and the outputs the mocks returned."""

    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)  # logical names of explicit depends_on + input deps
    parent: str = ""  # logical name of the parent component


@dataclass
class ProgramRun:
    resources: list[Resource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[Resource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def named(self, name: str) -> Resource:
        (match,) = [resource for resource in self.resources if resource.name == name]
        return match


def _computed_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """The outputs AWS computes for the resource types the program creates."""
    physical = inputs.get("name") or inputs.get("bucket") or inputs.get("layerName") or name
    service_arn = {
        "aws:dynamodb/table:Table": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{physical}",
        "aws:sns/topic:Topic": f"arn:aws:sns:{region}:{ACCOUNT_ID}:{physical}",
        "aws:sqs/queue:Queue": f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{physical}",
        "aws:iam/role:Role": f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}",
        "aws:cloudwatch/logGroup:LogGroup": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}",
        "aws:lambda/function:Function": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{physical}",
        "aws:lambda/layerVersion:LayerVersion": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:layer:{physical}:1",
        "aws:sfn/stateMachine:StateMachine": f"arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:{physical}",
        "aws:s3/bucket:Bucket": f"arn:aws:s3:::{physical}",
        "aws:scheduler/scheduleGroup:ScheduleGroup": (
            f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule-group/{physical}"
        ),
        "aws:scheduler/schedule:Schedule": f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/{physical}",
        "aws:cloudwatch/metricAlarm:MetricAlarm": f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{physical}",
        "aws:cloudwatch/eventRule:EventRule": f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{physical}",
    }
    outputs: dict[str, Any] = {"name": physical}
    if type_token in service_arn:
        outputs["arn"] = service_arn[type_token]
    if type_token == "aws:dynamodb/table:Table":
        outputs["streamArn"] = f"{outputs['arn']}/stream/2026-11-28T00:00:00.000"
    if type_token == "aws:sqs/queue:Queue":
        outputs["url"] = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}"
    if type_token == "aws:s3/bucket:Bucket":
        outputs["bucket"] = physical
    if type_token == "aws:lambda/layerVersion:LayerVersion":
        outputs["layerArn"] = outputs["arn"].rsplit(":", 1)[0]
    if type_token == "aws:kms/key:Key":
        outputs["keyId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        outputs["arn"] = f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{outputs['keyId']}"
    if type_token == "aws:kms/alias:Alias":
        outputs["arn"] = f"arn:aws:kms:{region}:{ACCOUNT_ID}:{physical}"
    return outputs


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like AWS would and records every resource; `delegate` (another Mocks) may supply id and outputs."""

    def __init__(self, region: str = REGION, delegate: pulumi.runtime.Mocks | None = None):
        self.region = region
        self.delegate = delegate
        self.resources: list[Resource] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {**args.inputs, **_computed_outputs(args.typ, args.name, args.inputs, self.region)}
        resource_id = outputs.get("name") or args.name
        if args.typ == "aws:s3/bucket:Bucket":
            resource_id = outputs["bucket"]
        if args.typ == "aws:kms/key:Key":
            resource_id = outputs["keyId"]
        if self.delegate is not None:
            delegate_id, delegate_outputs = self.delegate.new_resource(args)
            resource_id = delegate_id or resource_id
            outputs.update(delegate_outputs or {})
        outputs.setdefault("id", resource_id)
        self.resources.append(Resource(args.typ, args.name, resource_id, dict(args.inputs), dict(outputs)))
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if self.delegate is not None:
            answer = self.delegate.call(args)
            if answer:
                return answer
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/test",
                "userId": "TEST",
                "id": ACCOUNT_ID,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        raise NotImplementedError(f"the program made an unexpected invoke: {args.token}")


class _DependencyRecordingMonitor(MockMonitor):
    """Keeps the dependencies and parent the engine would see for each registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: dict[str, tuple[list[str], str]] = {}

    def RegisterResource(self, request):
        names = [urn.rsplit("::", 1)[-1] for urn in request.dependencies]
        self.registrations[request.name] = (names, request.parent.rsplit("::", 1)[-1] if request.parent else "")
        return super().RegisterResource(request)


def run_program_full(
    config: dict[str, Any], stack: str = "dev", mocks: pulumi.runtime.Mocks | None = None, region: str = REGION
) -> ProgramRun:
    """Run __main__.py under mocks; returns the resources and the resolved stack exports.

    Exceptions of the program (invalid configuration, a bad pipeline file) propagate unchanged.
    """
    recorder = RecordingMocks(region=region, delegate=mocks)
    monitor = _DependencyRecordingMonitor(recorder)
    exports = run_pulumi_program(ROOT, {"aws:region": region, **config}, recorder, stack=stack, monitor=monitor)
    run = ProgramRun(resources=recorder.resources, exports=exports)
    for resource in run.resources:
        resource.dependencies, resource.parent = monitor.registrations.get(resource.name, ([], ""))
    return run


def run_program(
    config: dict[str, Any], stack: str = "dev", mocks: pulumi.runtime.Mocks | None = None
) -> list[Resource]:
    """Every resource the real program registers for this config (see module docstring)."""
    return run_program_full(config, stack, mocks).resources
