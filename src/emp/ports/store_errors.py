"""Errors shared by every storage port (bar store, run store, and later state stores)."""

from __future__ import annotations

from emp.domain.errors import EmpError


class StoreError(EmpError):
    """A storage operation failed; the store's previous contents are intact."""


class StoreUnavailable(StoreError):
    """The store cannot be opened or reached (bad path, locked file, dead server)."""


class StoreIntegrityError(StoreError):
    """A write was refused because it would break the store's consistency; nothing was written."""
