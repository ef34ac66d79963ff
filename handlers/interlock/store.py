"""The single data-access module: the only code that knows the table's key formats and calls DynamoDB.

Key formats (DESIGN §5 is kept identical to this list):

    pipeline config   PIPELINE#{id}           CONFIG                                   GSI1 PIPELINES / {id}
    downstream edge   PIPELINE#{upstream}     DOWNSTREAM#{downstream id}
    trait result      PIPELINE#{id}           TRAIT#{traitType}
    marker            PIPELINE#{id}           MARKER#{source}#{timestamp}#{nonce}
    lock              LOCK#{id}#{scheduleID}  LOCK
    run state         RUN#{runID}             STATE
    run list copy     PIPELINE#{id}           RUN#{createdAt}#{runID}
    run log           PIPELINE#{id}           RUNLOG#{date}#{scheduleID}       + ledger inFlight, rerunCount, ...
    event             PIPELINE#{id}           EVENT#{16-digit epoch micros}#{8 hex}
    rerun             PIPELINE#{id}           RERUN#{rerunID}
    late arrival      PIPELINE#{id}           LATEARRIVAL#{date}#{scheduleID}#{traitType}#{millis}
    alert claim       PIPELINE#{id}           ALERT#{runKey}#{alertType}
    pause             PIPELINE#{id}           PAUSED
    awaited job run   JOBRUN#{type}#{identity}  AWAIT                              + taskToken, outcome

Every item that may expire carries `expiresAt` (epoch seconds). DynamoDB deletes expired items up to ~48 h late,
so every read here treats an item whose `expiresAt` has passed as absent, and the lock condition compares it too.
A ClientError other than a failed condition means the environment is broken and propagates.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import clients, schema, settings
from .models import DEFAULT_SCHEDULE, RunStatus, check_transition, is_terminal

PIPELINE_LIST_KEY = "PIPELINES"
RUN_LOG_TTL_SECONDS = 30 * 86400
RUN_LOG_LEDGER = ("inFlight", "rerunCount", "rerunExecution")  # run log attributes kept beside `data`
RECORD_TTL_SECONDS = 30 * 86400
NON_TERMINAL_RUN_GRACE_SECONDS = 86400
PAGE_SIZE = 100  # Limit per Query page; tests lower it to exercise pagination
BATCH_WRITE_ITEMS = 25  # BatchWriteItem's limit per request
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"  # EventBridge Scheduler fills in the scheduled time (RFC 3339)

clock = time.time  # tests replace it to move time


class ConcurrentUpdate(Exception):
    """A compare-and-swap lost: the item changed since it was read."""


class RunNotFound(LookupError):
    """No (unexpired) run state item for the run ID."""


# --- keys ----------------------------------------------------------------------------------------------------------


def pipeline_pk(pipeline_id: str) -> str:
    return f"PIPELINE#{pipeline_id}"


def pipeline_id_of(pk: str) -> str | None:
    """The pipeline ID of a `PIPELINE#{id}` partition key; None for any other key."""
    prefix = pipeline_pk("")
    return pk[len(prefix) :] if pk.startswith(prefix) else None


def lock_pk(pipeline_id: str, schedule_id: str) -> str:
    return f"LOCK#{pipeline_id}#{schedule_id or DEFAULT_SCHEDULE}"


def run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


def run_log_sk(date: str, schedule_id: str) -> str:
    return f"RUNLOG#{date}#{schedule_id or DEFAULT_SCHEDULE}"


def marker_sk(source: str, timestamp: str, nonce: str) -> str:
    return f"{schema.MARKER_PREFIX}{source}#{timestamp}#{nonce}"


def marker_key_fields(sk: str) -> tuple[str, str] | None:
    """The (source, timestamp) segments of a marker's sort key ("" where a hand-written key lacks one), or None
    when `sk` is not a marker key."""
    if not sk.startswith(schema.MARKER_PREFIX):
        return None
    source, _, rest = sk[len(schema.MARKER_PREFIX) :].partition("#")
    return source, rest.partition("#")[0]


# --- plumbing --------------------------------------------------------------------------------------------------


def _table() -> str:
    name = settings.get().table_name
    if not name:
        raise RuntimeError("TABLE_NAME environment variable required")
    return name


def _ddb():
    return clients.client("dynamodb")


def _now() -> float:
    return clock()


def _iso(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sortable(epoch: float) -> str:
    """Fixed-width UTC timestamp: lexicographic order is time order."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.cache
def _marshallers():
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer  # boto3 loads on first use (cold start)

    return TypeSerializer(), TypeDeserializer()


def _exact(value: Any) -> Any:
    """DynamoDB numbers are exact: floats go in as Decimal."""
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exact(v) for v in value]
    return value


