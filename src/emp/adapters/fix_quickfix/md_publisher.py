"""The served venue publishes its books: 35=V in, 35=W / 35=X / 35=Y out, over quickfix.

:class:`MarketDataVenueServer` is a :class:`~.venue_server.FixVenueServer` whose worker
(:class:`MdPublishingWorker`) also answers MarketDataRequests (35=V):

* 263=1 (snapshot + updates): a 35=W of the matching engine's displayed book for each
  symbol, then after every change of that book (an order resting, a fill, a market update)
  one 35=X holding the minimal entries between the previous and the new book. Each book
  has its own RptSeq (83) series: every entry takes the next number; a 35=W carries the
  RptSeq of the last entry it includes.
* 263=0 (snapshot only): a 35=W per symbol (a subscriber's resync).
* 263=2: the request's updates stop. A session that logs out loses its subscriptions (a
  subscriber re-subscribes after it logs on again).
* An unknown symbol is answered with a 35=Y (MDReqRejReason 0, unknown symbol).

Two kinds of book (``order_level`` of :class:`MarketDataVenueServer`):

* **price levels** (default): entries are price-keyed (MDUpdateAction with MDEntryPx) and
  carry MDPriceLevel (1023), the level's rank on its side when the entry is applied
  (:func:`~.md_images.price_levels`; :func:`emp.domain.books.diff_levels` gives deletes,
  changes, news). A subscriber's book checks every rank.
* **orders** (L3): one entry per resting order with MDEntryID (278): an own order by its
  OrderID, each block of displayed size by a stable ``M<n>`` id
  (:func:`~.md_images.engine_orders`); new, change (size, or price: re-queued) and delete
  per order (:func:`emp.domain.books.diff_orders`). The subscriber's order book aggregates
  to the venue's levels.

Both sides validate against ``FIX44-md.xml`` (:func:`~.md_dictionary.md_data_dictionary`:
the stock dictionary lacks RptSeq, MDPriceLevel and, on the 35=W, MDEntryID);
:class:`MarketDataVenueServer` and :class:`~.md_subscriber.QuickfixMarketData` write and
use it when their configuration names no dictionary of its own.
Messages are built with quickfix's typed FIX 4.4 classes so the repeating groups keep
their dictionary order. All of this runs on the worker thread, the only one touching
the matching engine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import quickfix as fix
import quickfix44 as fix44

from emp.adapters.fix_codec.errors import FixDecodeError
from emp.adapters.fix_codec.md_encode import md_body_fields
from emp.adapters.fix_codec.md_errors import MdDecodeError
from emp.adapters.fix_codec.md_session import decode_market_data_request
from emp.adapters.fix_codec.md_tags import MdMsgType, MdTag
from emp.adapters.fix_quickfix.bridge import Inbound
from emp.adapters.fix_quickfix.md_dictionary import MD_DICTIONARY_NAME, md_data_dictionary
from emp.adapters.fix_quickfix.md_images import (
    OrderIds,
    engine_image,
    engine_orders,
    price_levels,
)
from emp.adapters.fix_quickfix.venue_server import FixVenueServer
from emp.adapters.fix_quickfix.venue_worker import VenueWorker
from emp.domain.books import BookImage, diff_levels, diff_orders
from emp.domain.books.l3 import OrderImage
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    EntryType,
    MdEntries,
    MdIncrement,
    MdSnapshot,
    SubscribeMarketData,
    UpdateAction,
)

__all__ = [
    "MD_DICTIONARY_NAME",
    "MarketDataVenueServer",
    "MdPublishingWorker",
    "md_data_dictionary",
    "md_message",
]

#: MDReqRejReason (281) 0: unknown symbol.
UNKNOWN_SYMBOL = 0


@dataclass(slots=True)
class _Subscription:
    owner: str
    session_id: fix.SessionID
    request_id: str
    symbols: tuple[str, ...]


@dataclass(slots=True)
class _Published:
    """One book's published state: its last image (levels or orders) and RptSeq."""

    image: BookImage | OrderImage
    ids: OrderIds | None = None
    rpt_seq: int = 0
    drop_next: int = 0
    subscribers: list[_Subscription] = field(default_factory=list)


def _typed(msg_type: str) -> tuple[fix.Message, type[fix.Group] | None]:
    if msg_type == MdMsgType.SNAPSHOT_FULL_REFRESH:
        return (
            fix44.MarketDataSnapshotFullRefresh(),
            fix44.MarketDataSnapshotFullRefresh.NoMDEntries,
        )
    if msg_type == MdMsgType.INCREMENTAL_REFRESH:
        return (
            fix44.MarketDataIncrementalRefresh(),
            fix44.MarketDataIncrementalRefresh.NoMDEntries,
        )
    return fix44.MarketDataRequestReject(), None


