"""From a DynamoDB stream record to a lifecycle execution: which records start one, with which input, under
which execution name. No AWS call here (the keys come from `store`'s key helpers): the stream-router Lambda does the
StartExecution."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from . import schedule, schema, store
from .models import DATE_PATTERN, DEFAULT_SCHEDULE, PIPELINE_ID_PATTERN, SCHEDULE_ID_PATTERN

MAX_EXECUTION_NAME = 80
_HASH_CHARS = 16
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class MalformedRecord(ValueError):
    """A marker record that cannot start an execution (reported as a batch item failure)."""


@dataclass(frozen=True)
class MarkerStart:
    name: str
    input: dict


def sanitize(text: str) -> str:
    """Step Functions' safe character set: anything else becomes "_"."""
    return _UNSAFE.sub("_", text)


def execution_name(pipeline_id: str, schedule_id: str, date: str, marker_key: str, sequence: str = "") -> str:
    """`{pipeline}_{schedule}_{date}_{hash}`, at most 80 characters: readable, the same for the same stream record
    (a redelivered record is deduplicated by Step Functions) and different for every new write of a marker, even
    of a key written before (the hash of the whole marker key and the record's sequence number always survives
    truncation)."""
    digest = hashlib.sha256(f"{pipeline_id}\n{marker_key}\n{sequence}".encode()).hexdigest()[:_HASH_CHARS]
    prefix = sanitize(f"{pipeline_id}_{schedule_id}_{date}")[: MAX_EXECUTION_NAME - _HASH_CHARS - 1]
    return f"{prefix}_{digest}"


def _string(image: dict, key: str) -> str | None:
    attr = image.get(key)
    if attr is None or "NULL" in attr:
        return None
    if "S" not in attr:
        raise MalformedRecord(f"attribute {key} must be a string")
    return attr["S"]


def _date_of(moment_text: str, tz: dt.tzinfo) -> str | None:
    """Calendar date in `tz` of an RFC 3339 timestamp or epoch seconds/millis; None if it is neither."""
    try:
        return schedule.parse_timestamp(moment_text).astimezone(tz).date().isoformat()
    except ValueError:
        pass
    if re.fullmatch(r"\d{10}(\d{3})?", moment_text):
        seconds = int(moment_text) / (1000 if len(moment_text) == 13 else 1)
        return dt.datetime.fromtimestamp(seconds, tz).date().isoformat()
    return None


def _marker_date(image: dict, key_timestamp: str) -> str:
    """The run date of a marker: its `date` attribute when it is YYYY-MM-DD; else the calendar date, in the
    marker's `timezone` (UTC when absent), of the instant in `date` (EventBridge Scheduler writes the scheduled
    time there), in `timestamp`, or in the key's timestamp segment; else today in UTC."""
    try:
        tz = schedule.zone(_string(image, "timezone") or "")
    except ValueError as exc:
        raise MalformedRecord(str(exc)) from None
    date = _string(image, "date")
    if date and DATE_PATTERN.fullmatch(date):
        try:
            schedule.parse_date(date)
        except ValueError as exc:
            raise MalformedRecord(str(exc)) from None
        return date
    for key in ("date", "timestamp"):
        stamp = _string(image, key)
        if stamp:
            parsed = _date_of(stamp, tz)
            if parsed is None:
                raise MalformedRecord(f"attribute {key} {stamp!r} is neither YYYY-MM-DD nor a timestamp")
            return parsed
    return (_date_of(key_timestamp, tz) if key_timestamp else None) or schedule.today_utc()


def route(record: dict) -> MarkerStart | None:
    """The execution to start for one stream record, or None when the record is not a new marker.
    Raises MalformedRecord for a marker that cannot be routed."""
    if not isinstance(record, dict) or record.get("eventName") != "INSERT":
        return None
    change = record.get("dynamodb")
    if not isinstance(change, dict) or not isinstance(change.get("Keys"), dict):
        raise MalformedRecord("record has no dynamodb.Keys")
    keys = change["Keys"]
    sk = _string(keys, schema.SORT_KEY) or ""
    marker = store.marker_key_fields(sk)
    if marker is None:
        return None
    key_source, key_timestamp = marker
    pk = _string(keys, schema.PARTITION_KEY) or ""
    pipeline_id = store.pipeline_id_of(pk)
    if pipeline_id is None:
        raise MalformedRecord(f"marker key {pk!r} is not {store.pipeline_pk('<id>')}")
    if not PIPELINE_ID_PATTERN.fullmatch(pipeline_id):
        raise MalformedRecord(f"pipeline id {pipeline_id!r} is not a valid pipeline name")
    image = change.get("NewImage") if isinstance(change.get("NewImage"), dict) else {}
    schedule_id = _string(image, "scheduleID") or DEFAULT_SCHEDULE
    if not SCHEDULE_ID_PATTERN.fullmatch(schedule_id):
        raise MalformedRecord(f"scheduleID {schedule_id!r} is not a valid schedule name")
    date = _marker_date(image, key_timestamp)
    source = _string(image, "source") or key_source or "manual"
    replay_attr = image.get("replay", {})
    replay = replay_attr.get("BOOL") is True or replay_attr.get("S") == "true" or source == "replay"
    sequence = change.get("SequenceNumber")
    return MarkerStart(
        name=execution_name(pipeline_id, schedule_id, date, sk, sequence if isinstance(sequence, str) else ""),
        input={
            "pipelineID": pipeline_id,
            "scheduleID": schedule_id,
            "date": date,
            "source": source,
            "markerKey": sk,
            "replay": replay,
        },
    )
