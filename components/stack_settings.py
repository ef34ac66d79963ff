"""Typed stack configuration, parsed once from the `interlock:` namespace.

The keys, their defaults and descriptions are declared in Pulumi.yaml (the single source: the CLI applies those
defaults, and so does `load_settings`, which also runs under test mocks without a CLI). Every invalid value is
collected and reported together, each naming the key and what is allowed; an undeclared `interlock:` key is an error.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.interlock import schedule_expressions
from handlers.interlock.address_policy import allowed_network_problems
from handlers.interlock.durations import EXAMPLES as DURATION_EXAMPLES, parse_duration
from handlers.interlock.models import PIPELINE_ID_PATTERN, SCHEDULE_ID_PATTERN, ConfigError, did_you_mean
from handlers.interlock.triggers import permission_keys

from .pulumi_project import read_project

PROJECT = "interlock"
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
ARCHITECTURES = ("arm64", "x86_64")
PYTHON_RUNTIMES = ("python3.12", "python3.13")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SUBSCRIPTION_PROTOCOLS = ("email", "https", "sqs", "lambda", "slack", "teams")
TRIGGER_KINDS = permission_keys()  # the triggerPermissions keys the trigger modules declare
LOCK_LEASE_MARGIN_SECONDS = 300
MAX_EXECUTION_SECONDS = 365 * 86400  # a Step Functions standard execution runs at most one year
ASL_PATH = os.path.join(PROJECT_ROOT, "asl", "pipeline.asl.json")
LOOPS = {  # the states of each lifecycle loop, in asl/pipeline.asl.json
    "poll": ("WaitForRun", "PollRunStatus", "EvaluatePollResult"),
    "await": ("AwaitJobCompletion", "CountCompletionCheck"),  # a wait by event that timed out (its Catch)
    "evaluation": ("CheckEvaluation", "IsReady", "WaitBeforeReevaluation"),
    "monitoring": ("MonitoringWait", "CheckMonitoring", "IsMonitoringOver"),
}

_PARTITION = r"arn:aws(?:-cn|-us-gov)?"
_REGION_ACCOUNT = r"[a-z]{2}(?:-[a-z]+)+-\d:\d{12}"
TRIGGER_ARN_PATTERNS = {
    "glue": re.compile(rf"^{_PARTITION}:glue:{_REGION_ACCOUNT}:job/[\w.-]+$"),
    "emr": re.compile(rf"^{_PARTITION}:elasticmapreduce:{_REGION_ACCOUNT}:cluster/j-[A-Z0-9]+$"),
    "emrServerless": re.compile(rf"^{_PARTITION}:emr-serverless:{_REGION_ACCOUNT}:/applications/[a-z0-9]+$"),
    "stepFunctions": re.compile(rf"^{_PARTITION}:states:{_REGION_ACCOUNT}:stateMachine:[\w-]+$"),
    "lambda": re.compile(rf"^{_PARTITION}:lambda:{_REGION_ACCOUNT}:function:[\w-]+$"),
}
TRIGGER_ARN_SHAPES = {
    "glue": "arn:aws:glue:<region>:<account>:job/<name>",
    "emr": "arn:aws:elasticmapreduce:<region>:<account>:cluster/j-<ID>",
    "emrServerless": "arn:aws:emr-serverless:<region>:<account>:/applications/<id> or an execution role ARN",
    "stepFunctions": "arn:aws:states:<region>:<account>:stateMachine:<name>",
    "lambda": "arn:aws:lambda:<region>:<account>:function:<name>",
}
ROLE_ARN = re.compile(rf"^{_PARTITION}:iam::\d{{12}}:role/[\w+=,.@/-]+$")
BUCKET_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:s3:::(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SECRET_ARN = re.compile(rf"^{_PARTITION}:secretsmanager:{_REGION_ACCOUNT}:secret:[\w/+=.@-]+$")
KMS_KEY_ARN = re.compile(rf"^{_PARTITION}:kms:{_REGION_ACCOUNT}:key/[0-9a-f-]+$")
SQS_ARN = re.compile(rf"^{_PARTITION}:sqs:{_REGION_ACCOUNT}:[\w-]+(?:\.fifo)?$")
LAMBDA_ARN = TRIGGER_ARN_PATTERNS["lambda"]
SLACK_WORKSPACE_ID = re.compile(r"^[0-9A-Z]{1,255}$")
SLACK_CHANNEL_ID = re.compile(r"^[A-Za-z0-9]{1,255}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TEAMS_CHANNEL_ID = re.compile(r"^[\w=+/.,-]*%3[aA][\w=+/.,-]*%40[\w=+/.,-]*$")  # URL-encoded, as AWS wants it
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")
# Step Functions fails an execution whose history passes 25,000 events (DESIGN §10.1): the loops of one attempt must
# stay below it with this reserve left for the states outside the loops, Lambda retries and a retried attempt's start.
HISTORY_EVENT_LIMIT = 25_000
HISTORY_RESERVE = 1_000


class ConfigurationError(ConfigError):
    """Invalid stack configuration; `problems` lists one message per invalid key."""

    heading = "invalid interlock configuration"

    def __str__(self) -> str:
        return f"{self.heading}:\n  - " + "\n  - ".join(self.problems)


@dataclass(frozen=True)
class Schedule:
    name: str
    pipeline: str
    schedule_id: str
    expression: str
    timezone: str


@dataclass(frozen=True)
class AlertSubscription:
    protocol: str
    endpoint: str


@dataclass(frozen=True)
class ChatSubscription:
    """A Slack or Microsoft Teams channel receiving the alert topic through AWS Chatbot."""

    protocol: str  # slack | teams
    channel_id: str
    workspace_id: str = ""  # slack: the workspace (team) ID authorised in the Chatbot console
    team_id: str = ""  # teams: the team and tenant IDs authorised in the Chatbot console
    tenant_id: str = ""


@dataclass(frozen=True)
class TriggerPermissions:
    """ARNs the trigger may start and the run-checker may poll, per kind; all empty by default."""

    glue: tuple[str, ...] = ()
    emr: tuple[str, ...] = ()
    emr_serverless: tuple[str, ...] = ()
    emr_serverless_roles: tuple[str, ...] = ()
    step_functions: tuple[str, ...] = ()
    lambda_functions: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackSettings:
    """Every `interlock:` key, parsed: durations are whole seconds (`*_seconds`), structures are typed."""

    project_name: str
    table_name: str
    readiness_ttl_seconds: int
    retention_ttl_seconds: int
    sns_topic_name: str
    lambda_memory: int
    lambda_timeout: int
    evaluator_base_url: str
    archetype_dir: str
    data_bucket_name: str
    log_retention_days: int
    log_level: str
    architecture: str
    python_runtime: str
    schedules: tuple[Schedule, ...]
    alert_subscriptions: tuple[AlertSubscription | ChatSubscription, ...]
    trigger_permissions: TriggerPermissions
    secret_arns: tuple[str, ...]
    evaluator_bucket_arns: tuple[str, ...]
    allowed_networks: tuple[str, ...]
    poll_interval_seconds: int
    max_poll_attempts: int
    completion_check_interval: int  # as configured; the state machine uses completion_check_interval_seconds
    evaluation_interval_seconds: int
    evaluation_window_seconds: int
    monitoring_interval_seconds: int
    execution_timeout_seconds: int
    deletion_protection: bool
    point_in_time_recovery: bool
    kms_key_arn: str
    pipelines_dir: str
    watchdog_interval_seconds: int  # 0: the watchdog is not scheduled
    dry_run: bool  # every pipeline records what it would trigger instead of starting its job

    @property
    def lock_lease_seconds(self) -> int:
        """The lock outlives any execution that holds it (DESIGN §8.4)."""
        return self.execution_timeout_seconds + LOCK_LEASE_MARGIN_SECONDS

    @property
    def completion_check_interval_seconds(self) -> int:
        return completion_checks(self.poll_interval_seconds, self.max_poll_attempts, self.completion_check_interval)[0]

    @property
    def max_completion_checks(self) -> int:
        return completion_checks(self.poll_interval_seconds, self.max_poll_attempts, self.completion_check_interval)[1]

    def resource_name(self, suffix: str) -> str:
        """Physical name of a stack resource: `<projectName>-<suffix>`."""
        return f"{self.project_name}-{suffix}"


def declared_config() -> dict[str, dict]:
    """The `config:` declarations of Pulumi.yaml (key -> {type, default, description, ...})."""
    return read_project(PROJECT_ROOT).config


def load_settings(values: Mapping[str, Any]) -> StackSettings:
    """Parse raw `interlock:` config (bare key -> value as Pulumi hands it over: strings, or JSON for structures).

    Missing keys take their Pulumi.yaml defaults. Raises ConfigurationError listing every problem.
    """
    declared = declared_config()
    problems: list[str] = []
    for key in sorted(set(values) - set(declared)):
        problems.append(
            f"interlock:{key}: unknown key; allowed keys are {', '.join(sorted(declared))}{did_you_mean(key, declared)}"
        )

    raw: dict[str, Any] = {}
    for key, spec in declared.items():
        if key in values and values[key] is not None:
            try:
                raw[key] = _coerce(values[key], spec)
            except ValueError as error:
                problems.append(f"interlock:{key}: {error}")
        elif "default" in spec:
            raw[key] = spec["default"]
        else:
            problems.append(f"interlock:{key}: required; {spec.get('description', '')}".rstrip())

    parsed: dict[str, Any] = {}
    for key, (_attribute, parser) in _KEYS.items():
        if key not in raw:
            continue
        try:
            parsed[key] = parser(raw[key], raw)
        except ValueError as error:
            problems.append(f"interlock:{key}: {error}")

    if "projectName" in parsed and "triggerPermissions" in parsed:
        own = f":stateMachine:{parsed['projectName']}-pipeline"
        for arn in parsed["triggerPermissions"].step_functions:
            if arn.endswith(own):
                problems.append(
                    f"interlock:triggerPermissions: stepFunctions {arn!r} is this stack's own lifecycle "
                    "state machine; a trigger may not start it"
                )
    if not problems:
        problems += history_problems(parsed)
        # a marker may wait one evaluation window for the lock, then evaluate for one, then poll
        budget = 2 * parsed["evaluationWindow"] + parsed["pollInterval"] * parsed["maxPollAttempts"]
        if parsed["executionTimeout"] < budget:
            problems.append(
                f"interlock:executionTimeout: {parsed['executionTimeout']}s is shorter than evaluationWindow x 2 "
                f"(a wait for the lock, then the evaluation) + pollInterval x maxPollAttempts = {budget}s; raise it "
                "or lower those"
            )
        if parsed["completionCheckInterval"] < parsed["pollInterval"]:
            problems.append(
                f"interlock:completionCheckInterval: {parsed['completionCheckInterval']}s is shorter than pollInterval "
                f"({parsed['pollInterval']}s); a job awaited by event would be asked more often than one polled"
            )
    if problems:
        raise ConfigurationError(problems)

    project = parsed["projectName"]
    parsed["tableName"] = parsed["tableName"] or project
    parsed["snsTopicName"] = parsed["snsTopicName"] or f"{project}-alerts"
    return StackSettings(**{attribute: parsed[key] for key, (attribute, _parser) in _KEYS.items()})


def settings_from_pulumi_config() -> StackSettings:
    """Read every `interlock:` key of the running stack and parse it (the program's single entry point)."""
    from pulumi.runtime import config as runtime_config

    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{PROJECT}:"
    return load_settings({key[len(prefix) :]: value for key, value in everything.items() if key.startswith(prefix)})


def _coerce(value: Any, spec: dict) -> Any:
    """Pulumi hands config over as strings (structures as JSON); turn them into the declared shape."""
    if not isinstance(value, str):
        return value
    declared_type = spec.get("type")
    if declared_type == "string":
        return value
    if declared_type == "integer":
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an integer") from None
    if declared_type == "boolean":
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"{value!r} is not a boolean (true or false)")
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise ValueError(f"{value!r} is not a list or object (set it as YAML structure or JSON)") from None


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} must be a string")
    return value


