"""`python -m emulator serve`: the stack on the emulator as a server other processes use (the AWS CLI, boto3, the
`interlock` command, a notebook), until Ctrl-C or SIGTERM.

It deploys the program with a stack file's `interlock:` keys (over the emulator's defaults) and its `aws:region`,
a pipelines directory and, optionally, archetypes and calendars of one's own, on a fixed or given loopback port;
prints the lines to `export`; and keeps the stream pollers, event delivery and the Step Functions interpreter
running. Besides the AWS APIs, the port answers:

    GET  /_interlock/stack                    the stack: table, state machine, topic, schedule group, region, dry run
    POST /_interlock/schedules/<name>/fire    do what EventBridge Scheduler does when the schedule fires
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from typing import Any

import yaml

from .core import Emulator
from .server import CONTROL_PREFIX

DEFAULT_PORT = 8455
PROJECT = "interlock"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto accepts any


def stack_file_config(path: str) -> dict[str, Any]:
    """The stack file's `interlock:` keys (bare) and `aws:region`."""
    with open(path, encoding="utf-8") as handle:
        config = (yaml.safe_load(handle) or {}).get("config") or {}
    values: dict[str, Any] = {
        key[len(PROJECT) + 1 :]: value
        for key, value in config.items()
        if isinstance(key, str) and key.startswith(f"{PROJECT}:")
    }
    if config.get("aws:region"):
        values["aws:region"] = config["aws:region"]
    return values


def stack_document(emu: Emulator) -> dict[str, Any]:
    """What `interlock` needs to find the stack (the fields of interlock_cli.stack.StackRef). `dry_run` is what the
    deployed functions were told (INTERLOCK_DRY_RUN), so `interlock status` shows a stack-wide dry run."""
    trigger = emu.functions[emu.function_name("trigger")]["Environment"]["Variables"]
    return {
        "dry_run": trigger.get("INTERLOCK_DRY_RUN") == "true",
        "table": emu.table_name,
        "state_machine_arn": emu.state_machine_arn,
        "topic_arn": emu.topic_arn,
        "schedule_group": emu.stack_config["projectName"],
        "region": emu.region,
        "data_bucket": (emu.deployment.outputs.get("dataBucket") or "") if emu.deployment else "",
    }


def control_route(emu: Emulator):
    """The emulator's own routes (see the module docstring), for MotoServer.set_control."""

    def route(method: str, path: str, _body: bytes) -> tuple[int, Any]:
        if emu.deployment is None:
            return 503, {"error": "the stack is still being deployed"}
        if method == "GET" and path == "stack":
            return 200, stack_document(emu)
        fire = re.fullmatch(r"schedules/([0-9A-Za-z_.-]+)/fire", path)
        if method == "POST" and fire:
            try:
                result = emu.fire_schedule(fire.group(1))
            except LookupError as error:
                return 404, {"error": str(error)}
            except (RuntimeError, TimeoutError) as error:  # the target wrote a marker no execution followed
                return 502, {"error": str(error)}
            return 200, {"executionArn": result} if isinstance(result, str) else {"response": result}
        return 404, {"error": f"no route {method} {CONTROL_PREFIX}{path}"}

    return route


def export_lines(emu: Emulator) -> list[str]:
    stack = stack_document(emu)
    values = {
        "AWS_ENDPOINT_URL": emu.server.endpoint,
        "AWS_REGION": emu.region,
        "AWS_DEFAULT_REGION": emu.region,
        **CREDENTIALS,
        "INTERLOCK_TABLE": stack["table"],
        "INTERLOCK_STATE_MACHINE_ARN": stack["state_machine_arn"],
        "INTERLOCK_TOPIC_ARN": stack["topic_arn"],
        "INTERLOCK_SCHEDULE_GROUP": stack["schedule_group"],
    }
    return [f"export {name}={value}" for name, value in values.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-file", help="a Pulumi.<stack>.yaml: its interlock: keys and aws:region")
    parser.add_argument(
        "--pipelines",
        help="pipelines directory, anywhere (default: the stack file's pipelinesDir, relative to the stack file)",
    )
    parser.add_argument(
        "--archetypes",
        metavar="DIR",
        help="archetypes (and exclusion calendars in DIR/calendars) of your own, merged over the shipped ones",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"loopback port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    args = parser.parse_args(argv)
    config = stack_file_config(args.stack_file) if args.stack_file else {}
    pipelines = args.pipelines
    if pipelines is None and args.stack_file and isinstance(config.get("pipelinesDir"), str):
        pipelines = os.path.join(os.path.dirname(os.path.abspath(args.stack_file)), config["pipelinesDir"])
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(
        f"deploying the stack into the emulator on 127.0.0.1:{args.port or '<free port>'} ...",
        file=sys.stderr,
        flush=True,
    )
    emu = Emulator(config, port=args.port, pipelines_dir=pipelines, archetypes_dir=args.archetypes)
    emu.server.set_control(control_route(emu))
    emu.start()
    try:
        print("\n".join(export_lines(emu)), flush=True)
        print(
            f"# fire a schedule: curl -X POST {emu.server.endpoint}{CONTROL_PREFIX}schedules/<name>/fire\n"
            "# serving until Ctrl-C",
            flush=True,
        )
        stop.wait()
    finally:
        print("stopping the emulator", file=sys.stderr, flush=True)
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
