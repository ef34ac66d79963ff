"""Records a COMPLETED run log and answers with what it did; pipelines named `slow-*` take three seconds."""

import time

from .interlock import store


def handler(event, context):
    print(f"working on {event['pipelineID']}")
    if event["pipelineID"].startswith("slow-"):
        time.sleep(3)
    store.put_run_log(event["pipelineID"], event["date"], event["scheduleID"], "COMPLETED")
    return {"pipelineID": event["pipelineID"], "result": "proceed", "function": context.function_name}
