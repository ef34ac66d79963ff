"""Interlock's guardrails: rule logic (rules.py) and its wiring into Pulumi policies (policies.py)."""
