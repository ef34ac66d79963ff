"""A stand-in for the `pulumi` CLI, installed by the tests as an executable named `pulumi` first on PATH.

It appends one JSON line per invocation to $FAKE_PULUMI_LOG ({argv, cwd, env}) and answers the commands the
Automation API issues with canned output from the scenario file $FAKE_PULUMI_SCENARIO:
  {"stacks": {"<project>": [names]}, "outputs": {"<project>": {key: value}}, "secret_outputs": [keys],
   "config": {key: {"value": v, "secret": bool}}, "fail": {"<command>": {"stdout", "stderr", "code"}}}
The project is the `name:` of Pulumi.yaml in the working directory; <command> is `up`, `preview`, `stack select`...
"""

import json
import os
import sys

import yaml

RECORDED_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_AUTOMATION_API")


def option(args, name):
    return args[args.index(name) + 1] if name in args else None


def main(argv):
    with open(os.environ["FAKE_PULUMI_SCENARIO"], encoding="utf-8") as handle:
        scenario = json.load(handle)
    with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
        log.write(
            json.dumps({"argv": argv, "cwd": os.getcwd(), "env": {key: os.environ.get(key) for key in RECORDED_ENV}})
            + "\n"
        )
    args = [arg for arg in argv if arg != "--non-interactive"]
    if args == ["version"]:
        print("v3.200.0")
        return 0
    with open("Pulumi.yaml", encoding="utf-8") as handle:
        project = yaml.safe_load(handle)["name"]
    stack = option(args, "--stack")
    command = " ".join(args[:2]) if args[0] in ("stack", "config") else args[0]

    failure = scenario.get("fail", {}).get(command)
    if failure:
        print(failure.get("stdout", ""))
        print(failure.get("stderr", ""), file=sys.stderr)
        return failure.get("code", 255)

    if command == "stack select" and stack not in scenario.get("stacks", {}).get(project, []):
        print(f"error: no stack named '{stack}' found", file=sys.stderr)
        return 255
    if command == "stack output":
        secret_keys = scenario.get("secret_outputs", [])
        outputs = scenario.get("outputs", {}).get(project, {})
        shown = "--show-secrets" in args
        print(json.dumps({k: v if shown or k not in secret_keys else "[secret]" for k, v in outputs.items()}))
    elif command == "stack history":
        print(
            json.dumps(
                [
                    {
                        "kind": "update",
                        "startTime": "2026-11-28T21:00:00.000000Z",
                        "message": "",
                        "environment": {},
                        "config": {},
                        "result": "succeeded",
                        "endTime": "2026-11-28T21:01:00.000000Z",
                        "version": 2,
                    }
                ]
            )
        )
    elif command == "config --show-secrets":
        print(json.dumps(scenario.get("config", {})))
    elif command == "config get":
        print(json.dumps(scenario["config"][args[2]]))
    elif args[0] in ("preview", "up", "refresh", "destroy"):
        print(f"{args[0]} of {project}/{stack}: engine running")
        print("Resources: 3 unchanged")
        event_log = option(args, "--event-log")
        if event_log:
            with open(event_log, "a", encoding="utf-8") as events:
                events.write(
                    json.dumps(
                        {
                            "sequence": 1,
                            "timestamp": 1,
                            "summaryEvent": {
                                "maybeCorrupt": False,
                                "durationSeconds": 1,
                                "resourceChanges": {"same": 3},
                            },
                        }
                    )
                    + "\n"
                )
                events.write(json.dumps({"sequence": 2, "timestamp": 1, "cancelEvent": {}}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
