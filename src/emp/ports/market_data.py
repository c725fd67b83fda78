"""MarketDataPort: where order-book data comes from (a FIX session, a recorded stream).

An adapter turns its wire format into the domain's market-data messages
(:mod:`emp.domain.market_data`); the core's
:class:`~emp.domain.books.BookSynchronizer` builds books from them. A message the
adapter cannot read is never dropped silently: it is quarantined and delivered as an
:class:`~emp.domain.market_data.MdMessageQuarantined`, so the books it may have touched
are marked stale and resynchronised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from emp.domain.errors import EmpError
from emp.domain.market_data import MarketDataMessage


class MarketDataError(EmpError):
    """The market-data source failed (not a bad message: those are quarantined)."""


class MarketDataUnavailable(MarketDataError):
    """The source cannot be reached or read (a missing file, a session that is down)."""


class MalformedMarketData(MarketDataError):
    """A market-data message is malformed. ``tag`` names the offending field, if any."""

    tag: int | None = None


@runtime_checkable
class MarketDataPort(Protocol):
    def subscribe(self, symbols: Sequence[str], *, depth: int = 0) -> str:
        """Ask for snapshots plus incremental updates of ``symbols``; returns the request id.

        ``depth`` 0 is the full book.
        """
        ...

    def unsubscribe(self, request_id: str) -> None:
        """Stop the updates of an earlier :meth:`subscribe`."""
        ...

    def request_snapshot(self, symbol: str) -> None:
        """Ask for a fresh snapshot of one book (a stale book's resync)."""
        ...

    def drain_events(self, limit: int | None = None) -> list[MarketDataMessage]:
        """Messages received since the previous call, in arrival order (at most ``limit``)."""
        ...