def _pattern(regex: re.Pattern, allowed: str, empty_ok: bool = False) -> Callable[[Any, dict], str]:
    def parse(value: Any, _raw: dict) -> str:
        text = _string(value)
        if (empty_ok and text == "") or regex.fullmatch(text):
            return text
        raise ValueError(f"{text!r} is not allowed; expected {allowed}")

    return parse


def _choice(options: tuple) -> Callable[[Any, dict], Any]:
    def parse(value: Any, _raw: dict) -> Any:
        if value in options:
            return value
        raise ValueError(f"{value!r} is not allowed; allowed values are {', '.join(map(str, options))}")

    return parse


def _integer(low: int, high: int) -> Callable[[Any, dict], int]:
    def parse(value: Any, _raw: dict) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{value!r} is not allowed; expected an integer from {low} to {high}")
        return value

    return parse


def _boolean(value: Any, _raw: dict) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not a boolean (true or false)")
    return value


def _whole_seconds(value: Any, _raw: dict) -> int:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a duration; expected a Go-style duration such as {DURATION_EXAMPLES}"
        ) from None
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"{value!r} must be a whole number of seconds, at least 1s")
    return int(seconds)


def _at_most(limit: int) -> Callable[[Any, dict], int]:
    def parse(value: Any, raw: dict) -> int:
        seconds = _whole_seconds(value, raw)
        if seconds > limit:
            raise ValueError(f"{value!r} is longer than {limit // 3600}h")
        return seconds

    return parse


