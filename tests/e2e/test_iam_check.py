"""The emulator's IAM check: API calls mapped to actions and resources, and evaluated against policy documents."""

from emulator.iam_check import ApiCall, allowed, api_call

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_calls_map_to_actions_and_resources():
    assert api_call(
        "f", "dynamodb", "Query", {"TableName": "t", "IndexName": "GSI1"}, "us-east-1", "123456789012"
    ) == ApiCall("f", "dynamodb:Query", f"{TABLE}/index/GSI1")
    assert api_call("f", "s3", "HeadObject", {"Bucket": "b", "Key": "k"}, "us-east-1", "1").action == "s3:GetObject"
    assert (
        api_call(
            "f", "sqs", "SendMessage", {"QueueUrl": "http://h/123456789012/q"}, "us-east-1", "123456789012"
        ).resource
        == "arn:aws:sqs:us-east-1:123456789012:q"
    )
    assert api_call("f", "glue", "StartJobRun", {"JobName": "j"}, "us-east-1", "1").resource is None
    assert api_call("f", "lambda", "Invoke", {"FunctionName": "g"}, "us-east-1", "1") == ApiCall(
        "f", "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:g"
    )


def test_allow_needs_a_matching_action_and_resource():
    document = policy({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Put*"], "Resource": TABLE})
    assert allowed([document], ApiCall("f", "dynamodb:PutItem", TABLE))
    assert allowed([document], ApiCall("f", "DynamoDB:getitem", TABLE))  # actions are case-insensitive
    assert not allowed([document], ApiCall("f", "dynamodb:DeleteItem", TABLE))
    assert not allowed([document], ApiCall("f", "dynamodb:GetItem", f"{TABLE}/index/GSI1"))
    assert not allowed([], ApiCall("f", "dynamodb:GetItem", TABLE))


def test_an_explicit_deny_wins_and_not_action_excludes():
    documents = [
        policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        policy({"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}),
    ]
    assert not allowed(documents, ApiCall("f", "dynamodb:DeleteItem", TABLE))
    assert allowed(documents, ApiCall("f", "dynamodb:GetItem", TABLE))
    except_sns = policy({"Effect": "Allow", "NotAction": "sns:*", "Resource": "*"})
    assert not allowed([except_sns], ApiCall("f", "sns:Publish", "arn:aws:sns:us-east-1:1:t"))


def test_a_call_without_a_named_resource_needs_the_action_somewhere():
    document = policy({"Effect": "Allow", "Action": "glue:StartJobRun", "Resource": "arn:aws:glue:*:*:job/j"})
    assert allowed([document], ApiCall("f", "glue:StartJobRun", None))
    assert not allowed([document], ApiCall("f", "glue:GetJobRun", None))
