"""Errors of the matching engine (all :class:`~emp.domain.errors.DomainError`)."""

from __future__ import annotations

from emp.domain.errors import DomainError


class InvalidMarketData(DomainError):
    """A market-data update cannot be applied: off-tick price, crossed snapshot, bad size."""