def _native(value: Any) -> Any:
    """Numbers come back as int when whole, else float."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return type(value)(_native(v) for v in value)
    return value


def _typed(value: Any) -> dict:
    """One plain Python value as a DynamoDB attribute value."""
    return _marshallers()[0].serialize(_exact(value))


def typed_item(values: dict) -> dict:
    """A plain item as DynamoDB attribute values; None values are left out."""
    return {k: _typed(v) for k, v in values.items() if v is not None}


def _plain(attr: dict) -> Any:
    return _native(_marshallers()[1].deserialize(attr))


def plain_item(item: dict) -> dict:
    """A DynamoDB-typed item (or stream image) as plain Python values."""
    return {k: _plain(v) for k, v in item.items()}


def _live(item: dict) -> bool:
    expires = item.get(schema.TTL_ATTRIBUTE)
    if expires is None:
        return True
    try:
        return float(_plain(expires)) > _now()
    except (TypeError, ValueError, decimal.InvalidOperation):
        return True


def _data(item: dict) -> dict | None:
    return _json_object(item.get("data", {}).get("S"))


def _json_object(raw: Any) -> dict | None:
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # written by hand or another tool: treated as absent
        return None
    return data if isinstance(data, dict) else None


def _get(pk: str, sk: str, *, consistent: bool = False) -> dict | None:
    response = _ddb().get_item(TableName=_table(), Key=_key(pk, sk), ConsistentRead=consistent)
    item = response.get("Item")
    return item if item and _live(item) else None


def _query(pk: str, prefix: str, *, descending: bool = False, limit: int | None = None) -> Iterator[dict]:
    """Live items of a partition whose SK starts with `prefix`, following every page."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": _typed(pk), ":prefix": _typed(prefix)},
        "ScanIndexForward": not descending,
        "Limit": PAGE_SIZE,
    }
    returned = 0
    while True:
        page = _ddb().query(**kwargs)
        for item in page.get("Items", []):
            if _live(item):
                yield item
                returned += 1
                if limit is not None and returned >= limit:
                    return
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _item(pk: str, sk: str, **attributes: Any) -> dict:
    return {schema.PARTITION_KEY: pk, schema.SORT_KEY: sk, **attributes}


def _key(pk: str, sk: str) -> dict:
    return typed_item(_item(pk, sk))


def _put(values: dict) -> None:
    _ddb().put_item(TableName=_table(), Item=typed_item(values))


def _conditional(operation: str, **request: Any) -> bool:
    """Run a conditional write (`put_item`, `update_item` or `delete_item`) on the table. False when its condition
    failed; any other error propagates."""
    return _conditional_response(operation, **request) is not None


def _conditional_response(operation: str, **request: Any) -> dict | None:
    """`_conditional`, answering the write's response (None when its condition failed)."""
    try:
        return getattr(_ddb(), operation)(TableName=_table(), **request)
    except Exception as exc:  # botocore's ClientError, which this module does not import at load time
        if clients.error_code(exc) != "ConditionalCheckFailedException":
            raise
        return None


# --- pipelines -------------------------------------------------------------------------------------------------


def pipeline_item(config: dict) -> dict:
    """The table item (plain Python values) that stores a pipeline config; `data` holds the config as JSON."""
    name = config["name"]
    return _item(
        pipeline_pk(name),
        "CONFIG",
        **{
            schema.GSI1_PARTITION_KEY: PIPELINE_LIST_KEY,
            schema.GSI1_SORT_KEY: name,
            "name": name,
            "archetype": config.get("archetype", ""),
            "data": json.dumps(config, sort_keys=True, separators=(",", ":")),
        },
    )


def downstream_sk(downstream_id: str) -> str:
    return f"DOWNSTREAM#{downstream_id}"


def upstreams_of(config: Any) -> set[str]:
    """The pipelines a config names as `traits.<t>.config.upstreamPipeline` (itself excluded). Any value is
    accepted: what is not a non-empty string names no upstream."""
    traits = config.get("traits") if isinstance(config, dict) else None
    if not isinstance(traits, dict):
        return set()
    upstreams = set()
    for trait in traits.values():
        trait_config = trait.get("config") if isinstance(trait, dict) else None
        upstream = trait_config.get("upstreamPipeline") if isinstance(trait_config, dict) else None
        if isinstance(upstream, str) and upstream:
            upstreams.add(upstream)
    upstreams.discard(config.get("name"))
    return upstreams


def pipeline_items(config: dict) -> list[dict]:
    """Every item that registers a pipeline config (plain values): its CONFIG item, then one downstream-index edge
    under each upstream it names, so the upstream's cascade finds it without listing every pipeline."""
    edges = [downstream_item(upstream, config["name"]) for upstream in sorted(upstreams_of(config))]
    return [pipeline_item(config), *edges]


def downstream_item(upstream_id: str, downstream_id: str) -> dict:
    """The downstream-index edge (plain values): `downstream_id` names `upstream_id` as an upstream."""
    return _item(pipeline_pk(upstream_id), downstream_sk(downstream_id))


def put_pipeline(config: dict) -> None:
    """Register (overwrite) a pipeline config with its downstream-index edges. The edges go first and the edges of
    upstreams its previous version named, and this one does not, are removed last: whichever write fails, no config
    lacks its edges, and an extra edge is only a read that the cascade's check discards."""
    config_item, *edges = pipeline_items(config)
    stale = sorted(upstreams_of(get_pipeline(config["name"])) - upstreams_of(config))
    _write_batch(puts=edges)
    _put(dict(config_item, updatedAt=_iso(_now())))
    _write_batch(deletes=[(pipeline_pk(upstream), downstream_sk(config["name"])) for upstream in stale])


def get_pipeline(pipeline_id: str) -> dict | None:
    """The stored config dict, or None when missing (or its `data` is not a JSON object)."""
    item = _get(pipeline_pk(pipeline_id), "CONFIG")
    return _data(item) if item else None