def md_message(msg_type: str, body: list[tuple[int, str]]) -> fix.Message:
    """A typed quickfix message from (tag, value) pairs; entries of NoMDEntries (268) go
    into groups, each opened by its group's first field."""
    message, group_class = _typed(msg_type)
    group: fix.Group | None = None
    first = (
        MdTag.MD_ENTRY_TYPE
        if msg_type == MdMsgType.SNAPSHOT_FULL_REFRESH
        else MdTag.MD_UPDATE_ACTION
    )
    in_group = False
    for tag, value in body:
        if tag == MdTag.NO_MD_ENTRIES:
            in_group = True
            continue
        if not in_group or group_class is None:
            message.setField(fix.StringField(tag, value))
            continue
        if tag == first:
            if group is not None:
                message.addGroup(group)
            group = group_class()
        elif group is None:
            raise ValueError(f"expected NoMDEntries to start with tag {first}, was {tag}")
        group.setField(fix.StringField(tag, value))
    if group is not None:
        message.addGroup(group)
    elif in_group:  # an empty book: NoMDEntries=0 (the group is required on W and X)
        message.setField(fix.IntField(MdTag.NO_MD_ENTRIES, 0))
    return message


class MdPublishingWorker(VenueWorker):
    """The venue worker, plus market-data subscriptions (see the module docstring)."""

    instruments: dict[str, Instrument]
    order_level: bool

    def attach(self, instruments: dict[str, Instrument], *, order_level: bool = False) -> None:
        """Give the worker the listed instruments (on its thread, right after start);
        requests that arrived before are answered now."""
        self.instruments = instruments
        self.order_level = order_level
        self._books: dict[str, _Published] = {}
        #: W/X/Y messages sent per owner (for tests and in-process synchronisation).
        self.md_sent: dict[str, int] = {}
        early: list[Inbound] = getattr(self, "_early", [])
        self._early = []
        for item in early:
            self._on_request(item)

    # ----------------------------------------------------------------- inbound
    def _handle(self, item: object) -> None:
        if isinstance(item, Inbound) and item.kind == "logout" and hasattr(self, "_books"):
            self._drop_session(item.session)
        elif (
            isinstance(item, Inbound)
            and item.kind == "app"
            and "\x0135=V\x01" in item.raw
            and item.session in self._sessions
        ):
            if hasattr(self, "_books"):
                self._on_request(item)
            else:  # not attached yet: keep it for attach()
                self._early = [*getattr(self, "_early", []), item]
            return
        super()._handle(item)

    def _drop_session(self, session: str) -> None:
        entry = self._sessions.get(session)
        if entry is None:
            return
        owner = entry[1]
        for published in self._books.values():
            published.subscribers = [s for s in published.subscribers if s.owner != owner]

    def _on_request(self, item: Inbound) -> None:
        session_id, owner = self._sessions[item.session]
        try:
            request = decode_market_data_request(item.raw.encode("utf-8"))
        except (MdDecodeError, FixDecodeError) as error:
            self._business_reject(item.raw, str(error), session_id)
            return
        if isinstance(request, SubscribeMarketData):
            unknown = [s for s in request.symbols if s not in self.instruments]
            if unknown:
                text = f"unknown symbol {unknown[0]!r}"
                body = [(MdTag.MD_REQ_ID, request.request_id), (MdTag.MD_REQ_REJ_REASON, "0")]
                self._send_md(owner, session_id, MdMsgType.REQUEST_REJECT, [*body, (58, text)])
                return
            subscription = _Subscription(owner, session_id, request.request_id, request.symbols)
            for symbol in request.symbols:
                published = self._published(symbol)
                self._send_snapshot(subscription, symbol, published)
                if not request.snapshot_only:
                    published.subscribers = [
                        s
                        for s in published.subscribers
                        if not (s.owner == owner and s.request_id == request.request_id)
                    ]
                    published.subscribers.append(subscription)
        else:
            for published in self._books.values():
                published.subscribers = [
                    s
                    for s in published.subscribers
                    if not (s.owner == owner and s.request_id == request.request_id)
                ]

    def _published(self, symbol: str) -> _Published:
        published = self._books.get(symbol)
        if published is None:
            ids = OrderIds() if self.order_level else None
            published = _Published(self._image(symbol, ids), ids)
            self._books[symbol] = published
        else:
            self._publish(symbol, published)  # bring it up to date before a snapshot
        return published

    def _image(self, symbol: str, ids: OrderIds | None) -> BookImage | OrderImage:
        engine, instrument = self.exchange.engine, self.instruments[symbol]
        if ids is None:
            return engine_image(engine, instrument)
        return engine_orders(engine, instrument, ids)

    # ----------------------------------------------------------------- outbound
    def advance(self) -> None:
        super().advance()
        for symbol, published in getattr(self, "_books", {}).items():
            self._publish(symbol, published)

    def _publish(self, symbol: str, published: _Published) -> None:
        before = published.image
        image = self._image(symbol, published.ids)
        if isinstance(image, dict):
            rows = diff_orders(before, image)  # type: ignore[arg-type]
        else:
            rows = diff_levels(before, image)  # type: ignore[arg-type]
        if not rows:
            return
        first = published.rpt_seq + 1
        published.rpt_seq += len(rows)
        published.image = image
        if published.drop_next > 0:
            published.drop_next -= 1
            self._log.event("md", f"fault: increment of {symbol} up to RptSeq {first} dropped")
            return
        entries = MdEntries(
            actions=[r[0] for r in rows],
            types=[r[1] for r in rows],
            prices=[r[2] for r in rows],
            sizes=[r[3] for r in rows],
            symbols=[symbol] * len(rows),
            rpt_seqs=list(range(first, first + len(rows))),
            levels=None if isinstance(image, dict) else price_levels(before, rows),  # type: ignore[arg-type]
            entry_ids=[r[4] for r in rows] if isinstance(image, dict) else None,
        )
        for sub in published.subscribers:
            message = MdIncrement(entries=entries, seq_num=1, ts_ns=0, request_id=sub.request_id)
            body = md_body_fields(message)
            self._send_md(sub.owner, sub.session_id, MdMsgType.INCREMENTAL_REFRESH, body)

    def _send_snapshot(self, sub: _Subscription, symbol: str, published: _Published) -> None:
        image = published.image
        if isinstance(image, dict):
            rows: list[tuple[Any, ...]] = [
                (t, price, size, oid, 0) for oid, (t, price, size) in image.items()
            ]
        else:
            rows = [
                (side, price, size, "", rank)
                for side in (EntryType.BID, EntryType.OFFER)
                for rank, (price, size) in enumerate(image[side], start=1)
            ]
        entries = MdEntries(
            actions=[UpdateAction.NEW] * len(rows),
            types=[r[0] for r in rows],
            prices=[r[1] for r in rows],
            sizes=[r[2] for r in rows],
            symbols=[symbol] * len(rows),
            levels=None if isinstance(image, dict) else [r[4] for r in rows],
            entry_ids=[r[3] for r in rows] if isinstance(image, dict) else None,
        )
        snapshot = MdSnapshot(
            symbol=symbol,
            entries=entries,
            seq_num=1,
            ts_ns=0,
            rpt_seq=published.rpt_seq,
            request_id=sub.request_id,
        )
        body = md_body_fields(snapshot)
        self._send_md(sub.owner, sub.session_id, MdMsgType.SNAPSHOT_FULL_REFRESH, body)

    def _send_md(
        self, owner: str, session_id: fix.SessionID, msg_type: str, body: list[tuple[int, str]]
    ) -> None:
        try:
            fix.Session.sendToTarget(md_message(msg_type, body), session_id)
        except fix.SessionNotFound:
            self._log.event(owner, "no session to send market data to")
            return
        self.md_sent[owner] = self.md_sent.get(owner, 0) + 1

    # ----------------------------------------------------------------- faults
    def drop_next_increment(self, symbol: str) -> None:
        self._published(symbol).drop_next += 1


