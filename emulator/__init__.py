"""Interlock on an embedded AWS emulator (moto, in-process): deploy the real program, run lifecycles, demo."""

from .core import EMULATOR_STACK_DEFAULTS, Emulator, PipelineConfigError
from .program import EmulatorWarning

__all__ = ["EMULATOR_STACK_DEFAULTS", "Emulator", "EmulatorWarning", "PipelineConfigError"]
