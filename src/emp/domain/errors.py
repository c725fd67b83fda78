"""The exception tree of EMP's core.

Every error EMP raises on purpose derives from :class:`EmpError`, so the CLI can print one
line for any of them and exit non-zero. Port-level errors (a store that is unreachable, a
venue that disconnected) live beside their port in :mod:`emp.ports` and derive from
:class:`EmpError` too.
"""

from __future__ import annotations


class EmpError(Exception):
    """Base class of every error EMP raises deliberately."""


class DomainError(EmpError):
    """A rule of the trading domain was broken."""


class InvalidInstrument(DomainError):
    """An instrument definition is inconsistent (e.g. a non-positive tick size)."""


class UnknownInstrument(DomainError):
    """A symbol was used that no instrument is registered for."""


class InvalidOrder(DomainError):
    """An order or order intent is malformed: non-positive quantity, off-tick price, ..."""


class IllegalOrderTransition(DomainError):
    """An order was asked to move to a status its lifecycle does not allow."""


class InvalidFill(DomainError):
    """A fill is inconsistent with its order (overfill, wrong side, non-positive price...)."""


class InvalidBars(DomainError):
    """Bar data violates an invariant: NaN, non-positive prices, unordered timestamps, ..."""


class RiskLimitBreached(DomainError):
    """An order intent was refused by a pre-trade risk rule."""


class StrategyError(DomainError):
    """A strategy raised while handling an event; the original exception is the cause."""


class InvalidConfiguration(DomainError):
    """A domain-level configuration value is out of range (a negative limit, ...)."""