def list_pipelines() -> list[dict]:
    """Every stored pipeline config (GSI1, all pages). Items whose data is corrupt are skipped."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": schema.GSI1_NAME,
        "KeyConditionExpression": f"{schema.GSI1_PARTITION_KEY} = :pk",
        "ExpressionAttributeValues": {":pk": _typed(PIPELINE_LIST_KEY)},
        "Limit": PAGE_SIZE,
    }
    configs: list[dict] = []
    while True:
        page = _ddb().query(**kwargs)
        configs += [d for d in (_data(i) for i in page.get("Items", []) if _live(i)) if d is not None]
        if "LastEvaluatedKey" not in page:
            return configs
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def delete_pipeline(pipeline_id: str) -> None:
    """Remove a pipeline config, then the downstream-index edges it wrote."""
    upstreams = sorted(upstreams_of(get_pipeline(pipeline_id)))
    _ddb().delete_item(TableName=_table(), Key=_key(pipeline_pk(pipeline_id), "CONFIG"))
    _write_batch(deletes=[(pipeline_pk(upstream), downstream_sk(pipeline_id)) for upstream in upstreams])


def downstream_configs(upstream_id: str) -> list[dict]:
    """The current configs of the pipelines the downstream index lists under `upstream_id`: one Query page and one
    BatchGetItem per 100 downstreams, whatever the number of pipelines. An edge says only that its downstream once
    named this upstream; the caller checks each config still does (a stale or hand-written edge costs a read)."""
    prefix = downstream_sk("")
    names = [_plain(item[schema.SORT_KEY])[len(prefix) :] for item in _query(pipeline_pk(upstream_id), prefix)]
    if not names:
        return []
    found = get_many([(pipeline_pk(name), "CONFIG") for name in names])
    configs = (_json_object(found.get((pipeline_pk(name), "CONFIG"), {}).get("data")) for name in names)
    return [config for config in configs if config is not None]


def _write_batch(puts: Sequence[dict] = (), deletes: Sequence[Key] = ()) -> None:
    """Put `puts` (plain items) and delete the items at `deletes`: BatchWriteItem, 25 per request, asking again
    for what DynamoDB leaves unprocessed. Not atomic: callers order their writes so that any prefix is safe."""
    requests = [{"PutRequest": {"Item": typed_item(item)}} for item in puts]
    requests += [{"DeleteRequest": {"Key": _key(pk, sk)}} for pk, sk in deletes]
    for start in range(0, len(requests), BATCH_WRITE_ITEMS):
        pending = {_table(): requests[start : start + BATCH_WRITE_ITEMS]}
        while pending:
            pending = _ddb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


# --- traits ----------------------------------------------------------------------------------------------------


def put_trait_result(pipeline_id: str, trait_type: str, result: dict, ttl_seconds: int) -> str:
    """Store the latest result of one trait; it expires after `ttl_seconds` (READINESS_TTL when <= 0). Returns
    when (`expiresAt`, RFC 3339)."""
    ttl = ttl_seconds if ttl_seconds and ttl_seconds > 0 else settings.get().readiness_ttl_seconds
    now = _now()
    data = dict(result, pipelineID=pipeline_id, traitType=trait_type)
    data.setdefault("evaluatedAt", _iso(now))
    data["expiresAt"] = _iso(now + ttl)
    _put(_item(pipeline_pk(pipeline_id), f"TRAIT#{trait_type}", data=json.dumps(data), expiresAt=int(now + ttl)))
    return data["expiresAt"]


def get_trait_result(pipeline_id: str, trait_type: str) -> dict | None:
    item = _get(pipeline_pk(pipeline_id), f"TRAIT#{trait_type}")
    return _data(item) if item else None


def list_trait_results(pipeline_id: str) -> list[dict]:
    return [d for d in (_data(i) for i in _query(pipeline_pk(pipeline_id), "TRAIT#")) if d is not None]


# --- events ----------------------------------------------------------------------------------------------------


def append_event(
    pipeline_id: str,
    kind: str,
    *,
    run_id: str | None = None,
    trait_type: str | None = None,
    status: str | None = None,
    message: str | None = None,
    details: dict | None = None,
) -> None:
    """Append one audit event (kept for RETENTION_TTL)."""
    now = _now()
    event = {"kind": kind, "pipelineID": pipeline_id, "timestamp": _iso(now)}
    for key, value in (
        ("runID", run_id),
        ("traitType", trait_type),
        ("status", status),
        ("message", message),
        ("details", details),
    ):
        if value not in (None, ""):
            event[key] = value
    sk = f"EVENT#{int(now * 1_000_000):016d}#{secrets.token_hex(4)}"
    _put(
        _item(
            pipeline_pk(pipeline_id),
            sk,
            data=json.dumps(event, default=str),
            expiresAt=int(now + settings.get().retention_ttl_seconds),
        )
    )


def list_events(pipeline_id: str, limit: int = 50) -> list[dict]:
    """The newest `limit` events, oldest first."""
    items = list(_query(pipeline_pk(pipeline_id), "EVENT#", descending=True, limit=limit))
    return [d for d in (_data(i) for i in reversed(items)) if d is not None]


# --- markers ---------------------------------------------------------------------------------------------------


def marker_item(pipeline_id: str, *, source: str, timestamp: str, nonce: str, schedule_id: str, date: str) -> dict:
    """A marker's key and the attributes the stream-router reads (plain values)."""
    return _item(
        pipeline_pk(pipeline_id),
        marker_sk(source, timestamp, nonce),
        scheduleID=schedule_id or DEFAULT_SCHEDULE,
        date=date,
        source=source,
    )


