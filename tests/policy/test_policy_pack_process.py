"""The real policy pack entry point (policy/__main__.py), started as the Pulumi CLI starts it, spoken to over the
analyzer gRPC protocol the CLI uses: what the engine would see during `pulumi preview --policy-pack policy`.

The CLI itself is not involved (it cannot be installed here); the pack process, its policies and the SDK's analyzer
server are the real ones.
"""

import json
import os
import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policy.guardrails import rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pulumi.policy's runner does runpy.run_path(<pack dir>): the pack directory becomes sys.path[0]
LAUNCH = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


@pytest.fixture(scope="module")
def analyzer():
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, os.path.join(ROOT, "policy")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.poll() is not None else port
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def struct(props):
    message = struct_pb2.Struct()
    message.update(props)
    return message


def analyze(analyzer, resource_type: str, name: str, props: dict):
    """What the pack answers about one resource of this stack (as `pulumi preview` asks it)."""
    return analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=resource_type,
            name=name,
            urn=f"urn:pulumi:dev::interlock::{resource_type}::{name}",
            properties=struct(props),
        )
    )


def test_pack_announces_every_rule_as_mandatory(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "interlock-guardrails"
    expected = {rule.name for rule in rules.RESOURCE_RULES + rules.STACK_RULES}
    assert {policy.name for policy in info.policies} == expected
    assert {policy.enforcementLevel for policy in info.policies} == {analyzer_pb2.MANDATORY}


def test_resource_violation_is_reported_as_mandatory(analyzer):
    bad = analyze(
        analyzer,
        rules.TABLE,
        "table",
        {"pointInTimeRecovery": {"enabled": False}, "serverSideEncryption": {"enabled": True}},
    )
    assert [(d.policyName, d.enforcementLevel) for d in bad.diagnostics] == [
        ("dynamodb-table-pitr-and-encryption", analyzer_pb2.MANDATORY)
    ]
    assert "point-in-time recovery" in bad.diagnostics[0].message

    good = analyze(
        analyzer,
        rules.TABLE,
        "table",
        {"pointInTimeRecovery": {"enabled": True}, "serverSideEncryption": {"enabled": True}},
    )
    assert list(good.diagnostics) == []


def test_wildcard_in_a_role_policy_document_string_is_reported(analyzer):
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}
    )
    response = analyze(analyzer, rules.ROLE_POLICY, "p", {"role": "r", "policy": document})
    assert [d.policyName for d in response.diagnostics] == ["iam-no-wildcard-actions"]


def test_stack_violation_names_the_offending_resource(analyzer):
    function_urn = "urn:pulumi:dev::interlock::aws:lambda/function:Function::fn"
    response = analyzer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=rules.FUNCTION, name="fn", urn=function_urn, properties=struct({"name": "team-a-evaluator"})
                ),
                analyzer_pb2.AnalyzerResource(
                    type=rules.LOG_GROUP,
                    name="lg",
                    urn="urn:lg",
                    properties=struct({"name": "/aws/lambda/other", "retentionInDays": 7}),
                ),
            ]
        )
    )
    assert [(d.policyName, d.urn) for d in response.diagnostics] == [("lambda-log-group-retention", function_urn)]
