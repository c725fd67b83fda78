"""BarSourcePort: where bars come from (a generator, a file, a vendor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from emp.domain.bars import BarSeries
from emp.domain.errors import EmpError


class BarSourceError(EmpError):
    """Bars could not be obtained from the source."""


class MalformedBarFile(BarSourceError):
    """A bar file cannot be read as bars: missing columns, unparsable values, bad format."""


class SymbolNotFound(BarSourceError):
    """A requested symbol is not in the source."""


@runtime_checkable
class BarSourcePort(Protocol):
    def load(self, symbols: Sequence[str] | None = None) -> dict[str, BarSeries]:
        """Validated bars per symbol (every symbol the source has when ``symbols`` is None)."""
        ...

    def describe(self) -> str:
        """Provenance in words, recorded with the data (e.g. ``csv:/path/file.csv``)."""
        ...