def scheduled_marker_item(pipeline_id: str, schedule_name: str, *, schedule_id: str, timezone: str) -> dict:
    """The item (DynamoDB-typed) that EventBridge Scheduler's universal target `dynamodb:putItem` writes for a
    schedule: a marker keyed by the scheduled time and the schedule's name, without expiry.

    Scheduler fills `<aws.scheduler.scheduled-time>` (RFC 3339, UTC). It cannot compute a calendar date, so `date`
    carries that timestamp and `timezone` the schedule's zone; the stream-router derives the run date as the
    timestamp's calendar date in that zone (DESIGN §10.1).
    """
    item = marker_item(
        pipeline_id,
        source="schedule",
        timestamp=SCHEDULED_TIME,
        nonce=schedule_name,
        schedule_id=schedule_id,
        date=SCHEDULED_TIME,
    )
    return typed_item(dict(item, timezone=timezone))


def write_marker(
    pipeline_id: str,
    *,
    schedule_id: str,
    date: str,
    source: str,
    replay: bool = False,
    attributes: dict[str, str] | None = None,
) -> str:
    """Write a MARKER item (the stream-router starts an execution for it) and return its SK."""
    now = _now()
    item = marker_item(
        pipeline_id,
        source=(source or "manual").replace("#", "-"),
        timestamp=_sortable(now),
        nonce=secrets.token_hex(3),
        schedule_id=schedule_id,
        date=date,
    )
    _put(
        {
            **(attributes or {}),
            **item,
            "replay": bool(replay),
            "createdAt": _iso(now),
            "expiresAt": int(now + settings.get().retention_ttl_seconds),
        }
    )
    return item[schema.SORT_KEY]


def list_markers(pipeline_id: str) -> list[dict]:
    """Live markers of a pipeline as plain dicts (oldest source/timestamp first)."""
    return [plain_item(i) for i in _query(pipeline_pk(pipeline_id), schema.MARKER_PREFIX)]


# --- locks -----------------------------------------------------------------------------------------------------


def acquire_lock(pipeline_id: str, schedule_id: str, owner: str, lease_seconds: int) -> tuple[bool, dict | None]:
    """Take the (pipeline, schedule) lock for `owner` for `lease_seconds`.

    Succeeds when no lock exists, when the existing lease has expired (compared here, because DynamoDB deletes
    late) or when `owner` already holds it (a retried invocation). Returns (acquired, current holder if not).
    """
    now = _now()
    condition = "attribute_not_exists(PK) OR expiresAt <= :now OR #owner = :owner"
    if _put_lock(pipeline_id, schedule_id, owner, lease_seconds, now, condition, {":now": int(now), ":owner": owner}):
        return True, None
    return False, get_lock(pipeline_id, schedule_id)


def get_lock(pipeline_id: str, schedule_id: str) -> dict | None:
    item = _get(lock_pk(pipeline_id, schedule_id), "LOCK", consistent=True)
    return plain_item(item) if item else None


def release_lock(pipeline_id: str, schedule_id: str, owner: str) -> bool:
    """Delete the lock only if `owner` holds it. False when it is missing or held by someone else."""
    return _conditional(
        "delete_item",
        Key=_key(lock_pk(pipeline_id, schedule_id), "LOCK"),
        ConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={":owner": _typed(owner)},
    )


def release_lock_recorded(
    pipeline_id: str, schedule_id: str, owner: str, kind: str, message: str, details: dict
) -> bool:
    """`release_lock` by someone other than the owner's execution (the watchdog, an operator): the release is
    recorded as an event of `kind`, with the owner and schedule in its details."""
    released = release_lock(pipeline_id, schedule_id, owner)
    if released:
        append_event(pipeline_id, kind, message=message, details={"owner": owner, "scheduleID": schedule_id, **details})
    return released


def take_over_lock(pipeline_id: str, schedule_id: str, ended_owner: str, owner: str, lease_seconds: int) -> bool:
    """Give the lock held by `ended_owner` (an execution that is no longer running) to `owner` for
    `lease_seconds`. False when someone else changed the lock first."""
    return _put_lock(pipeline_id, schedule_id, owner, lease_seconds, _now(), "#owner = :ended", {":ended": ended_owner})


def _put_lock(
    pipeline_id: str, schedule_id: str, owner: str, lease_seconds: int, now: float, condition: str, values: dict
) -> bool:
    """Write `owner`'s lock, leased from `now` for `lease_seconds`, if `condition` holds (`#owner` names the
    holder attribute; `values` are the condition's placeholders). False when it does not."""
    item = _item(
        lock_pk(pipeline_id, schedule_id),
        "LOCK",
        owner=owner,
        pipelineID=pipeline_id,
        scheduleID=schedule_id or DEFAULT_SCHEDULE,
        acquiredAt=_iso(now),
        expiresAt=int(now + lease_seconds),
    )
    return _conditional(
        "put_item",
        Item=typed_item(item),
        ConditionExpression=condition,
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues={name: _typed(value) for name, value in values.items()},
    )


# --- run state and run log records -----------------------------------------------------------------------------

# Run state and run log `data` keys are read case-insensitively, so items written with other spellings
# (`pipelineId`, `runId`: the original system's run log format and this table's items written before the wire keys
# were unified) still read.
_RUN_RECORD_FIELDS = (
    "runID",
    "pipelineID",
    "scheduleID",
    "date",
    "status",
    "version",
    "createdAt",
    "createdAtKey",
    "updatedAt",
    "metadata",
    "attemptNumber",
    "failureMessage",
    "failureCategory",
    "alertSent",
    "retryHistory",
    "startedAt",
    "completedAt",
    "triggeredAt",
)
_RUN_RECORD_SPELLING = {name.lower(): name for name in _RUN_RECORD_FIELDS}


