#!/usr/bin/env python3
"""Deploy Interlock from scripts and CI with the Pulumi Automation API.

It drives the same project directory `pulumi up` uses (this repository: Pulumi.yaml, __main__.py,
Pulumi.<stack>.yaml), never an inline copy of the program, and the state backend project in backend/.

    python deploy.py bootstrap [--region R]                 create or update the state backend (backend/)
    python deploy.py preview  --team T --env E [--create] [--policy-pack policy]
    python deploy.py up       --stack NAME [--create] [--policy-pack policy]
    python deploy.py refresh  --stack NAME
    python deploy.py destroy  --stack NAME --yes
    python deploy.py outputs  --stack NAME
    python deploy.py config set FILE --stack NAME          set every key of a YAML/JSON mapping
    python deploy.py config get [KEY] --stack NAME         print the stack's config as JSON (secrets masked)

Backend: PULUMI_BACKEND_URL and INTERLOCK_SECRETS_PROVIDER from the environment win; whichever is missing is read
from the outputs (backendUrl, secretsProvider) of the backend stack INTERLOCK_BACKEND_STACK (default "bootstrap"),
whose own state lives at INTERLOCK_BOOTSTRAP_BACKEND_URL (default file://<repo>/backend, i.e. backend/.pulumi/).

Exit codes: 0 ok, 1 the operation failed, 2 bad usage or configuration, 3 another update holds the stack's lock,
4 the stack does not exist, 5 the Pulumi CLI is missing or unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from handlers.interlock.models import ConfigError
from handlers.interlock.yaml_input import load_file

ROOT = os.path.dirname(os.path.abspath(__file__))
BACKEND_DIR = os.path.join(ROOT, "backend")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONCURRENT_UPDATE = 3
EXIT_STACK_NOT_FOUND = 4
EXIT_NO_CLI = 5

DEFAULT_BACKEND_STACK = "bootstrap"
MASK = "[secret]"
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
NAME_PART = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
INSTALL_HINT = "install it from https://www.pulumi.com/docs/iac/download-install/ and make sure it is on PATH"


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


def _log(message: str) -> None:
    print(f"deploy.py: {message}", file=sys.stderr, flush=True)


def _stream(line: str) -> None:
    print(line, flush=True)


def _stream_error(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def stack_name(args: argparse.Namespace) -> str:
    """`--stack NAME`, or `--team T --env E` meaning the stack `T-E`."""
    if args.stack and (args.team or args.env):
        raise UsageError("give either --stack or --team with --env, not both")
    if args.stack:
        name = args.stack
    elif args.team and args.env:
        for flag, value in (("--team", args.team), ("--env", args.env)):
            if not NAME_PART.match(value):
                raise UsageError(
                    f"{flag} {value!r}: expected lowercase letters, digits and hyphens, starting with a letter"
                )
        name = f"{args.team}-{args.env}"
    else:
        raise UsageError("choose a stack: --stack NAME, or --team T --env E (stack T-E)")
    if not STACK_NAME.match(name):
        raise UsageError(f"stack name {name!r}: expected letters, digits, '-', '_' or '.'")
    return name


def _bootstrap_env() -> dict[str, str]:
    """Environment of the backend project: its own (bootstrap) state location and a passphrase provider.

    The backend stack holds no secret config, so an empty passphrase is used unless one is given.
    """
    env = {"PULUMI_BACKEND_URL": os.environ.get("INTERLOCK_BOOTSTRAP_BACKEND_URL", f"file://{BACKEND_DIR}")}
    if "PULUMI_CONFIG_PASSPHRASE" not in os.environ and "PULUMI_CONFIG_PASSPHRASE_FILE" not in os.environ:
        env["PULUMI_CONFIG_PASSPHRASE"] = ""
    return env


def _backend_stack_name() -> str:
    return os.environ.get("INTERLOCK_BACKEND_STACK") or DEFAULT_BACKEND_STACK


def resolve_backend(auto: Any) -> tuple[str, str]:
    """(backend URL, secrets provider): the environment first, then the backend stack's outputs."""
    url = os.environ.get("PULUMI_BACKEND_URL", "")
    secrets_provider = os.environ.get("INTERLOCK_SECRETS_PROVIDER", "")
    if url and secrets_provider:
        return url, secrets_provider
    backend_stack = _backend_stack_name()
    try:
        stack = auto.select_stack(
            backend_stack, work_dir=BACKEND_DIR, opts=auto.LocalWorkspaceOptions(env_vars=_bootstrap_env())
        )
    except auto.StackNotFoundError:
        raise UsageError(
            f"no state backend: the backend stack {backend_stack!r} does not exist; run "
            "`python deploy.py bootstrap`, or set PULUMI_BACKEND_URL and INTERLOCK_SECRETS_PROVIDER"
        ) from None
    outputs = stack.outputs()
    url = url or _output_value(outputs, "backendUrl")
    secrets_provider = secrets_provider or _output_value(outputs, "secretsProvider")
    if not (url and secrets_provider):
        raise UsageError(
            f"the backend stack {backend_stack!r} has no backendUrl/secretsProvider outputs; "
            "run `python deploy.py bootstrap` again"
        )
    return url, secrets_provider


