"""The served venue publishes its books: 35=V in, 35=W / 35=X / 35=Y out, over quickfix.

:class:`MarketDataVenueServer` is a :class:`~.venue_server.FixVenueServer` whose worker
(:class:`MdPublishingWorker`) also answers MarketDataRequests (35=V):

* 263=1 (snapshot + updates): a 35=W of the matching engine's displayed book for each
  symbol, then after every change of that book (an order resting, a fill, a market update)
  one 35=X holding the minimal entries between the previous and the new book
  (:func:`emp.domain.books.diff_levels`). Each book has its own RptSeq (83) series: every
  entry takes the next number; a 35=W carries the RptSeq of the last entry it includes.
* 263=0 (snapshot only): a 35=W per symbol (a subscriber's resync).
* 263=2: the request's updates stop.
* An unknown symbol is answered with a 35=Y (MDReqRejReason 0, unknown symbol).

Entries are price-keyed (MDUpdateAction with MDEntryPx); MDPriceLevel (1023) is not sent.

The dictionary: quickfix's stock FIX44.xml has no RptSeq (83) in the NoMDEntries group of
a 35=X (nor on a 35=W) and no MDPriceLevel (1023) at all, and quickfix's parser ends a
group at the first tag its dictionary does not put there, so it would reject (35=3) every
increment. Both sides therefore use :func:`md_data_dictionary`: the installed FIX44.xml
with RptSeq added to 35=W and to the 35=X entries, and MDPriceLevel defined and allowed in
the 35=X entries. :class:`MarketDataVenueServer` and
:class:`~.md_subscriber.QuickfixMarketData` write and use it when their configuration
names no dictionary of its own.
Messages are built with quickfix's typed FIX 4.4 classes so the repeating groups keep
their dictionary order. All of this runs on the worker thread, the only one touching
the matching engine.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import quickfix as fix
import quickfix44 as fix44

from emp.adapters.fix_codec.errors import FixDecodeError
from emp.adapters.fix_codec.md_encode import md_body_fields
from emp.adapters.fix_codec.md_errors import MdDecodeError
from emp.adapters.fix_codec.md_session import decode_market_data_request
from emp.adapters.fix_codec.md_tags import MdMsgType, MdTag
from emp.adapters.fix_quickfix.bridge import Inbound
from emp.adapters.fix_quickfix.config import installed_data_dictionary
from emp.adapters.fix_quickfix.venue_server import FixVenueServer
from emp.adapters.fix_quickfix.venue_worker import VenueWorker
from emp.domain.books import BookImage, diff_levels
from emp.domain.errors import InvalidConfiguration
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    EntryType,
    MdEntries,
    MdIncrement,
    MdSnapshot,
    SubscribeMarketData,
    UpdateAction,
)
from emp.domain.matching.venue_order import lots_to_quantity, ticks_to_price
from emp.domain.orders import OrderSide

#: MDReqRejReason (281) 0: unknown symbol.
UNKNOWN_SYMBOL = 0


MD_DICTIONARY_NAME = "FIX44-md.xml"

_INC_GROUP_END = "    <field name='EncodedText' required='N' />\n   </group>\n  </component>\n"
_INC_GROUP_START = "  <component name='MDIncGrp'>\n"
_W_START = "  <message name='MarketDataSnapshotFullRefresh' msgtype='W' msgcat='app'>\n"
_FIELDS_START = " <fields>\n"


def md_data_dictionary(directory: Path, source: Path | None = None) -> Path:
    """Write ``FIX44-md.xml`` into ``directory`` (see the module docstring) and return it.

    ``source`` is the dictionary to extend (default: quickfix's installed FIX44.xml).
    """
    text = (source or installed_data_dictionary()).read_text(encoding="utf-8")
    start = text.find(_INC_GROUP_START)
    end = text.find(_INC_GROUP_END, start)
    w_start = text.find(_W_START)
    if start < 0 or end < 0 or w_start < 0 or text.find(_FIELDS_START) < 0:
        raise InvalidConfiguration(
            "expected quickfix's FIX 4.4 dictionary (MDIncGrp, 35=W and <fields>), was another"
        )
    cut = end + len("    <field name='EncodedText' required='N' />\n")
    extra = (
        "    <field name='RptSeq' required='N' />\n    <field name='MDPriceLevel' required='N' />\n"
    )
    text = text[:cut] + extra + text[cut:]
    w_cut = text.find(_W_START) + len(_W_START)
    text = text[:w_cut] + "   <field name='RptSeq' required='N' />\n" + text[w_cut:]
    if "number='1023'" not in text:
        f_cut = text.find(_FIELDS_START) + len(_FIELDS_START)
        text = (
            text[:f_cut]
            + "  <field number='1023' name='MDPriceLevel' type='INT' />\n"
            + text[f_cut:]
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MD_DICTIONARY_NAME
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(slots=True)
class _Subscription:
    owner: str
    session_id: fix.SessionID
    request_id: str
    symbols: tuple[str, ...]


@dataclass(slots=True)
class _Published:
    """One book's published state: its last image and RptSeq."""

    image: BookImage
    rpt_seq: int = 0
    drop_next: int = 0
    subscribers: list[_Subscription] = field(default_factory=list)


def engine_image(worker: VenueWorker, instrument: Instrument) -> BookImage:
    """The matching engine's displayed book of ``instrument`` as a domain BookImage."""
    book = worker.exchange.engine.book(instrument.symbol)
    return tuple(
        tuple(
            (ticks_to_price(t, instrument), lots_to_quantity(lots, instrument))
            for t, lots in book.depth(side)
        )
        for side in (OrderSide.BUY, OrderSide.SELL)
    )  # type: ignore[return-value]


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

    def attach(self, instruments: dict[str, Instrument]) -> None:
        """Give the worker the listed instruments (on its thread, right after start);
        requests that arrived before are answered now."""
        self.instruments = instruments
        self._books: dict[str, _Published] = {}
        #: W/X/Y messages sent per owner (for tests and in-process synchronisation).
        self.md_sent: dict[str, int] = {}
        early: list[Inbound] = getattr(self, "_early", [])
        self._early = []
        for item in early:
            self._on_request(item)

    # ----------------------------------------------------------------- inbound
    def _handle(self, item: object) -> None:
        if (
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
            published = _Published(engine_image(self, self.instruments[symbol]))
            self._books[symbol] = published
        else:
            self._publish(symbol, published)  # bring it up to date before a snapshot
        return published

    # ----------------------------------------------------------------- outbound
    def advance(self) -> None:
        super().advance()
        for symbol, published in getattr(self, "_books", {}).items():
            self._publish(symbol, published)

    def _publish(self, symbol: str, published: _Published) -> None:
        image = engine_image(self, self.instruments[symbol])
        rows = diff_levels(published.image, image)
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
        )
        for sub in published.subscribers:
            message = MdIncrement(entries=entries, seq_num=1, ts_ns=0, request_id=sub.request_id)
            body = md_body_fields(message)
            self._send_md(sub.owner, sub.session_id, MdMsgType.INCREMENTAL_REFRESH, body)

    def _send_snapshot(self, sub: _Subscription, symbol: str, published: _Published) -> None:
        rows = [
            (UpdateAction.NEW, side, price, size)
            for side in (EntryType.BID, EntryType.OFFER)
            for price, size in published.image[side]
        ]
        entries = MdEntries(
            actions=[r[0] for r in rows],
            types=[r[1] for r in rows],
            prices=[r[2] for r in rows],
            sizes=[r[3] for r in rows],
            symbols=[symbol] * len(rows),
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

    Same constructor as :class:`FixVenueServer`; clients subscribe with 35=V.
    """

    worker_class = MdPublishingWorker

    def start(self) -> None:
        if self.config.data_dictionary is None:
            path = md_data_dictionary(self.config.store_dir)
            self.config = dataclasses.replace(self.config, data_dictionary=path)
        super().start()
        instruments = {symbol: self._instruments[symbol] for symbol in self._instruments}
        self.call(lambda worker: worker.attach(instruments))  # type: ignore[attr-defined]

    def book_image(self, symbol: str) -> BookImage:
        """The venue's own displayed book of ``symbol`` (read on the worker thread)."""
        return self.call(lambda worker: engine_image(worker, self._instruments[symbol]))

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
