"""`--param key=value` options, shared by every command that builds a strategy."""

from __future__ import annotations

from emp.app.errors import ConfigError


def parse_params(values: list[str]) -> dict[str, str]:
    """``["fast=10", "slow=30"]`` → ``{"fast": "10", "slow": "30"}``; the strategy's spec
    converts and validates the values."""
    params: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects key=value, was {item!r}")
        params[key.strip()] = value.strip()
    return params