def _output_value(outputs: Any, key: str) -> str:
    output = outputs.get(key)
    return str(output.value) if output is not None and output.value else ""


def open_stack(auto: Any, name: str, create: bool) -> Any:
    """The stack `name` of the project in this repository, on the resolved backend; created only when asked."""
    url, secrets_provider = resolve_backend(auto)
    _log(f"stack {name} on {url}")
    opts = auto.LocalWorkspaceOptions(env_vars={"PULUMI_BACKEND_URL": url}, secrets_provider=secrets_provider)
    if create:
        return auto.create_or_select_stack(name, work_dir=ROOT, opts=opts)
    return auto.select_stack(name, work_dir=ROOT, opts=opts)


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    """Config or output values as plain JSON, secrets replaced by a mask (CI logs must never hold them)."""
    return {key: MASK if item.secret else item.value for key, item in sorted(values.items())}


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str), flush=True)


def load_config_file(path: str) -> dict[str, Any]:
    """A YAML/JSON mapping of config key -> value, as Automation API ConfigValues.

    Structured values are stored as JSON strings (the program parses them); `{secretFromEnv: NAME}` reads a secret
    from the environment variable NAME so that secrets never sit in the file.
    """
    from pulumi.automation import ConfigValue

    try:
        data = load_file(path)
    except ConfigError as error:
        raise UsageError(f"cannot read config file {path}: {'; '.join(error.problems)}") from None
    if not isinstance(data, dict) or not data:
        raise UsageError(f"config file {path}: expected a non-empty mapping of key: value")
    values = {}
    for key, value in data.items():
        if isinstance(value, dict) and set(value) == {"secretFromEnv"}:
            secret = os.environ.get(str(value["secretFromEnv"]))
            if not secret:
                raise UsageError(
                    f"config file {path}: {key} reads the secret from ${value['secretFromEnv']}, which is not set"
                )
            values[str(key)] = ConfigValue(value=secret, secret=True)
        elif isinstance(value, (dict, list)):
            values[str(key)] = ConfigValue(value=json.dumps(value, separators=(",", ":")))
        elif isinstance(value, bool):
            values[str(key)] = ConfigValue(value="true" if value else "false")
        elif value is None:
            raise UsageError(f"config file {path}: {key} has no value")
        else:
            values[str(key)] = ConfigValue(value=str(value))
    return values


def cmd_bootstrap(auto: Any, args: argparse.Namespace) -> int:
    name = args.backend_stack or _backend_stack_name()
    env = _bootstrap_env()
    _log(f"backend stack {name} on {env['PULUMI_BACKEND_URL']}")
    stack = auto.create_or_select_stack(name, work_dir=BACKEND_DIR, opts=auto.LocalWorkspaceOptions(env_vars=env))
    if args.region:
        stack.set_config("aws:region", auto.ConfigValue(value=args.region))
    result = stack.up(on_output=_stream, on_error=_stream_error)
    print(f"export PULUMI_BACKEND_URL='{_output_value(result.outputs, 'backendUrl')}'")
    print(f"export INTERLOCK_SECRETS_PROVIDER='{_output_value(result.outputs, 'secretsProvider')}'", flush=True)
    return EXIT_OK


def cmd_preview(auto: Any, args: argparse.Namespace) -> int:
    stack = open_stack(auto, args.stack_name, args.create)
    result = stack.preview(on_output=_stream, on_error=_stream_error, policy_packs=args.policy_pack or None)
    _log(f"preview: {json.dumps(result.change_summary, sort_keys=True)}")
    return EXIT_OK


def cmd_up(auto: Any, args: argparse.Namespace) -> int:
    stack = open_stack(auto, args.stack_name, args.create)
    result = stack.up(on_output=_stream, on_error=_stream_error, policy_packs=args.policy_pack or None)
    _print_json(_masked(result.outputs))
    return EXIT_OK


def cmd_refresh(auto: Any, args: argparse.Namespace) -> int:
    open_stack(auto, args.stack_name, create=False).refresh(on_output=_stream, on_error=_stream_error)
    return EXIT_OK


def cmd_destroy(auto: Any, args: argparse.Namespace) -> int:
    open_stack(auto, args.stack_name, create=False).destroy(on_output=_stream, on_error=_stream_error)
    return EXIT_OK


def cmd_outputs(auto: Any, args: argparse.Namespace) -> int:
    _print_json(_masked(open_stack(auto, args.stack_name, create=False).outputs()))
    return EXIT_OK


