"""Pulumi components of Interlock: one ComponentResource per concern, composed by InterlockStack."""
from .settings import ConfigurationError, Settings, load_settings, settings_from_pulumi_config
from .stack import InterlockStack

__all__ = ["ConfigurationError", "InterlockStack", "Settings", "load_settings", "settings_from_pulumi_config"]
