"""Pulumi components of Interlock: one ComponentResource per concern, composed by InterlockStack."""
from .stack_settings import ConfigurationError, StackSettings, load_settings, settings_from_pulumi_config
from .stack import InterlockStack

__all__ = ["ConfigurationError", "InterlockStack", "StackSettings", "load_settings", "settings_from_pulumi_config"]