def cmd_config(auto: Any, args: argparse.Namespace) -> int:
    stack = open_stack(auto, args.stack_name, create=False)
    if args.action == "set":
        stack.set_all_config(args.config_values)
        _log(f"set {len(args.config_values)} config value(s): {', '.join(sorted(args.config_values))}")
        return EXIT_OK
    if args.target:
        _print_json(_masked({args.target: stack.get_config(args.target)}))
    else:
        _print_json(_masked(stack.get_all_config()))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per operation, stack selection on each stack operation."""
    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description=__doc__.split("\n\n")[0],
        epilog="exit codes: 0 ok, 1 failed, 2 usage/config, 3 concurrent update, "
        "4 stack not found, 5 Pulumi CLI missing",
    )
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("--stack", help="stack name, e.g. team-a-dev")
    selection.add_argument("--team", help="team name; with --env selects the stack <team>-<env>")
    selection.add_argument("--env", help="environment name, e.g. dev or prod")
    deployment = argparse.ArgumentParser(add_help=False)
    deployment.add_argument(
        "--policy-pack",
        action="append",
        metavar="DIR",
        help="run this policy pack too (repeatable; relative to the repository root), e.g. policy",
    )
    deployment.add_argument("--create", action="store_true", help="create the stack if it does not exist")

    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bootstrap = commands.add_parser("bootstrap", help="create or update the state backend stack (backend/)")
    bootstrap.add_argument(
        "--backend-stack", help=f"backend stack name (default $INTERLOCK_BACKEND_STACK or {DEFAULT_BACKEND_STACK})"
    )
    bootstrap.add_argument("--region", help="AWS region of the backend (sets aws:region on the backend stack)")
    bootstrap.set_defaults(handler=cmd_bootstrap)
    for name, handler, text, parents in (
        ("preview", cmd_preview, "show what `up` would change", [selection, deployment]),
        ("up", cmd_up, "deploy the stack", [selection, deployment]),
        ("refresh", cmd_refresh, "reconcile the state with what exists in AWS", [selection]),
        ("destroy", cmd_destroy, "delete every resource of the stack (needs --yes)", [selection]),
        ("outputs", cmd_outputs, "print the stack outputs as JSON (secrets masked)", [selection]),
    ):
        sub = commands.add_parser(name, help=text, parents=parents)
        sub.set_defaults(handler=handler)
        if name == "destroy":
            sub.add_argument("--yes", action="store_true", help="confirm the destruction")
    config = commands.add_parser("config", help="set config from a file, or print it", parents=[selection])
    config.add_argument("action", choices=("set", "get"))
    config.add_argument("target", nargs="?", metavar="FILE|KEY", help="set: the file; get: one key (default all)")
    config.set_defaults(handler=cmd_config)
    return parser


def check_usage(args: argparse.Namespace) -> None:
    """Everything about the arguments that can be checked without the CLI (so mistakes fail fast with code 2)."""
    args.stack_name = None if args.command == "bootstrap" else stack_name(args)
    if args.command == "destroy" and not args.yes:
        raise UsageError(f"destroy deletes every resource of stack {args.stack_name}; repeat with --yes to confirm")
    if args.command == "config" and args.action == "set":
        if not args.target:
            raise UsageError("config set needs a FILE (YAML or JSON mapping of key: value)")
        args.config_values = load_config_file(args.target)


def _describe_failure(command: str, error: Exception) -> str:
    errors = re.findall(r"error: (.+)", str(error))
    return f"{command} failed: {errors[-1].strip()}" if errors else f"{command} failed (see the engine output above)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code == 0 else EXIT_USAGE
    try:
        check_usage(args)
    except UsageError as error:
        _log(f"error: {error}")
        return EXIT_USAGE
    if shutil.which("pulumi") is None:
        _log(f"the Pulumi CLI (`pulumi`) was not found; {INSTALL_HINT}")
        return EXIT_NO_CLI

    from pulumi import automation as auto

    handler: Callable[[Any, argparse.Namespace], int] = args.handler
    try:
        return handler(auto, args)
    except UsageError as error:
        _log(f"error: {error}")
        return EXIT_USAGE
    except auto.ConcurrentUpdateError:
        _log(
            f"error: {args.command}: another update holds the stack's lock; retry when it has finished "
            "(a lock left by a crashed run: `pulumi cancel`)"
        )
        return EXIT_CONCURRENT_UPDATE
    except auto.StackNotFoundError:
        _log(
            f"error: {args.command}: the stack does not exist on this backend; create it with --create "
            "(preview/up) or check --stack/--team/--env and PULUMI_BACKEND_URL"
        )
        return EXIT_STACK_NOT_FOUND
    except auto.CommandError as error:
        _log(f"error: {_describe_failure(args.command, error)}")
        return EXIT_FAILED
    except (FileNotFoundError, auto.InvalidVersionError) as error:
        if isinstance(error, FileNotFoundError) and error.filename not in ("pulumi", None):
            raise
        _log(f"the Pulumi CLI is not usable ({error}); {INSTALL_HINT}")
        return EXIT_NO_CLI
    except RuntimeError as error:  # e.g. "summary event never found": the engine stopped without a result
        _log(f"error: {args.command} failed: {error}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
