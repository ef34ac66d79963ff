"""Job-events Lambda: a job service's state-change event (Glue, EMR, EMR Serverless, Step Functions, delivered by the
stack's EventBridge rules) resumes the execution waiting for that job run, once (DESIGN §10.3).

Input: the EventBridge event; output `{result}`, what was done (`resumed`, `recorded`, `duplicate`, `ignored: ...`).
"""

from __future__ import annotations

from .interlock import invocation
from .interlock.log import logger
from .interlock.triggers.job_completion import deliver


def handler(event, context):
    event = invocation.fields(event)
    result = deliver(event)
    logger().info("job event handled", extra={"result": result, "source": invocation.text(event, "source")})
    return {"result": result}
