"""A readable timeline of one execution: each top-level state with its start, duration and result."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any


@dataclasses.dataclass
class Step:
    state: str
    kind: str
    started: datetime.datetime
    ended: datetime.datetime | None = None
    outputs: list[Any] = dataclasses.field(default_factory=list)
    failed: str = ""

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds() if self.ended else 0.0


def steps(history: list[dict]) -> list[Step]:
    """Top-level states in order; a Map state carries its iterations' task outputs."""
    found: list[Step] = []
    current: Step | None = None
    in_map = False
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered") and not in_map:
            current = Step(event["stateEnteredEventDetails"]["name"], kind[: -len("StateEntered")], event["timestamp"])
            found.append(current)
            in_map = kind == "MapStateEntered"
        elif kind.endswith("StateExited") and current and event["stateExitedEventDetails"]["name"] == current.state:
            current.ended = event["timestamp"]
            in_map = False
        elif current and kind in ("LambdaFunctionSucceeded", "TaskSucceeded"):
            details = event.get("lambdaFunctionSucceededEventDetails") or event.get("taskSucceededEventDetails") or {}
            try:
                current.outputs.append(json.loads(details.get("output") or "null"))
            except ValueError:
                current.outputs.append(details.get("output"))
        elif current and kind in ("LambdaFunctionFailed", "TaskFailed", "ExecutionFailed"):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            current.failed = details.get("error") or "failed"
        if current and kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            current.ended = current.ended or event["timestamp"]
    return found


def describe(step: Step) -> str:
    """One short phrase for what the state decided or returned."""
    if step.failed:
        return f"error: {step.failed}"
    if step.kind == "Map":
        statuses = [o.get("status") for o in step.outputs if isinstance(o, dict)]
        return ", ".join(f"{o.get('traitType')}={o.get('status')}" for o in step.outputs if isinstance(o, dict)) or (
            f"{len(statuses)} iterations"
        )
    if step.kind == "Wait":
        return f"waited {step.seconds:.0f}s"
    if step.kind in ("Succeed", "Fail", "Choice", "Pass"):
        return {"Succeed": "end (nothing to do)", "Fail": "end (failed)"}.get(step.kind, "")
    output = step.outputs[-1] if step.outputs else None
    if not isinstance(output, dict):
        return "done" if output is not None else ""
    output = output.get("prepare", output)  # prepareRun answers the whole state document
    if "action" in output:  # orchestrator
        payload = output.get("payload") or {}
        facts = [
            f"{k}={payload[k]}"
            for k in (
                "breached",
                "ready",
                "reason",
                "blocking",
                "notified",
                "driftDetected",
                "expired",
                "attemptNumber",
                "retryable",
            )
            if k in payload
        ]
        evaluated = [  # checkEvaluation and checkMonitoring: the traits they had the evaluator evaluate
            f"{t.get('traitType')}={t.get('status')}" for t in payload.get("traitResults") or [] if isinstance(t, dict)
        ]
        return " ".join([output.get("result", "?"), *facts, *evaluated])
    if "runID" in output and "status" in output:  # trigger
        return f"{output['status']}" + (f" ({output['error']})" if output.get("error") else "")
    if "state" in output:  # run-checker
        return f"job {output['state']} (poll {output.get('attempt')})" + (
            f": {output['message']}" if output.get("state") == "failed" else ""
        )
    if "MessageId" in output:
        return "alert published"
    return "done"


def format_timeline(history: list[dict], skip_choices: bool = True) -> str:
    """The timeline as text: offset from the start, state, duration, result."""
    found = steps(history)
    if not found:
        return "(no states)"
    origin = history[0]["timestamp"]
    width = max(len(s.state) for s in found)
    lines = []
    for step in found:
        if skip_choices and step.kind == "Choice":
            continue
        offset = (step.started - origin).total_seconds()
        lines.append(f"  +{offset:6.2f}s  {step.state:<{width}}  {step.seconds:6.2f}s  {describe(step)}".rstrip())
    return "\n".join(lines)