def _run_record(data: dict) -> dict:
    return {_RUN_RECORD_SPELLING.get(k.lower(), k): v for k, v in data.items()}


def _run_records(items: Iterator[dict]) -> list[dict]:
    return [_run_record(d) for d in (_data(i) for i in items) if d is not None]


# --- run state -------------------------------------------------------------------------------------------------


def _run_expiry(status: str, now: float) -> int:
    retention = settings.get().retention_ttl_seconds
    return int(now + retention + (0 if is_terminal(status) else NON_TERMINAL_RUN_GRACE_SECONDS))


def _put_run_list_copy(run: dict, now: float) -> None:
    _put(
        _item(
            pipeline_pk(run["pipelineID"]),
            f"RUN#{run['createdAtKey']}#{run['runID']}",
            data=json.dumps(run),
            status=run["status"],
            expiresAt=_run_expiry(run["status"], now),
        )
    )


def create_run(run_id: str, pipeline_id: str, *, schedule_id: str, date: str) -> dict:
    """Create the run state PENDING, version 1. Raises ConcurrentUpdate if the run ID already exists."""
    now = _now()
    run = {
        "runID": run_id,
        "pipelineID": pipeline_id,
        "scheduleID": schedule_id or DEFAULT_SCHEDULE,
        "date": date,
        "status": RunStatus.PENDING,
        "version": 1,
        "createdAt": _iso(now),
        "createdAtKey": _sortable(now),
        "updatedAt": _iso(now),
        "metadata": {},
    }
    item = _item(
        run_pk(run_id),
        "STATE",
        data=json.dumps(run),
        status=run["status"],
        version=1,
        pipelineID=pipeline_id,
        expiresAt=_run_expiry(run["status"], now),
    )
    if not _conditional("put_item", Item=typed_item(item), ConditionExpression="attribute_not_exists(PK)"):
        raise ConcurrentUpdate(f"run {run_id} already exists")
    _put_run_list_copy(run, now)
    return run


def get_run(run_id: str) -> dict | None:
    """The run state (strongly consistent read), or None."""
    item = _get(run_pk(run_id), "STATE", consistent=True)
    run = _data(item) if item else None
    if run is None:
        return None
    return dict(_run_record(run), version=int(_plain(item["version"])))


def transition_run(
    run_id: str, to_status: str, *, metadata: dict | None = None, expected_version: int | None = None
) -> dict:
    """Move a run to `to_status` with compare-and-swap on `version` (merging `metadata`). Raises RunNotFound,
    models.InvalidTransition, or ConcurrentUpdate when the run changed since it was read (or since
    `expected_version`)."""
    current = get_run(run_id)
    if current is None:
        raise RunNotFound(f"run {run_id} not found")
    version = current["version"]
    if expected_version is not None and expected_version != version:
        raise ConcurrentUpdate(f"run {run_id} is at version {version}, expected {expected_version}")
    check_transition(current["status"], to_status)
    now = _now()
    run = dict(
        current,
        status=to_status,
        version=version + 1,
        updatedAt=_iso(now),
        metadata={**(current.get("metadata") or {}), **(metadata or {})},
        **({"triggeredAt": _iso(now)} if to_status == RunStatus.TRIGGERING else {}),  # sla.maxDuration counts from it
    )
    if not _conditional(
        "update_item",
        Key=_key(run_pk(run_id), "STATE"),
        UpdateExpression="SET #data = :data, #status = :status, #version = :new, expiresAt = :exp",
        ConditionExpression="#version = :expected",
        ExpressionAttributeNames={"#data": "data", "#status": "status", "#version": "version"},
        ExpressionAttributeValues={
            ":data": _typed(json.dumps(run)),
            ":status": _typed(to_status),
            ":new": _typed(version + 1),
            ":expected": _typed(version),
            ":exp": _typed(_run_expiry(to_status, now)),
        },
    ):
        raise ConcurrentUpdate(f"run {run_id} changed concurrently (expected version {version})")
    _put_run_list_copy(run, now)
    return run


def list_runs(pipeline_id: str, limit: int = 10) -> list[dict]:
    """The newest runs of a pipeline (list copies), newest first."""
    return _run_records(_query(pipeline_pk(pipeline_id), "RUN#", descending=True, limit=limit))


# --- run logs --------------------------------------------------------------------------------------------------


def get_run_log(pipeline_id: str, date: str, schedule_id: str = DEFAULT_SCHEDULE) -> dict | None:
    """The run log of (pipeline, date, schedule) with its ledger fields (`inFlight`, `rerunCount`,
    `rerunExecution`), or None. An item that holds only a claim reads as its key fields and the claim."""
    item = _get(pipeline_pk(pipeline_id), run_log_sk(date, schedule_id), consistent=True)
    if item is None:
        return None
    data = _data(item)
    ledger = {name: _plain(item[name]) for name in RUN_LOG_LEDGER if name in item}
    if data is None:
        if not ledger:
            return None
        data = {"pipelineID": pipeline_id, "date": date, "scheduleID": schedule_id or DEFAULT_SCHEDULE}
    return {**_run_record(data), **ledger}


