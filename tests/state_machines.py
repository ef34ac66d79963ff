"""State machines for tests that need one to exist (moto, or the emulator's moto): one that only waits."""

import json


def waiting_machine(sfn, name: str, seconds: int, role: str = "") -> str:
    """Creates, through the Step Functions client `sfn`, a machine whose one state waits `seconds` (its role named
    `role`, or like the machine); returns its ARN."""
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": seconds, "End": True}}}
    return sfn.create_state_machine(
        name=name, roleArn=f"arn:aws:iam::123456789012:role/{role or name}", definition=json.dumps(definition)
    )["stateMachineArn"]
