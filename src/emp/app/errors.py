"""Errors raised by the composition root (configuration, plugins)."""

from __future__ import annotations

from emp.domain.errors import EmpError


class ConfigError(EmpError):
    """Settings (environment variables or CLI options) are invalid."""


class PluginLoadError(EmpError):
    """A plugin's entry point could not be imported or registered."""


class UnknownStrategy(EmpError):
    """No registered strategy has the requested name."""


class DuplicateStrategy(EmpError):
    """Two plugins registered strategies under the same name."""