def put_run_log(entry: dict, *, close_claim: bool = False) -> None:
    """Write (replace) a run log entry; `pipelineID`, `date` and `scheduleID` form its key (keys of `entry` are
    matched case-insensitively, as when reading). The ledger fields are kept, except that `close_claim` removes the
    open claim (`inFlight`) in the same write."""
    entry = {k: v for k, v in _run_record(entry).items() if k not in RUN_LOG_LEDGER}
    entry["scheduleID"] = entry.get("scheduleID") or DEFAULT_SCHEDULE
    _ddb().update_item(
        TableName=_table(),
        Key=_key(pipeline_pk(entry["pipelineID"]), run_log_sk(entry["date"], entry["scheduleID"])),
        UpdateExpression="SET #data = :data, #status = :status, expiresAt = :exp"
        + (" REMOVE inFlight" if close_claim else ""),
        ExpressionAttributeNames={"#data": "data", "#status": "status"},
        ExpressionAttributeValues={
            ":data": _typed(json.dumps(entry)),
            ":status": _typed(entry.get("status") or ""),
            ":exp": _typed(int(_now() + RUN_LOG_TTL_SECONDS)),
        },
    )


def claim_attempt(pipeline_id: str, date: str, schedule_id: str, claim: dict) -> tuple[dict | None, bool]:
    """Claim an attempt before starting its job: set the run log's `inFlight` to `claim` (`{attempt, runID,
    execution, claimedAt, triggerType}`) unless an open claim exists. Returns (the open claim, whether it was made
    now): the claim of the same `runID` is ours already (a retried or adopted start); another run's claim is
    returned with False and nothing changes."""
    key = _key(pipeline_pk(pipeline_id), run_log_sk(date, schedule_id))
    if _conditional(
        "update_item",
        Key=key,
        UpdateExpression="SET inFlight = :claim, expiresAt = :exp",
        ConditionExpression="attribute_not_exists(inFlight)",
        ExpressionAttributeValues={":claim": _typed(claim), ":exp": _typed(int(_now() + RUN_LOG_TTL_SECONDS))},
    ):
        return claim, True
    held = (get_run_log(pipeline_id, date, schedule_id) or {}).get("inFlight") or {}
    return (held, False) if held.get("runID") == claim["runID"] else (None, False)


def record_job(pipeline_id: str, date: str, schedule_id: str, run_id: str, metadata: dict) -> bool:
    """Record the identity of the job started for the open claim of `run_id` (False when the claim is not that
    run's)."""
    return _conditional(
        "update_item",
        Key=_key(pipeline_pk(pipeline_id), run_log_sk(date, schedule_id)),
        UpdateExpression="SET inFlight.metadata = :metadata",
        ConditionExpression="inFlight.runID = :run",
        ExpressionAttributeValues={":metadata": _typed(metadata), ":run": _typed(run_id)},
    )


def count_rerun(pipeline_id: str, date: str, schedule_id: str, execution: str, limit: int) -> bool:
    """Count one replay or drift rerun of the date for `execution`, unless `limit` reruns were counted already."""
    return _conditional(
        "update_item",
        Key=_key(pipeline_pk(pipeline_id), run_log_sk(date, schedule_id)),
        UpdateExpression="SET rerunCount = if_not_exists(rerunCount, :zero) + :one, rerunExecution = :execution",
        ConditionExpression="attribute_not_exists(rerunCount) OR rerunCount < :limit",
        ExpressionAttributeValues={
            ":zero": _typed(0),
            ":one": _typed(1),
            ":execution": _typed(execution),
            ":limit": _typed(limit),
        },
    )


def record_execution_end(
    pipeline_id: str, date: str, schedule_id: str, entry_for: Callable[[dict | None], dict | None]
) -> dict | None:
    """Rewrite the run log of (pipeline, date, schedule) after an execution ended abnormally.

    `entry_for(current)` answers the new entry from the current one, ledger fields included (None: leave the run
    log as it is). Only `data`, `status` and `expiresAt` are set, compare-and-swap on the current `data`, so the
    ledger is kept and a concurrent write is read again (3 tries). Returns the entry written, or None.
    """
    key = _key(pipeline_pk(pipeline_id), run_log_sk(date, schedule_id))
    for _ in range(3):
        item = _get(pipeline_pk(pipeline_id), run_log_sk(date, schedule_id), consistent=True)
        current = _data(item) if item else None
        ledger = {name: _plain(item[name]) for name in RUN_LOG_LEDGER if name in item} if item else {}
        entry = entry_for({**_run_record(current or {}), **ledger} if current is not None or ledger else None)
        if entry is None:
            return None
        entry = {k: v for k, v in entry.items() if k not in RUN_LOG_LEDGER}
        values = {
            ":data": _typed(json.dumps(entry)),
            ":status": _typed(entry.get("status")),
            ":exp": _typed(int(_now() + RUN_LOG_TTL_SECONDS)),
        }
        if current is None:
            condition = "attribute_not_exists(#data) OR #expires <= :now"
            values[":now"] = _typed(int(_now()))
        else:
            condition = "#data = :current"
            values[":current"] = item["data"]
        if _conditional(
            "update_item",
            Key=key,
            UpdateExpression="SET #data = :data, #status = :status, #expires = :exp",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#data": "data", "#status": "status", "#expires": "expiresAt"},
            ExpressionAttributeValues=values,
        ):
            return entry
    raise ConcurrentUpdate(f"run log {run_log_sk(date, schedule_id)} of {pipeline_id} kept changing")


def list_run_logs(pipeline_id: str, limit: int = 20) -> list[dict]:
    """Newest dates first."""
    return _run_records(_query(pipeline_pk(pipeline_id), "RUNLOG#", descending=True, limit=limit))