def _url(value: Any, _raw: dict) -> str:
    text = _string(value)
    if text and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", text):
        raise ValueError(f"{text!r} is not allowed; expected empty or an http(s):// URL")
    return text


def _absolute_path(value: Any, _raw: dict) -> str:
    text = _string(value)
    if not text.startswith("/"):
        raise ValueError(f"{text!r} is not allowed; expected an absolute path such as /var/task/archetypes")
    return text


def _relative_dir(value: Any, _raw: dict) -> str:
    text = _string(value)
    if not text or os.path.isabs(text) or ".." in text.split("/"):
        raise ValueError(f"{text!r} is not allowed; expected a directory relative to the project")
    return text


def _object_list(value: Any, what: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError(f"expected a list of {what} objects")
    return value


def _check_keys(item: dict, allowed: set[str], required: set[str], where: str) -> list[str]:
    problems = [
        f"{where}: unknown field {key!r}; allowed fields are {', '.join(sorted(allowed))}{did_you_mean(key, allowed)}"
        for key in sorted(set(item) - allowed, key=str)
    ]
    problems += [f"{where}: missing required field {key!r}" for key in sorted(required - set(item))]
    return problems


def _schedules(value: Any, _raw: dict) -> tuple[Schedule, ...]:
    problems: list[str] = []
    schedules: list[Schedule] = []
    fields = {"name", "pipeline", "scheduleID", "expression", "timezone"}
    for index, item in enumerate(_object_list(value, "schedule")):
        where = f"[{index}]"
        found = _check_keys(item, fields, {"name", "pipeline", "expression"}, where)
        if found:
            problems += found
            continue
        texts = {
            key: item.get(key, default)
            for key, default in (
                ("name", ""),
                ("pipeline", ""),
                ("scheduleID", "daily"),
                ("expression", ""),
                ("timezone", "UTC"),
            )
        }
        wrong = [key for key, text in texts.items() if not isinstance(text, str)]
        if wrong:
            problems += [f"{where}.{key}: {texts[key]!r} must be a string" for key in wrong]
            continue
        name, pipeline, schedule_id, expression, timezone = texts.values()
        if not SCHEDULE_NAME.fullmatch(name):
            problems.append(f"{where}.name: {name!r} is not allowed; expected 1-64 of letters, digits, _ . -")
        if name in {schedule.name for schedule in schedules}:
            problems.append(f"{where}.name: {name!r} is used twice; schedule names must be unique")
        # the handlers' own ID rules: a marker they would refuse must not pass the preview
        if not PIPELINE_ID_PATTERN.fullmatch(pipeline):
            problems.append(
                f"{where}.pipeline: {pipeline!r} is not a pipeline ID (2-64 lowercase letters, digits, "
                ". _ -, starting and ending with a letter or digit)"
            )
        if not SCHEDULE_ID_PATTERN.fullmatch(schedule_id):
            problems.append(
                f"{where}.scheduleID: {schedule_id!r} is not allowed; expected 1-64 letters, digits, "
                "_ -, starting with a letter or digit"
            )
        wrong_expression = schedule_expressions.problem(expression)
        if wrong_expression:
            problems.append(f"{where}.expression: {expression!r} is not allowed; {wrong_expression}")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"{where}.timezone: {timezone!r} is not an IANA time zone such as UTC or Europe/Berlin")
        schedules.append(Schedule(name, pipeline, schedule_id, expression, timezone))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(schedules)


