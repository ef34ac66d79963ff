"""The single data-access module: the only code that knows the table's key formats and calls DynamoDB.

Key formats (DESIGN §5 is kept identical to this list):

    pipeline config   PIPELINE#{id}           CONFIG                                   GSI1 PIPELINES / {id}
    trait result      PIPELINE#{id}           TRAIT#{traitType}
    marker            PIPELINE#{id}           MARKER#{source}#{timestamp}#{nonce}
    lock              LOCK#{id}#{scheduleID}  LOCK
    run state         RUN#{runID}             STATE
    run list copy     PIPELINE#{id}           RUN#{createdAt}#{runID}
    run log           PIPELINE#{id}           RUNLOG#{date}#{scheduleID}
    event             PIPELINE#{id}           EVENT#{16-digit epoch micros}#{8 hex}
    rerun             PIPELINE#{id}           RERUN#{rerunID}
    late arrival      PIPELINE#{id}           LATEARRIVAL#{date}#{scheduleID}#{traitType}#{millis}
    alert claim       PIPELINE#{id}           ALERT#{runKey}#{alertType}

Every item that may expire carries `expiresAt` (epoch seconds). DynamoDB deletes expired items up to ~48 h late,
so every read here treats an item whose `expiresAt` has passed as absent, and the lock condition compares it too.
A ClientError other than a failed condition means the environment is broken and propagates.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from typing import Any, Iterator

from . import clients, schema, settings
from .models import DEFAULT_SCHEDULE, RunStatus, check_transition, is_terminal

PIPELINE_LIST_KEY = "PIPELINES"
RUN_LOG_TTL_SECONDS = 30 * 86400
RECORD_TTL_SECONDS = 30 * 86400
NON_TERMINAL_RUN_GRACE_SECONDS = 86400
PAGE_SIZE = 100  # Limit per Query page; tests lower it to exercise pagination

clock = time.time  # tests replace it to move time


class ConcurrentUpdate(Exception):
    """A compare-and-swap lost: the item changed since it was read."""


class RunNotFound(LookupError):
    """No (unexpired) run state item for the run ID."""


# --- keys ----------------------------------------------------------------------------------------------------------

def pipeline_pk(pipeline_id: str) -> str:
    return f"PIPELINE#{pipeline_id}"


def lock_pk(pipeline_id: str, schedule_id: str) -> str:
    return f"LOCK#{pipeline_id}#{schedule_id or DEFAULT_SCHEDULE}"


def run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


def run_log_sk(date: str, schedule_id: str) -> str:
    return f"RUNLOG#{date}#{schedule_id or DEFAULT_SCHEDULE}"


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
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sortable(epoch: float) -> str:
    """Fixed-width UTC timestamp: lexicographic order is time order."""
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _attr(value: Any) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(int(value)) if float(value).is_integer() else repr(value)}
    if value is None:
        return {"NULL": True}
    return {"S": str(value)}


def _item(**values: Any) -> dict:
    return {k: _attr(v) for k, v in values.items() if v is not None}


def _plain(attr: dict) -> Any:
    kind, value = next(iter(attr.items()))
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "M":
        return {k: _plain(v) for k, v in value.items()}
    if kind == "L":
        return [_plain(v) for v in value]
    if kind == "NULL":
        return None
    return value  # S, BOOL, and sets/bytes as given


def plain_item(item: dict) -> dict:
    """A DynamoDB-typed item (or stream image) as plain Python values."""
    return {k: _plain(v) for k, v in item.items()}


def _live(item: dict) -> bool:
    expires = item.get(schema.TTL_ATTRIBUTE)
    if expires is None:
        return True
    try:
        return float(_plain(expires)) > _now()
    except (TypeError, ValueError):
        return True


def _data(item: dict) -> dict | None:
    raw = item.get("data", {}).get("S")
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _is_condition_failure(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _get(pk: str, sk: str, *, consistent: bool = False) -> dict | None:
    response = _ddb().get_item(TableName=_table(), Key=_item(PK=pk, SK=sk), ConsistentRead=consistent)
    item = response.get("Item")
    return item if item and _live(item) else None


def _query(pk: str, prefix: str, *, descending: bool = False, limit: int | None = None) -> Iterator[dict]:
    """Live items of a partition whose SK starts with `prefix`, following every page."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
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


def _put(item: dict, **condition: Any) -> None:
    _ddb().put_item(TableName=_table(), Item=item, **condition)


# --- pipelines -------------------------------------------------------------------------------------------------

