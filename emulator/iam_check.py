"""Does each function's role allow what its handler actually did? A check only the emulator can make.

moto does not evaluate IAM, so a missing permission would stay invisible until the first real deployment fails
with AccessDenied. The Lambda runtime records every AWS API call a handler makes (a botocore hook; the calling
thread says which function is running). This module maps each call to its IAM action and, where the request names
it, its resource ARN, and evaluates the role's policies for it: Allow statements whose Action and Resource patterns
match, unless a Deny statement matches. Conditions are not evaluated (they only narrow a grant, so a call reported
allowed here may still be denied by one; a call reported denied is denied).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import urllib.parse
from collections.abc import Iterable
from typing import Any

# API operations whose IAM action has another name.
_ACTION_NAMES = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("lambda", "Invoke"): "lambda:InvokeFunction",
}


@dataclasses.dataclass(frozen=True)
class ApiCall:
    """One AWS API call a handler made: which function, which IAM action, on which resource (None: not derivable)."""

    function: str
    action: str
    resource: str | None


def api_call(function: str, prefix: str, operation: str, params: dict, region: str, account: str) -> ApiCall:
    """Describe a call from botocore's view of it (the service's signing name, the operation, its parameters)."""
    action = _ACTION_NAMES.get((prefix, operation), f"{prefix}:{operation}")
    return ApiCall(function, action, _resource(prefix, params, region, account))


def _resource(prefix: str, params: dict, region: str, account: str) -> str | None:
    if prefix == "dynamodb" and params.get("TableName"):
        table = f"arn:aws:dynamodb:{region}:{account}:table/{params['TableName']}"
        return f"{table}/index/{params['IndexName']}" if params.get("IndexName") else table
    if prefix == "sns":
        return params.get("TopicArn")
    if prefix == "states":
        return params.get("stateMachineArn") or params.get("executionArn")
    if prefix == "lambda" and params.get("FunctionName"):
        name = params["FunctionName"]
        return name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
    if prefix == "sqs" and params.get("QueueUrl"):
        return f"arn:aws:sqs:{region}:{account}:{params['QueueUrl'].rstrip('/').rsplit('/', 1)[-1]}"
    if prefix == "s3" and params.get("Bucket"):
        return f"arn:aws:s3:::{params['Bucket']}" + (f"/{params['Key']}" if params.get("Key") else "")
    if prefix == "secretsmanager" and str(params.get("SecretId", "")).startswith("arn:"):
        return params["SecretId"]
    return None


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches(patterns: Iterable[str], value: str, case_sensitive: bool) -> bool:
    if case_sensitive:
        return any(fnmatch.fnmatchcase(value, p) for p in patterns)
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _statement_applies(statement: dict, call: ApiCall) -> bool:
    if "Action" in statement and not _matches(_list(statement["Action"]), call.action, case_sensitive=False):
        return False
    if "NotAction" in statement and _matches(_list(statement["NotAction"]), call.action, case_sensitive=False):
        return False
    if call.resource is None:
        return True  # the action is granted on some resource; which one cannot be told from the request
    if "Resource" in statement and not _matches(_list(statement["Resource"]), call.resource, case_sensitive=True):
        return False
    if "NotResource" in statement and _matches(_list(statement["NotResource"]), call.resource, case_sensitive=True):
        return False
    return True


def allowed(documents: Iterable[dict], call: ApiCall) -> bool:
    """Whether the policy documents allow the call (an explicit Deny wins)."""
    statements = [s for d in documents for s in _list_statements(d)]
    if any(s.get("Effect") == "Deny" and _statement_applies(s, call) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _statement_applies(s, call) for s in statements)


def _list_statements(document: dict) -> list[dict]:
    statement = document.get("Statement", [])
    return [statement] if isinstance(statement, dict) else list(statement)


def role_documents(iam: Any, role_arn: str) -> list[dict]:
    """Every policy document of a role: inline policies and attached managed policies."""
    name = role_arn.rsplit("/", 1)[-1]
    documents = []
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        documents.append(_document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]))
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]
        documents.append(_document(document["Document"]))
    return documents


def _document(document: Any) -> dict:
    if isinstance(document, dict):
        return document
    return json.loads(urllib.parse.unquote(document))