def completion_checks(poll_interval: int, max_poll_attempts: int, completion_check_interval: int) -> tuple[int, int]:
    """(wait in seconds, status checks) of a job awaited by event. It may run as long as a polled one, pollInterval x
    maxPollAttempts (the poll budget): the wait is completionCheckInterval, capped at that budget, and the checks are
    one when the wait starts plus one per wait without an event until the budget has passed (at most
    maxPollAttempts + 1, since completionCheckInterval >= pollInterval)."""
    budget = poll_interval * max_poll_attempts
    interval = min(completion_check_interval, budget)
    return interval, 1 + budget // interval


def loop_events(definition: dict | None = None) -> dict[str, int]:
    """History events one iteration of each lifecycle loop adds, counted from the definition's states: `poll`
    (wait, run-checker, choice), `await` (a wait by event that timed out, the count), `evaluation` (check, choice,
    wait) and `monitoring` (wait, check, choice). None depends on the number of traits: the orchestrator evaluates
    them inside one state."""
    if definition is None:
        with open(ASL_PATH, encoding="utf-8") as handle:
            definition = json.load(handle)
    states = definition["States"]
    return {loop: sum(_state_events(states[name]) for name in names) for loop, names in LOOPS.items()}


def _state_events(state: dict) -> int:
    """Entered + exited, plus scheduled/started/succeeded for a task."""
    if state["Type"] == "Task":  # a wait on a task token that times out writes submitted and timed out instead
        return 6 if state.get("Resource", "").endswith(".waitForTaskToken") else 5
    return 2