def pipeline_item(config: dict) -> dict:
    """The table item (plain Python values) that stores a pipeline config; `data` holds the config as JSON."""
    name = config["name"]
    return {
        "PK": pipeline_pk(name),
        "SK": "CONFIG",
        schema.GSI1_PARTITION_KEY: PIPELINE_LIST_KEY,
        schema.GSI1_SORT_KEY: name,
        "name": name,
        "archetype": config.get("archetype", ""),
        "data": json.dumps(config, sort_keys=True, separators=(",", ":")),
    }


def put_pipeline(config: dict) -> None:
    """Register (overwrite) a pipeline config."""
    item = pipeline_item(config)
    item["updatedAt"] = _iso(_now())
    _put(_item(**item))


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
        "ExpressionAttributeValues": {":pk": {"S": PIPELINE_LIST_KEY}},
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
    _ddb().delete_item(TableName=_table(), Key=_item(PK=pipeline_pk(pipeline_id), SK="CONFIG"))


# --- traits ----------------------------------------------------------------------------------------------------

def put_trait_result(pipeline_id: str, trait_type: str, result: dict, ttl_seconds: int) -> None:
    """Store the latest result of one trait; it expires after `ttl_seconds` (READINESS_TTL when <= 0)."""
    ttl = ttl_seconds if ttl_seconds and ttl_seconds > 0 else settings.get().readiness_ttl_seconds
    now = _now()
    data = dict(result, pipelineId=pipeline_id, traitType=trait_type)
    data.setdefault("evaluatedAt", _iso(now))
    data["expiresAt"] = _iso(now + ttl)
    _put(_item(PK=pipeline_pk(pipeline_id), SK=f"TRAIT#{trait_type}", data=json.dumps(data),
               expiresAt=int(now + ttl)))


def get_trait_result(pipeline_id: str, trait_type: str) -> dict | None:
    item = _get(pipeline_pk(pipeline_id), f"TRAIT#{trait_type}")
    return _data(item) if item else None


def list_trait_results(pipeline_id: str) -> list[dict]:
    return [d for d in (_data(i) for i in _query(pipeline_pk(pipeline_id), "TRAIT#")) if d is not None]


# --- events ----------------------------------------------------------------------------------------------------

def append_event(pipeline_id: str, kind: str, *, run_id: str | None = None, trait_type: str | None = None,
                 status: str | None = None, message: str | None = None, details: dict | None = None) -> None:
    """Append one audit event (kept for RETENTION_TTL)."""
    now = _now()
    event = {"kind": kind, "pipelineId": pipeline_id, "timestamp": _iso(now)}
    for key, value in (("runId", run_id), ("traitType", trait_type), ("status", status), ("message", message),
                       ("details", details)):
        if value not in (None, ""):
            event[key] = value
    sk = f"EVENT#{int(now * 1_000_000):016d}#{secrets.token_hex(4)}"
    _put(_item(PK=pipeline_pk(pipeline_id), SK=sk, data=json.dumps(event, default=str),
               expiresAt=int(now + settings.get().retention_ttl_seconds)))


def list_events(pipeline_id: str, limit: int = 50) -> list[dict]:
    """The newest `limit` events, oldest first."""
    items = list(_query(pipeline_pk(pipeline_id), "EVENT#", descending=True, limit=limit))
    return [d for d in (_data(i) for i in reversed(items)) if d is not None]


# --- markers ---------------------------------------------------------------------------------------------------

def write_marker(pipeline_id: str, *, schedule_id: str, date: str, source: str, replay: bool = False,
                 attributes: dict[str, str] | None = None) -> str:
    """Write a MARKER item (the stream-router starts an execution for it) and return its SK."""
    now = _now()
    clean_source = (source or "manual").replace("#", "-")
    sk = f"{schema.MARKER_PREFIX}{clean_source}#{_sortable(now)}#{secrets.token_hex(3)}"
    values = dict(attributes or {})
    values.update(PK=pipeline_pk(pipeline_id), SK=sk, scheduleID=schedule_id or DEFAULT_SCHEDULE, date=date,
                  source=clean_source, replay=bool(replay), createdAt=_iso(now),
                  expiresAt=int(now + settings.get().retention_ttl_seconds))
    _put(_item(**values))
    return sk


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
    item = _item(PK=lock_pk(pipeline_id, schedule_id), SK="LOCK", owner=owner, pipelineID=pipeline_id,
                 scheduleID=schedule_id or DEFAULT_SCHEDULE, acquiredAt=_iso(now),
                 expiresAt=int(now + lease_seconds))
    try:
        _put(item,
             ConditionExpression="attribute_not_exists(PK) OR expiresAt <= :now OR #owner = :owner",
             ExpressionAttributeNames={"#owner": "owner"},
             ExpressionAttributeValues={":now": _attr(int(now)), ":owner": _attr(owner)})
    except Exception as exc:
        if not _is_condition_failure(exc):
            raise
        return False, get_lock(pipeline_id, schedule_id)
    return True, None


