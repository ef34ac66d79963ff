"""`interlock`: argparse front of the subcommands. Exit codes: 0 done, 1 invalid or refused, 2 usage."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from . import render
from .stack import UsageError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _stack_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stack (flags, else INTERLOCK_* / AWS_* variables, else a running emulator)")
    group.add_argument("--stack", help="Pulumi stack whose outputs name the resources (needs the Pulumi CLI)")
    group.add_argument("--table", help="DynamoDB table (INTERLOCK_TABLE)")
    group.add_argument("--state-machine-arn", help="state machine ARN (INTERLOCK_STATE_MACHINE_ARN)")
    group.add_argument("--topic-arn", help="alert topic ARN (INTERLOCK_TOPIC_ARN)")
    group.add_argument("--schedule-group", help="EventBridge Scheduler group (INTERLOCK_SCHEDULE_GROUP)")
    group.add_argument("--data-bucket", help="data bucket holding archived alerts (INTERLOCK_DATA_BUCKET)")
    group.add_argument("--region", help="AWS region (AWS_REGION)")
    group.add_argument("--endpoint-url", help="AWS endpoint, e.g. a running emulator (AWS_ENDPOINT_URL)")
    group.add_argument("--json", action="store_true", help="print JSON instead of text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interlock",
        description="Operate Interlock: validate configuration, "
        "inspect runs, replay dates, clear locks, pause pipelines.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check pipelines, archetypes, calendars and a stack file")
    validate.add_argument(
        "pipelines_dir",
        nargs="?",
        metavar="PIPELINES_DIR",
        help="default: the stack file's pipelinesDir, else ./pipelines",
    )
    validate.add_argument("--stack-file", help="a Pulumi.<stack>.yaml to check as the program would")
    validate.add_argument(
        "--archetypes",
        metavar="DIR",
        help="archetypes (and calendars in DIR/calendars) of your own, merged over the shipped ones",
    )
    validate.add_argument("--json", action="store_true", help="print JSON instead of text")

    _stack_options(commands.add_parser("status", help="every pipeline: last run per schedule, lock, paused, schedules"))
    runs = commands.add_parser("runs", help="the run log of a pipeline")
    runs.add_argument("pipeline")
    when = runs.add_mutually_exclusive_group()
    when.add_argument("--date", type=_date)
    when.add_argument("--since", type=_date)
    runs.add_argument("--limit", type=int, default=50, help="newest dates read (default 50)")
    _stack_options(runs)

    explain = commands.add_parser("explain", help="what the run of a date did and why")
    explain.add_argument("pipeline")
    explain.add_argument("date", type=_date)
    explain.add_argument("--schedule", default="daily")
    _stack_options(explain)

    replay = commands.add_parser("replay", help="write one replay marker per date (a backfill)")
    replay.add_argument("pipeline")
    replay.add_argument("--date", type=_date, required=True)
    replay.add_argument("--to", type=_date, help="last date of the range (inclusive)")
    replay.add_argument("--schedule", default="daily")
    replay.add_argument("--dry-run", action="store_true", help="list the markers without writing them")
    _stack_options(replay)

    unlock = commands.add_parser("unlock", help="release a lock whose execution is no longer running")
    unlock.add_argument("pipeline")
    unlock.add_argument("--schedule", default="daily")
    unlock.add_argument("--force", action="store_true", help="release even while the owner execution runs")
    _stack_options(unlock)

    pause = commands.add_parser("pause", help="runs of the pipeline skip (recorded) until resumed")
    pause.add_argument("pipeline")
    pause.add_argument("--reason", default="")
    _stack_options(pause)
    resume = commands.add_parser("resume", help="undo pause")
    resume.add_argument("pipeline")
    _stack_options(resume)

    fire = commands.add_parser("fire", help="fire a schedule now, as EventBridge Scheduler would (emulator only)")
    fire.add_argument("schedule", metavar="SCHEDULE", help="the schedule's name (interlock:schedules[].name)")
    _stack_options(fire)

    alerts = commands.add_parser("alerts", help="alerts sent (archived alerts, else the table's alert claims)")
    alerts.add_argument("--since", help="a date, an RFC 3339 timestamp or a duration back from now (24h)")
    alerts.add_argument("--pipeline")
    _stack_options(alerts)
    return parser


def _run(args: argparse.Namespace) -> tuple[int, Any, str]:
    """(exit code, document, text) of one command."""
    if args.command == "validate":
        from .validate import validate

        report = validate(args.pipelines_dir, args.stack_file, args.archetypes)
        return (
            (EXIT_INVALID if report.problems else EXIT_OK),
            render.validation_document(report),
            render.validation_text(report),
        )

    from components.stack_settings import PROJECT_ROOT

    from . import operate
    from .stack import connect, resolve

    ref = resolve(
        {
            "table": args.table,
            "state_machine_arn": args.state_machine_arn,
            "topic_arn": args.topic_arn,
            "schedule_group": args.schedule_group,
            "data_bucket": args.data_bucket,
            "region": args.region,
            "endpoint_url": args.endpoint_url,
        },
        args.stack,
        PROJECT_ROOT,
    )
    connect(ref)
    if args.command == "status":
        rows = operate.status(ref)
        return EXIT_OK, rows, render.status_text(rows)
    if args.command == "runs":
        entries = operate.runs(args.pipeline, args.date, args.since, args.limit)
        return EXIT_OK, entries, render.runs_text(entries)
    if args.command == "explain":
        document = operate.explain(ref, args.pipeline, args.date, args.schedule)
        return EXIT_OK, document, render.explain_text(document)
    if args.command == "replay":
        markers = operate.replay(args.pipeline, args.date, args.to, args.schedule, args.dry_run)
        return EXIT_OK, markers, render.replay_text(args.pipeline, markers)
    if args.command == "unlock":
        result = operate.unlock(ref, args.pipeline, args.schedule, args.force)
        return EXIT_OK, result, render.unlock_text(result)
    if args.command == "pause":
        record = operate.pause(args.pipeline, args.reason)
        return EXIT_OK, record, f"{args.pipeline}: paused (its markers are recorded and skipped until resumed)"
    if args.command == "resume":
        result = operate.resume(args.pipeline)
        return EXIT_OK, result, f"{args.pipeline}: " + ("resumed" if result["resumed"] else "was not paused")
    if args.command == "fire":
        fired = operate.fire(ref, args.schedule)
        started = f"execution {fired['executionArn']}" if "executionArn" in fired else "its target answered"
        return EXIT_OK, fired, f"{args.schedule}: fired; {started}"
    found = operate.alerts(ref, args.since, args.pipeline)
    return EXIT_OK, found, render.alerts_text(found)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # argparse exits 2 on usage errors
    from .operate import Refused

    try:
        code, document, text = _run(args)
    except UsageError as error:
        print(f"interlock: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Refused as error:
        print(f"interlock {args.command}: {error}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(document, indent=2, default=str) if args.json else text)
    return code
