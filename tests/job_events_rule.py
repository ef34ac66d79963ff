"""The stack's EventBridge rule for Glue job events and its job-events function, on an emulator whose program does
not deploy them (the rule and the function belong to components/): the same pattern and target, the function made
from the deployed code zip with the run-checker's role and environment. A no-op where the program deploys them."""

import json

RULE = "interlock-emu-job-events"


def declare_job_events_rule(emu) -> None:
    try:
        emu.function_name("job-events")
        return
    except LookupError:
        pass
    import moto.awslambda.models as lambda_models

    from emulator.server import ACCOUNT_ID, region

    lam = emu.client("lambda")
    checker_name = emu.function_name("run-checker")
    checker = lambda_models.lambda_backends[ACCOUNT_ID][region()].get_function(checker_name)
    function_arn = lam.create_function(
        FunctionName=RULE,
        Runtime=checker.run_time,
        Role=checker.role,
        Handler="handlers/job_events.handler",
        Code={"ZipFile": checker.code_bytes},
        Environment={"Variables": emu.functions[checker_name]["Environment"]["Variables"]},
    )["FunctionArn"]
    events = emu.client("events")
    pattern = {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"]}
    rule_arn = events.put_rule(Name=RULE, EventPattern=json.dumps(pattern))["RuleArn"]
    lam.add_permission(
        FunctionName=function_arn,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
    events.put_targets(Rule=RULE, Targets=[{"Id": "job-events", "Arn": function_arn}])