def get_lock(pipeline_id: str, schedule_id: str) -> dict | None:
    item = _get(lock_pk(pipeline_id, schedule_id), "LOCK", consistent=True)
    return plain_item(item) if item else None


def release_lock(pipeline_id: str, schedule_id: str, owner: str) -> bool:
    """Delete the lock only if `owner` holds it. False when it is missing or held by someone else."""
    try:
        _ddb().delete_item(
            TableName=_table(), Key=_item(PK=lock_pk(pipeline_id, schedule_id), SK="LOCK"),
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": _attr(owner)},
        )
    except Exception as exc:
        if not _is_condition_failure(exc):
            raise
        return False
    return True


# --- run state -------------------------------------------------------------------------------------------------

def _run_expiry(status: str, now: float) -> int:
    retention = settings.get().retention_ttl_seconds
    return int(now + retention + (0 if is_terminal(status) else NON_TERMINAL_RUN_GRACE_SECONDS))


def _put_run_list_copy(run: dict, now: float) -> None:
    _put(_item(PK=pipeline_pk(run["pipelineId"]), SK=f"RUN#{run['createdAtKey']}#{run['runId']}",
               data=json.dumps(run), status=run["status"], expiresAt=_run_expiry(run["status"], now)))


def create_run(run_id: str, pipeline_id: str, *, schedule_id: str, date: str) -> dict:
    """Create the run state PENDING, version 1. Raises ConcurrentUpdate if the run ID already exists."""
    now = _now()
    run = {"runId": run_id, "pipelineId": pipeline_id, "scheduleId": schedule_id or DEFAULT_SCHEDULE,
           "date": date, "status": RunStatus.PENDING.value, "version": 1, "createdAt": _iso(now),
           "createdAtKey": _sortable(now), "updatedAt": _iso(now), "metadata": {}}
    try:
        _put(_item(PK=run_pk(run_id), SK="STATE", data=json.dumps(run), status=run["status"], version=1,
                   pipelineID=pipeline_id, expiresAt=_run_expiry(run["status"], now)),
             ConditionExpression="attribute_not_exists(PK)")
    except Exception as exc:
        if _is_condition_failure(exc):
            raise ConcurrentUpdate(f"run {run_id} already exists") from exc
        raise
    _put_run_list_copy(run, now)
    return run


def get_run(run_id: str) -> dict | None:
    """The run state (strongly consistent read), or None."""
    item = _get(run_pk(run_id), "STATE", consistent=True)
    if not item:
        return None
    run = _data(item)
    if run is not None:
        run["version"] = int(_plain(item["version"]))
    return run


def transition_run(run_id: str, to_status: str, *, metadata: dict | None = None,
                   expected_version: int | None = None) -> dict:
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
    run = dict(current, status=to_status, version=version + 1, updatedAt=_iso(now),
               metadata={**(current.get("metadata") or {}), **(metadata or {})})
    try:
        _ddb().update_item(
            TableName=_table(), Key=_item(PK=run_pk(run_id), SK="STATE"),
            UpdateExpression="SET #data = :data, #status = :status, #version = :new, expiresAt = :exp",
            ConditionExpression="#version = :expected",
            ExpressionAttributeNames={"#data": "data", "#status": "status", "#version": "version"},
            ExpressionAttributeValues={":data": _attr(json.dumps(run)), ":status": _attr(to_status),
                                       ":new": _attr(version + 1), ":expected": _attr(version),
                                       ":exp": _attr(_run_expiry(to_status, now))},
        )
    except Exception as exc:
        if _is_condition_failure(exc):
            raise ConcurrentUpdate(f"run {run_id} changed concurrently (expected version {version})") from exc
        raise
    _put_run_list_copy(run, now)
    return run


def list_runs(pipeline_id: str, limit: int = 10) -> list[dict]:
    """The newest runs of a pipeline (list copies), newest first."""
    items = _query(pipeline_pk(pipeline_id), "RUN#", descending=True, limit=limit)
    return [d for d in (_data(i) for i in items) if d is not None]


