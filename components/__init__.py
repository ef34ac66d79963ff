"""Pulumi components of Interlock: one ComponentResource per concern, composed by InterlockStack (stack.py)."""
