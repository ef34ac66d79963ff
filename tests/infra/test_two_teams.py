"""Two teams in one account: disjoint physical names, and each team's IAM reaches only its own resources."""

from __future__ import annotations

import json

import pytest

from tests.infra.conftest import REQUIRED
from tests.infra.harness import run_program_full

NAME_INPUTS = ("name", "bucket", "layerName")


@pytest.fixture(scope="module")
def teams():
    return {
        team: run_program_full(
            {**REQUIRED, "projectName": team, "dataBucketName": f"{team}-interlock-data"}, stack=f"{team}-dev"
        )
        for team in ("team-a", "team-b")
    }


def physical_names(run) -> set[str]:
    names = set()
    for resource in run.resources:
        if resource.type.startswith("interlock:") or resource.type == "aws:iam/rolePolicy:RolePolicy":
            continue  # components are logical only; inline policy names are scoped by their role
        names |= {str(resource.inputs[key]) for key in NAME_INPUTS if key in resource.inputs}
    return names


def test_physical_names_are_disjoint_and_prefixed(teams):
    a, b = physical_names(teams["team-a"]), physical_names(teams["team-b"])
    assert len(a) >= 25 and not a & b
    for team, names in (("team-a", a), ("team-b", b)):
        for name in names:
            assert name.startswith(
                (team, f"/aws/lambda/{team}-", f"/aws/vendedlogs/states/{team}-", f"alias/{team}-")
            ), name


def test_each_teams_iam_is_scoped_to_its_own_resources(teams):
    for team, other in (("team-a", "team-b"), ("team-b", "team-a")):
        run = teams[team]
        own_arns = {resource.outputs["arn"] for resource in run.resources if "arn" in resource.outputs}
        for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
            document = json.loads(policy.inputs["policy"])
            for statement in document["Statement"]:
                resources = statement["Resource"]
                for arn in [resources] if isinstance(resources, str) else resources:
                    assert other not in arn, f"{team} policy {policy.name} reaches {arn}"
                    if arn != "*":
                        base = arn.removesuffix(":*").removesuffix(":*").removesuffix("/*")
                        base = base.replace(":execution:", ":stateMachine:").replace(":express:", ":stateMachine:")
                        for sub_path in ("/index", "/stream", "/alerts"):
                            base = base.removesuffix(sub_path)
                        assert base in own_arns, f"{team} policy {policy.name}: {arn} is not this stack's"
        exports = run.exports
        assert exports["tableName"] == team and team in exports["stateMachineArn"]
        assert exports["alertTopicArn"].endswith(f":{team}-alerts")
