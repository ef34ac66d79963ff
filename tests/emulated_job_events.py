"""Glue jobs completed by event on the emulator: the stack's rule and function for their events, and the job run an
execution waits for."""

import json
import time

RULE = "interlock-emu-job-events"


def declare_job_events_rule(emu) -> None:
    """The stack's EventBridge rule for Glue job events and its job-events function, where the program does not
    deploy them (they belong to components/): the same pattern and target, the function made from the deployed code
    zip with the run-checker's role and environment. A no-op where the program deploys them."""
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


def armed_job_run(emu, job: str, timeout_s: float = 30) -> str:
    """The run ID of the Glue job `job`'s run that an execution waits for, once its wait is armed (its task token
    stored on the job run's item)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = emu.client("dynamodb").scan(
            TableName=emu.table_name,
            FilterExpression="begins_with(PK, :job) AND attribute_exists(taskToken)",
            ExpressionAttributeValues={":job": {"S": emu.store.job_run_pk("glue", (job, ""))}},
            ConsistentRead=True,
        )["Items"]
        if items:
            return items[0]["PK"]["S"].rsplit("#", 1)[-1]
        time.sleep(0.1)
    raise TimeoutError(f"no execution armed a wait for a run of {job}")