class MarketDataVenueServer(FixVenueServer):
    """A :class:`FixVenueServer` that also publishes its books as FIX market data.

    Same constructor as :class:`FixVenueServer`, plus ``order_level``: publish every
    resting order with its MDEntryID (L3) instead of price levels with MDPriceLevel (L2).
    Clients subscribe with 35=V.
    """

    worker_class = MdPublishingWorker

    def __init__(self, *args: Any, order_level: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_level = order_level

    def start(self) -> None:
        if self.config.data_dictionary is None:
            path = md_data_dictionary(self.config.store_dir)
            self.config = dataclasses.replace(self.config, data_dictionary=path)
        super().start()
        instruments = {symbol: self._instruments[symbol] for symbol in self._instruments}
        order_level = self.order_level
        self.call(lambda worker: worker.attach(instruments, order_level=order_level))  # type: ignore[attr-defined]

    def book_image(self, symbol: str) -> BookImage:
        """The venue's own displayed book of ``symbol`` (read on the worker thread)."""
        return self.call(
            lambda worker: engine_image(worker.exchange.engine, self._instruments[symbol])
        )

    def order_image(self, symbol: str) -> OrderImage:
        """The venue's displayed book of ``symbol`` order by order, as last published
        (entry id → (entry type, price, size)); only with ``order_level``."""

        def read(worker: VenueWorker) -> OrderImage:
            published = worker._published(symbol)  # type: ignore[attr-defined]
            return dict(published.image)

        return self.call(read)

    def md_messages_sent(self, client_comp_id: str) -> int:
        """W/X/Y messages sent to a client so far."""
        return self.call(lambda worker: worker.md_sent.get(client_comp_id, 0))  # type: ignore[attr-defined]

    def md_subscriptions(self, symbol: str) -> int:
        """Live snapshot-plus-updates subscriptions to ``symbol``."""

        def count(worker: VenueWorker) -> int:
            published = getattr(worker, "_books", {}).get(symbol)
            return 0 if published is None else len(published.subscribers)

        return self.call(count)

    def drop_next_increment(self, symbol: str) -> None:
        """Fault: compute the next 35=X of ``symbol`` (its RptSeq numbers are used up) but
        never send it, as a lossy feed would."""
        self.call(lambda worker: worker.drop_next_increment(symbol))  # type: ignore[attr-defined]
