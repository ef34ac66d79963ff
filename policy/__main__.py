"""Interlock policy pack: `pulumi preview --policy-pack policy` (run from the repository root)."""

from pulumi_policy import EnforcementLevel, PolicyPack

from guardrails.policies import POLICIES

PolicyPack(name="interlock-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
