"""Interlock domain package: models, store, evaluation, triggers, alerts and orchestrator actions."""