def attempt_history_events(settings: Mapping[str, int]) -> int:
    """The most history events the evaluation loop and the wait for the job of one attempt can write (`settings`: the
    parsed interlock: values). A job is polled at most maxPollAttempts times, and one awaited by event times out at
    most as often (`completion_checks`), so the larger loop times maxPollAttempts bounds either."""
    events = loop_events()
    evaluations = math.ceil(settings["evaluationWindow"] / settings["evaluationInterval"]) + 1
    waiting = settings["maxPollAttempts"] * max(events["poll"], events["await"])
    return evaluations * events["evaluation"] + waiting


def execution_history_events(settings: Mapping[str, int], attempts: int, monitoring_seconds: float) -> int:
    """The most history events a pipeline's execution can write in its loops: `attempts` attempts (a retry repeats
    the evaluation loop and the wait for the job in the same execution), then monitoring for `monitoring_seconds`
    (0: none), one cycle per monitoringInterval and one more at its end, for no longer than executionTimeout."""
    monitored = min(monitoring_seconds, settings["executionTimeout"])
    cycles = math.ceil(monitored / settings["monitoringInterval"]) + 1 if monitored > 0 else 0
    return attempts * attempt_history_events(settings) + cycles * loop_events()["monitoring"]


def history_problems(parsed: dict) -> list[str]:
    """The loops of one attempt must fit Step Functions' 25,000-event history with HISTORY_RESERVE to spare."""
    events = attempt_history_events(parsed)
    if events + HISTORY_RESERVE <= HISTORY_EVENT_LIMIT:
        return []
    return [
        f"interlock:evaluationWindow/evaluationInterval/maxPollAttempts: one attempt can write {events} history "
        f"events ({math.ceil(parsed['evaluationWindow'] / parsed['evaluationInterval']) + 1} evaluations, "
        f"{parsed['maxPollAttempts']} polls); Step Functions fails an execution at {HISTORY_EVENT_LIMIT} (keep "
        f"{HISTORY_RESERVE} for the rest): lengthen evaluationInterval or lower maxPollAttempts"
    ]


# Chat channels: each field with its pattern and what it must be (the IDs come from the Chatbot console).
CHAT_FIELDS = {
    "slack": {
        "workspaceId": (SLACK_WORKSPACE_ID, "a Slack workspace ID such as T07EA123LEP"),
        "channelId": (SLACK_CHANNEL_ID, "a Slack channel ID such as C07EZ1ABC23"),
    },
    "teams": {
        "teamId": (UUID, "a Microsoft Teams team ID (a UUID)"),
        "tenantId": (UUID, "a Microsoft Teams tenant ID (a UUID)"),
        "channelId": (TEAMS_CHANNEL_ID, "a URL-encoded Teams channel ID such as 19%3a...%40thread.tacv2"),
    },
}


