"""RawBarSourcePort: bars exactly as a vendor delivers them, for validation and quarantine."""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from emp.domain.bar_validation import RawBars


@runtime_checkable
class RawBarSourcePort(Protocol):
    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> RawBars:
        """Every row the source has for ``symbol`` with session date in ``[start, end)``.

        Rows are neither validated nor repaired. Raises
        :class:`~emp.ports.bar_source.SymbolNotFound` for a symbol the source does not
        know and :class:`~emp.ports.bar_source.BarSourceError` (with the cause in words)
        when the source cannot be reached.
        """
        ...

    def describe(self) -> str:
        """Provenance recorded with the bars (e.g. ``yahoo:1d:adjusted``)."""
        ...
