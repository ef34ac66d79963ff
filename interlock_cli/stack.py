"""Finding the stack the command talks to: explicit flags, then environment variables, then `--stack` (stack
outputs through the Pulumi Automation API), then a running `python -m emulator serve` at AWS_ENDPOINT_URL.

Once found, the domain's store module is pointed at it through the environment it reads (TABLE_NAME, the AWS
region and endpoint), so the table's key layout stays in handlers/interlock/store.py.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

DEFAULT_RETENTION_SECONDS = 168 * 3600  # Pulumi.yaml's retentionTtl default: events and markers the command writes
STACK_PATH = "/_interlock/stack"  # what `python -m emulator serve` answers with its stack (emulator/serve.py)
FIRE_PATH = "/_interlock/schedules/{name}/fire"  # where it fires a schedule

ENVIRONMENT = {  # StackRef field -> environment variable (the names `python -m emulator serve` prints)
    "table": "INTERLOCK_TABLE",
    "state_machine_arn": "INTERLOCK_STATE_MACHINE_ARN",
    "topic_arn": "INTERLOCK_TOPIC_ARN",
    "schedule_group": "INTERLOCK_SCHEDULE_GROUP",
    "data_bucket": "INTERLOCK_DATA_BUCKET",
    "endpoint_url": "AWS_ENDPOINT_URL",
}


class UsageError(Exception):
    """The command line or environment does not say enough (exit code 2)."""


@dataclass
class StackRef:
    table: str = ""
    state_machine_arn: str = ""
    topic_arn: str = ""
    schedule_group: str = ""
    data_bucket: str = ""
    endpoint_url: str = ""
    region: str = ""
    source: str = ""
    dry_run: bool = False  # the stack's interlock:dryRun, when the source tells it (--stack)

    @property
    def emulated(self) -> bool:
        return bool(self.endpoint_url)

    def console_link(self, execution_arn: str) -> str:
        if self.emulated:
            return f"{self.endpoint_url} (emulated; no console): {execution_arn}"
        return (
            f"https://{self.region}.console.aws.amazon.com/states/home?region={self.region}"
            f"#/v2/executions/details/{execution_arn}"
        )


def from_emulator(endpoint_url: str) -> dict:
    """The stack a running emulator serves (empty when nothing answers there)."""
    try:
        with urllib.request.urlopen(endpoint_url.rstrip("/") + STACK_PATH, timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return {}


def fire_in_emulator(endpoint_url: str, name: str) -> tuple[int, dict]:
    """Ask a running emulator to fire schedule `name`: (HTTP status, its JSON answer)."""
    url = endpoint_url.rstrip("/") + FIRE_PATH.format(name=urllib.parse.quote(name, safe=""))
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, {"error": f"{url} answered {error.code} {error.reason}"}


def from_pulumi_stack(name: str, work_dir: str) -> dict:
    """Stack outputs through the Automation API, which drives the Pulumi CLI."""
    if shutil.which("pulumi") is None:
        raise UsageError(
            f"--stack {name}: reading stack outputs needs the Pulumi CLI (Automation API), and `pulumi` "
            "is not on PATH; install it, or pass --table/--state-machine-arn/--region (or the "
            "INTERLOCK_* environment variables `python -m emulator serve` prints)"
        )
    from pulumi import automation

    stack = automation.select_stack(stack_name=name, work_dir=work_dir)
    outputs = {key: value.value for key, value in stack.outputs().items()}
    config = stack.get_all_config()
    region = config["aws:region"].value if "aws:region" in config else ""
    dry_run = "interlock:dryRun" in config and str(config["interlock:dryRun"].value).lower() == "true"
    return {
        "dry_run": dry_run,
        "table": outputs.get("tableName", ""),
        "state_machine_arn": outputs.get("stateMachineArn", ""),
        "topic_arn": outputs.get("alertTopicArn", ""),
        "data_bucket": outputs.get("dataBucket", ""),
        "region": region,
    }


def resolve(flags: dict, stack_name: str | None, work_dir: str) -> StackRef:
    """Flags (None when not given) over environment variables over `--stack` over a running emulator."""
    ref = StackRef()
    for field, variable in ENVIRONMENT.items():
        setattr(ref, field, flags.get(field) or os.environ.get(variable, ""))
    ref.region = flags.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
    ref.source = "flags and environment"
    found: dict = {}
    if stack_name:
        found, ref.source = from_pulumi_stack(stack_name, work_dir), f"stack {stack_name}"
    elif ref.endpoint_url and not ref.table:
        found, ref.source = from_emulator(ref.endpoint_url), f"emulator at {ref.endpoint_url}"
    for field, value in found.items():
        if value and not getattr(ref, field):
            setattr(ref, field, value)
    if not ref.table:
        raise UsageError(
            "no stack: pass --table (and --state-machine-arn, --region), export the INTERLOCK_* "
            "variables, use --stack NAME with the Pulumi CLI, or point AWS_ENDPOINT_URL at a running "
            "`python -m emulator serve`"
        )
    if not ref.region:
        raise UsageError("no region: pass --region or export AWS_REGION")
    return ref


def connect(ref: StackRef) -> None:
    """Point the domain's store and clients at the stack (they read the environment)."""
    from handlers.interlock import clients, settings

    os.environ["TABLE_NAME"] = ref.table
    os.environ["AWS_DEFAULT_REGION"] = ref.region
    os.environ.setdefault("RETENTION_TTL_SECONDS", str(DEFAULT_RETENTION_SECONDS))
    if ref.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = ref.endpoint_url
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(variable, "testing")  # the emulator accepts any credentials
    settings.reset()
    clients.reset()
