"""Keeps every event EventBridge delivers to it."""

from .interlock import store


def handler(event, context):
    store.record_event(event)
    return {"kept": True}