# --- job runs awaited by an execution (completion by event) --------------------------------------------------
# One item per job run, written by two parties in either order: the execution's wait (its task token) and the job's
# outcome (from the service's event, or from the status call the wait makes). Both are atomic updates answering the
# whole item, so whichever writes second sees the other's part and resumes the execution (DESIGN §10.3).

JOB_RUN_SK = "AWAIT"


def job_run_pk(trigger_type: str, identity: tuple[str, ...]) -> str:
    """The key of one job run: its type and identity values (IDs and ARNs, none holding `#`, except possibly a Glue
    job name, which comes first, so the key stays unambiguous)."""
    return "#".join(("JOBRUN", trigger_type, *identity))


def arm_job_run(trigger_type: str, identity: tuple[str, ...], wait: dict) -> dict | None:
    """Store the waiting execution's `wait` {taskToken, execution, pipelineID, runID, attempt} on the job run's item
    (replacing an earlier wait's); the outcome recorded before it (an event came first), else None."""
    now = _now()
    values = {**wait, "armedAt": _iso(now), schema.TTL_ATTRIBUTE: int(now + RECORD_TTL_SECONDS)}
    names = {f"#{name}": name for name in values}
    response = _ddb().update_item(
        TableName=_table(),
        Key=_key(job_run_pk(trigger_type, identity), JOB_RUN_SK),
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": _typed(value) for name, value in values.items()},
        ReturnValues="ALL_NEW",
    )
    outcome = response.get("Attributes", {}).get("outcome")
    return _plain(outcome) if outcome else None


def record_job_outcome(trigger_type: str, identity: tuple[str, ...], outcome: dict) -> dict | None:
    """Record a finished job run's `outcome` {state, message, failureCategory} once. None when one was recorded
    before (a duplicate or late event, or a status call that found the end first); else the item as written, whose
    `taskToken` and `attempt` (absent while no execution waits yet) say whom to resume."""
    now = _now()
    response = _conditional_response(
        "update_item",
        Key=_key(job_run_pk(trigger_type, identity), JOB_RUN_SK),
        UpdateExpression="SET outcome = :outcome, finishedAt = :now, #ttl = :expires",
        ConditionExpression="attribute_not_exists(outcome)",
        ExpressionAttributeNames={"#ttl": schema.TTL_ATTRIBUTE},
        ExpressionAttributeValues={
            ":outcome": _typed(outcome),
            ":now": _typed(_iso(now)),
            ":expires": _typed(int(now + RECORD_TTL_SECONDS)),
        },
        ReturnValues="ALL_NEW",
    )
    if response is None:
        return None
    return plain_item(response.get("Attributes", {}))


# --- reruns, late arrivals, alert claims -----------------------------------------------------------------------


def put_rerun(pipeline_id: str, record: dict) -> None:
    """Store a rerun request (`record["rerunID"]` is its key)."""
    _put(
        _item(
            pipeline_pk(pipeline_id),
            f"RERUN#{record['rerunID']}",
            data=json.dumps(dict(record, pipelineID=pipeline_id)),
            expiresAt=int(_now() + RECORD_TTL_SECONDS),
        )
    )


def list_reruns(pipeline_id: str) -> list[dict]:
    return [d for d in (_data(i) for i in _query(pipeline_pk(pipeline_id), "RERUN#")) if d is not None]


def put_late_arrival(
    pipeline_id: str, *, date: str, schedule_id: str, trait_type: str, details: dict | None = None
) -> None:
    """Record that `trait_type` changed after the run of (date, schedule) was triggered."""
    now = _now()
    schedule_id = schedule_id or DEFAULT_SCHEDULE
    record = {
        "pipelineID": pipeline_id,
        "date": date,
        "scheduleID": schedule_id,
        "traitType": trait_type,
        "detectedAt": _iso(now),
        **(details or {}),
    }
    _put(
        _item(
            pipeline_pk(pipeline_id),
            f"LATEARRIVAL#{date}#{schedule_id}#{trait_type}#{int(now * 1000):013d}",
            data=json.dumps(record),
            expiresAt=int(now + RECORD_TTL_SECONDS),
        )
    )


def list_late_arrivals(pipeline_id: str, date: str, schedule_id: str = DEFAULT_SCHEDULE) -> list[dict]:
    prefix = f"LATEARRIVAL#{date}#{schedule_id or DEFAULT_SCHEDULE}#"
    return [d for d in (_data(i) for i in _query(pipeline_pk(pipeline_id), prefix)) if d is not None]


def _alert_sk(run_key: str, alert_type: str) -> str:
    return f"ALERT#{run_key}#{alert_type}"


def claim_alert(pipeline_id: str, run_key: str, alert_type: str) -> bool:
    """True exactly once per (pipeline, run, alert type): lets SLA checks alert once per run, not per pass."""
    now = _now()
    item = _item(
        pipeline_pk(pipeline_id),
        _alert_sk(run_key, alert_type),
        claimedAt=_iso(now),
        expiresAt=int(now + settings.get().retention_ttl_seconds),
    )
    return _conditional(
        "put_item",
        Item=typed_item(item),
        ConditionExpression="attribute_not_exists(PK) OR expiresAt <= :now",
        ExpressionAttributeValues={":now": _typed(int(now))},
    )


def alert_claimed(pipeline_id: str, run_key: str, alert_type: str) -> bool:
    """Whether an alert of `alert_type` was claimed (and so sent) for this run (see `claim_alert`)."""
    return _get(pipeline_pk(pipeline_id), _alert_sk(run_key, alert_type)) is not None