# --- run logs --------------------------------------------------------------------------------------------------

_RUN_LOG_FIELDS = ("pipelineId", "date", "scheduleId", "status", "attemptNumber", "runId", "failureMessage",
                   "failureCategory", "alertSent", "retryHistory", "startedAt", "completedAt", "updatedAt")
_RUN_LOG_CANONICAL = {name.lower(): name for name in _RUN_LOG_FIELDS}


def get_run_log(pipeline_id: str, date: str, schedule_id: str = DEFAULT_SCHEDULE) -> dict | None:
    """The run log of (pipeline, date, schedule), or None. Keys are matched case-insensitively, so logs written
    by other tools with `pipelineID`/`runID` still read."""
    item = _get(pipeline_pk(pipeline_id), run_log_sk(date, schedule_id))
    data = _data(item) if item else None
    return _canonical_run_log(data) if data is not None else None


def _canonical_run_log(data: dict) -> dict:
    return {_RUN_LOG_CANONICAL.get(k.lower(), k): v for k, v in data.items()}


def put_run_log(entry: dict) -> None:
    """Write (replace) a run log entry; `pipelineId`, `date` and `scheduleId` form its key."""
    entry = dict(entry, scheduleId=entry.get("scheduleId") or DEFAULT_SCHEDULE)
    _put(_item(PK=pipeline_pk(entry["pipelineId"]), SK=run_log_sk(entry["date"], entry["scheduleId"]),
               data=json.dumps(entry), status=entry.get("status"),
               expiresAt=int(_now() + RUN_LOG_TTL_SECONDS)))


def list_run_logs(pipeline_id: str, limit: int = 20) -> list[dict]:
    """Newest dates first."""
    items = _query(pipeline_pk(pipeline_id), "RUNLOG#", descending=True, limit=limit)
    return [_canonical_run_log(d) for d in (_data(i) for i in items) if d is not None]


# --- reruns, late arrivals, alert claims -----------------------------------------------------------------------

def put_rerun(pipeline_id: str, record: dict) -> None:
    """Store a rerun request (`record["rerunId"]` is its key)."""
    _put(_item(PK=pipeline_pk(pipeline_id), SK=f"RERUN#{record['rerunId']}",
               data=json.dumps(dict(record, pipelineId=pipeline_id)),
               expiresAt=int(_now() + RECORD_TTL_SECONDS)))


def list_reruns(pipeline_id: str) -> list[dict]:
    return [d for d in (_data(i) for i in _query(pipeline_pk(pipeline_id), "RERUN#")) if d is not None]


def put_late_arrival(pipeline_id: str, *, date: str, schedule_id: str, trait_type: str,
                     details: dict | None = None) -> None:
    """Record that `trait_type` changed after the run of (date, schedule) was triggered."""
    now = _now()
    schedule_id = schedule_id or DEFAULT_SCHEDULE
    record = {"pipelineId": pipeline_id, "date": date, "scheduleId": schedule_id, "traitType": trait_type,
              "detectedAt": _iso(now), **(details or {})}
    _put(_item(PK=pipeline_pk(pipeline_id),
               SK=f"LATEARRIVAL#{date}#{schedule_id}#{trait_type}#{int(now * 1000):013d}",
               data=json.dumps(record), expiresAt=int(now + RECORD_TTL_SECONDS)))


def list_late_arrivals(pipeline_id: str, date: str, schedule_id: str = DEFAULT_SCHEDULE) -> list[dict]:
    prefix = f"LATEARRIVAL#{date}#{schedule_id or DEFAULT_SCHEDULE}#"
    return [d for d in (_data(i) for i in _query(pipeline_pk(pipeline_id), prefix)) if d is not None]


def claim_alert(pipeline_id: str, run_key: str, alert_type: str) -> bool:
    """True exactly once per (pipeline, run, alert type): lets SLA checks alert once per run, not per pass."""
    now = _now()
    try:
        _put(_item(PK=pipeline_pk(pipeline_id), SK=f"ALERT#{run_key}#{alert_type}", claimedAt=_iso(now),
                   expiresAt=int(now + settings.get().retention_ttl_seconds)),
             ConditionExpression="attribute_not_exists(PK) OR expiresAt <= :now",
             ExpressionAttributeValues={":now": _attr(int(now))})
    except Exception as exc:
        if not _is_condition_failure(exc):
            raise
        return False
    return True