def _subscriptions(value: Any, _raw: dict) -> tuple[AlertSubscription | ChatSubscription, ...]:
    checks = {
        "email": (EMAIL, "an email address"),
        "https": (re.compile(r"^https://\S+$"), "an https:// URL"),
        "sqs": (SQS_ARN, "an SQS queue ARN"),
        "lambda": (LAMBDA_ARN, "a Lambda function ARN"),
    }
    problems: list[str] = []
    subscriptions: list[AlertSubscription | ChatSubscription] = []
    for index, item in enumerate(_object_list(value, "subscription")):
        where = f"[{index}]"
        protocol = str(item.get("protocol", ""))
        if protocol in CHAT_FIELDS:
            fields = {"protocol", *CHAT_FIELDS[protocol]}
            found = _check_keys(item, fields, fields, where)
            found += [
                f"{where}.{key}: {item[key]!r} is not {expected}"
                for key, (regex, expected) in CHAT_FIELDS[protocol].items()
                if key in item and not regex.match(str(item[key]))
            ]
            channel = ChatSubscription(
                protocol,
                str(item.get("channelId", "")),
                str(item.get("workspaceId", "")),
                str(item.get("teamId", "")),
                str(item.get("tenantId", "")),
            )
            if channel in subscriptions:
                found.append(f"{where}.channelId: {channel.channel_id!r} is listed twice")
            problems += found
            subscriptions.append(channel)
            continue
        found = _check_keys(item, {"protocol", "endpoint"}, {"protocol", "endpoint"}, where)
        if found:
            problems += found
            continue
        protocol, endpoint = str(item["protocol"]), str(item["endpoint"])
        if protocol not in checks:
            problems.append(
                f"{where}.protocol: {protocol!r} is not allowed; allowed are {', '.join(SUBSCRIPTION_PROTOCOLS)}"
            )
            continue
        regex, expected = checks[protocol]
        if not regex.fullmatch(endpoint):
            problems.append(f"{where}.endpoint: {endpoint!r} is not {expected}")
        subscriptions.append(AlertSubscription(protocol, endpoint))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(subscriptions)


def _trigger_permissions(value: Any, _raw: dict) -> TriggerPermissions:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object keyed by {', '.join(TRIGGER_KINDS)}")
    problems = [
        f"unknown trigger kind {kind!r}; allowed are {', '.join(TRIGGER_KINDS)}{did_you_mean(kind, TRIGGER_KINDS)}"
        for kind in sorted(set(value) - set(TRIGGER_KINDS), key=str)
    ]
    found: dict[str, list[str]] = {kind: [] for kind in TRIGGER_KINDS}
    roles: list[str] = []
    for kind in TRIGGER_KINDS:
        arns = value.get(kind, [])
        if not isinstance(arns, list):
            problems.append(f"{kind}: expected a list of ARNs")
            continue
        for index, arn in enumerate(arns):
            if kind == "emrServerless" and isinstance(arn, str) and ROLE_ARN.fullmatch(arn):
                roles.append(arn)
            elif isinstance(arn, str) and TRIGGER_ARN_PATTERNS[kind].fullmatch(arn):
                found[kind].append(arn)
            else:
                problems.append(f"{kind}[{index}]: {arn!r} is not a {kind} ARN ({TRIGGER_ARN_SHAPES[kind]})")
    if found["emrServerless"] and not roles:
        problems.append(
            "emrServerless: also list the job execution role ARNs (arn:aws:iam::<account>:role/<name>) "
            "the trigger may pass with iam:PassRole"
        )
    if problems:
        raise ValueError("; ".join(problems))
    return TriggerPermissions(
        glue=tuple(found["glue"]),
        emr=tuple(found["emr"]),
        emr_serverless=tuple(found["emrServerless"]),
        emr_serverless_roles=tuple(roles),
        step_functions=tuple(found["stepFunctions"]),
        lambda_functions=tuple(found["lambda"]),
    )


def _string_list(regex: re.Pattern, expected: str) -> Callable[[Any, dict], tuple[str, ...]]:
    def parse(value: Any, _raw: dict) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise ValueError(f"expected a list of {expected}")
        bad = [item for item in value if not (isinstance(item, str) and regex.fullmatch(item))]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not {expected}")
        return tuple(value)

    return parse