def list_alert_claims(pipeline_id: str) -> list[dict]:
    """The live alert claims of a pipeline as `{pipelineID, runKey, alertType, claimedAt}`, oldest key first."""
    claims = []
    for item in _query(pipeline_pk(pipeline_id), "ALERT#"):
        run_key, _, alert_type = _plain(item[schema.SORT_KEY])[len("ALERT#") :].rpartition("#")
        claims.append(
            {
                "pipelineID": pipeline_id,
                "runKey": run_key,
                "alertType": alert_type,
                "claimedAt": _plain(item["claimedAt"]) if "claimedAt" in item else None,
            }
        )
    return claims


# --- operator actions: pause -----------------------------------------------------------------------------------


def pause_pipeline(pipeline_id: str, *, reason: str = "", by: str = "") -> dict:
    """Pause a pipeline: its markers still start executions, which skip at checkExclusion. Kept apart from the
    CONFIG item, which pipelines as code overwrite on every deployment. Returns the pause record."""
    record = {"pipelineID": pipeline_id, "pausedAt": _iso(_now()), "reason": reason, "pausedBy": by}
    _put(_item(pipeline_pk(pipeline_id), "PAUSED", **record))
    return record


def get_pause(pipeline_id: str) -> dict | None:
    """The pause record of a pipeline, or None when it is not paused."""
    item = _get(pipeline_pk(pipeline_id), "PAUSED", consistent=True)
    if item is None:
        return None
    return {k: v for k, v in plain_item(item).items() if k not in (schema.PARTITION_KEY, schema.SORT_KEY)}


def resume_pipeline(pipeline_id: str) -> bool:
    """Remove the pause. False when the pipeline was not paused."""
    return _conditional(
        "delete_item", Key=_key(pipeline_pk(pipeline_id), "PAUSED"), ConditionExpression="attribute_exists(PK)"
    )


# --- the watchdog's reads --------------------------------------------------------------------------------------

Key = tuple[str, str]  # (PK, SK) of one item, for get_many
BATCH_GET_KEYS = 100  # BatchGetItem's limit per request


def pause_key(pipeline_id: str) -> Key:
    return pipeline_pk(pipeline_id), "PAUSED"


def lock_key(pipeline_id: str, schedule_id: str) -> Key:
    return lock_pk(pipeline_id, schedule_id), "LOCK"


def run_log_key(pipeline_id: str, date: str, schedule_id: str) -> Key:
    return pipeline_pk(pipeline_id), run_log_sk(date, schedule_id)


def alert_claim_key(pipeline_id: str, run_key: str, alert_type: str) -> Key:
    return pipeline_pk(pipeline_id), _alert_sk(run_key, alert_type)


def get_many(keys: Iterator[Key] | list[Key]) -> dict[Key, dict]:
    """The live items among `keys` as plain values (run logs and run states carry `status` as a plain attribute,
    locks `owner` and `acquiredAt`), by key; a missing or expired item is absent. BatchGetItem, 100 keys per
    request, eventually consistent; keys DynamoDB leaves unprocessed are asked again."""
    wanted = list(dict.fromkeys(keys))
    found: dict[Key, dict] = {}
    for start in range(0, len(wanted), BATCH_GET_KEYS):
        request = {_table(): {"Keys": [_key(pk, sk) for pk, sk in wanted[start : start + BATCH_GET_KEYS]]}}
        while request:
            answer = _ddb().batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(_table(), []):
                if _live(item):
                    plain = plain_item(item)
                    found[(plain[schema.PARTITION_KEY], plain[schema.SORT_KEY])] = plain
            request = answer.get("UnprocessedKeys") or {}
    return found


def list_unfinished_runs(pipeline_id: str, created_from: float, created_until: float) -> list[dict]:
    """Runs of a pipeline created between two epoch times whose status is not terminal (list copies; one Query on
    the key range, the status filtered by DynamoDB), oldest first."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
        "FilterExpression": "NOT #status IN (:completed, :failed, :cancelled)",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":pk": _typed(pipeline_pk(pipeline_id)),
            ":first": _typed(f"RUN#{_sortable(created_from)}"),
            ":last": _typed(f"RUN#{_sortable(created_until)}~"),
            ":completed": _typed(RunStatus.COMPLETED),
            ":failed": _typed(RunStatus.FAILED),
            ":cancelled": _typed(RunStatus.CANCELLED),
        },
    }
    items: list[dict] = []
    while True:
        page = _ddb().query(**kwargs)
        items += [i for i in page.get("Items", []) if _live(i)]
        if "LastEvaluatedKey" not in page:
            return _run_records(iter(items))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scheduled_marker_arrived(pipeline_id: str, schedule_name: str, since: dt.datetime, until: dt.datetime) -> bool:
    """Whether EventBridge Scheduler wrote a marker of schedule `schedule_name` for a scheduled time from `since`
    to `until` (the key holds the scheduled time: one Query on that range)."""
    stamp = "%Y-%m-%dT%H:%M:%S"
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
        "ExpressionAttributeValues": {
            ":pk": _typed(pipeline_pk(pipeline_id)),
            ":first": _typed(marker_sk("schedule", since.astimezone(dt.UTC).strftime(stamp), "")),
            ":last": _typed(marker_sk("schedule", until.astimezone(dt.UTC).strftime(stamp) + "~", "")),
        },
    }
    while True:
        page = _ddb().query(**kwargs)
        if any(_plain(i[schema.SORT_KEY]).rpartition("#")[2] == schedule_name for i in page.get("Items", [])):
            return True
        if "LastEvaluatedKey" not in page:
            return False
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