def _networks(value: Any, _raw: dict) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("expected a list of CIDRs such as 10.0.0.0/8 or 127.0.0.1/32")
    networks, bad = [], []
    for item in value:
        try:
            networks.append(str(ipaddress.ip_network(str(item), strict=True)))
        except ValueError:
            bad.append(repr(item))
    if bad:
        raise ValueError(f"{', '.join(bad)} is not a CIDR (network address/prefix such as 10.0.0.0/8)")
    problems = allowed_network_problems(networks)
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(networks)


def _watchdog_interval(value: Any, raw: dict) -> int:
    if value in ("0", 0):
        return 0
    seconds = _at_most(86400)(value, raw)
    if seconds % 60:
        raise ValueError(f"{value!r} is not allowed; expected 0 (off) or whole minutes from 1m to 24h")
    return seconds


# Each `interlock:` key: the StackSettings attribute it becomes and its parser (raw value, all raw values) -> value.
_KEYS: dict[str, tuple[str, Callable[[Any, dict], Any]]] = {
    "projectName": (
        "project_name",
        _pattern(PROJECT_NAME, "3-32 lowercase letters, digits or hyphens, starting with a letter"),
    ),
    "tableName": ("table_name", _pattern(TABLE_NAME, "empty or 3-255 of letters, digits, _ . -", empty_ok=True)),
    "readinessTtl": ("readiness_ttl_seconds", _whole_seconds),
    "retentionTtl": ("retention_ttl_seconds", _whole_seconds),
    "snsTopicName": ("sns_topic_name", _pattern(TOPIC_NAME, "empty or 1-256 of letters, digits, _ -", empty_ok=True)),
    "lambdaMemory": ("lambda_memory", _integer(128, 10240)),
    "lambdaTimeout": ("lambda_timeout", _integer(1, 900)),
    "evaluatorBaseUrl": ("evaluator_base_url", _url),
    "archetypeDir": ("archetype_dir", _absolute_path),
    "dataBucketName": (
        "data_bucket_name",
        _pattern(BUCKET_NAME, "empty or a valid S3 bucket name (3-63 lowercase letters, digits, . -)", empty_ok=True),
    ),
    "logRetentionDays": ("log_retention_days", _choice(LOG_RETENTION_DAYS)),
    "logLevel": ("log_level", _choice(LOG_LEVELS)),
    "architecture": ("architecture", _choice(ARCHITECTURES)),
    "pythonRuntime": ("python_runtime", _choice(PYTHON_RUNTIMES)),
    "schedules": ("schedules", _schedules),
    "alertSubscriptions": ("alert_subscriptions", _subscriptions),
    "triggerPermissions": ("trigger_permissions", _trigger_permissions),
    "secretArns": ("secret_arns", _string_list(SECRET_ARN, "a Secrets Manager secret ARN")),
    "evaluatorBucketArns": (
        "evaluator_bucket_arns",
        _string_list(BUCKET_ARN, "an S3 bucket ARN (arn:aws:s3:::<bucket>)"),
    ),
    "allowedNetworks": ("allowed_networks", _networks),
    "pollInterval": ("poll_interval_seconds", _whole_seconds),
    "maxPollAttempts": ("max_poll_attempts", _integer(1, 10000)),
    "completionCheckInterval": ("completion_check_interval", _whole_seconds),
    "evaluationInterval": ("evaluation_interval_seconds", _whole_seconds),
    "evaluationWindow": ("evaluation_window_seconds", _whole_seconds),
    "monitoringInterval": ("monitoring_interval_seconds", _whole_seconds),
    "executionTimeout": ("execution_timeout_seconds", _at_most(MAX_EXECUTION_SECONDS)),
    "deletionProtection": ("deletion_protection", _boolean),
    "pointInTimeRecovery": ("point_in_time_recovery", _boolean),
    "kmsKeyArn": (
        "kms_key_arn",
        _pattern(KMS_KEY_ARN, "empty or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)", empty_ok=True),
    ),
    "pipelinesDir": ("pipelines_dir", _relative_dir),
    "watchdogInterval": ("watchdog_interval_seconds", _watchdog_interval),
    "dryRun": ("dry_run", _boolean),
}
