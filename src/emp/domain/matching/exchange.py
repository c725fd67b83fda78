"""SimulatedExchange: the matching engine behind a latency model, driven by time.

Commands reach the engine ``entry_delay_ns`` after they are sent and reports reach their
owner ``report_delay_ns`` after they are produced; market updates apply at their own
timestamps. Per owner, commands arrive and reports are delivered in the order they were
sent/produced (one TCP connection per owner never reorders). Everything happens in
:meth:`SimulatedExchange.advance_to`, in (time, arrival order): the same inputs and seed
give the same outputs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import count

from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder, VenueCommand
from emp.domain.matching.engine import MatchingEngine
from emp.domain.matching.latency import FixedLatency, LatencyModel
from emp.domain.matching.market_data import MarketUpdate
from emp.domain.matching.records import MatchReport, OrderState
from emp.domain.orders import OrderSide


@dataclass(frozen=True, slots=True)
class StatusQuery:
    """A client asks where one of its orders stands (FIX OrderStatusRequest)."""

    client_order_id: str
    symbol: str
    side: OrderSide
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """The venue's answer to a :class:`StatusQuery`; ``state`` is None for an unknown order."""

    owner: str
    query: StatusQuery
    state: OrderState | None
    ts_ns: int


@dataclass(frozen=True, slots=True)
class MassStatusQuery:
    """A client asks for every one of its working orders (FIX OrderMassStatusRequest),
    optionally only those of one symbol and/or side."""

    request_id: str
    symbol: str | None = None
    side: OrderSide | None = None


@dataclass(frozen=True, slots=True)
class MassStatusAnswer:
    """The venue's answer to a :class:`MassStatusQuery`: the owner's working orders, in
    the order they were accepted (empty when none)."""

    owner: str
    query: MassStatusQuery
    states: tuple[OrderState, ...]
    ts_ns: int


#: What a client asks about its orders.
Query = StatusQuery | MassStatusQuery
#: What the venue answers: a report or an answer to a query.
Answer = MatchReport | StatusAnswer | MassStatusAnswer


@dataclass(frozen=True, slots=True)
class Delivery:
    """A report (or a status answer) and the time its owner receives it."""

    report: Answer
    delivered_ns: int


@dataclass(frozen=True, slots=True)
class _Arrival:
    command: VenueCommand | Query | None
    owner: str
    update: MarketUpdate | None


class SimulatedExchange:
    """Time-ordered access to a :class:`MatchingEngine` with entry and report latency."""

    def __init__(self, engine: MatchingEngine, latency: LatencyModel | None = None) -> None:
        self.engine = engine
        self._latency: LatencyModel = latency if latency is not None else FixedLatency()
        self._order = count()
        self._pending: list[tuple[int, int, _Arrival]] = []
        self._outbox: list[tuple[int, int, Answer]] = []
        self._last_arrival: dict[str, int] = {}
        self._last_delivery: dict[str, int] = {}
        self._now_ns: int | None = None

    @property
    def now_ns(self) -> int | None:
        """The time the exchange has been advanced to (``None`` before the first advance)."""
        return self._now_ns

    def send(self, command: VenueCommand | Query, *, owner: str = "", sent_ns: int) -> int:
        """Schedule ``command``; returns the time it reaches the engine.

        A :class:`StatusQuery` or :class:`MassStatusQuery` travels like a command, so it is
        answered after everything the owner sent before it.
        """
        arrival = max(sent_ns + self._latency.entry_delay_ns(), self._last_arrival.get(owner, 0))
        self._last_arrival[owner] = arrival
        heapq.heappush(self._pending, (arrival, next(self._order), _Arrival(command, owner, None)))
        return arrival

    def feed(self, update: MarketUpdate) -> None:
        """Schedule a market update at its own timestamp."""
        heapq.heappush(self._pending, (update.ts_ns, next(self._order), _Arrival(None, "", update)))

    def next_due_ns(self) -> int | None:
        """The earliest time something is scheduled to happen, or ``None``."""
        times = [queue[0][0] for queue in (self._pending, self._outbox) if queue]
        return min(times) if times else None

    def advance_to(self, ts_ns: int) -> list[Delivery]:
        """Process everything due by ``ts_ns``; return the reports delivered by then."""
        if self._now_ns is not None and ts_ns < self._now_ns:
            raise ValueError(f"time moves forward only: expected >= {self._now_ns}, was {ts_ns}")
        self._now_ns = ts_ns
        pending, outbox, last_delivery = self._pending, self._outbox, self._last_delivery
        pop, push, report_delay = heapq.heappop, heapq.heappush, self._latency.report_delay_ns
        while pending and pending[0][0] <= ts_ns:
            at, _, arrival = pop(pending)
            for report in self._process(arrival, at):
                owner = report.owner
                due = at + report_delay()
                deliver = max(due, last_delivery.get(owner, 0))
                last_delivery[owner] = deliver
                push(outbox, (deliver, next(self._order), report))
        delivered: list[Delivery] = []
        while outbox and outbox[0][0] <= ts_ns:
            at, _, report = pop(outbox)
            delivered.append(Delivery(report, at))
        return delivered

    def _process(self, arrival: _Arrival, at: int) -> list[Answer]:
        if arrival.update is not None:
            return list(self.engine.apply(arrival.update))
        if type(arrival.command) is SubmitOrder:  # the common case, before the matches
            return self.engine.submit(arrival.command, now_ns=at, owner=arrival.owner)
        match arrival.command:
            case StatusQuery() as query:
                state = self.engine.order(query.client_order_id, arrival.owner)
                answer = StatusAnswer(owner=arrival.owner, query=query, state=state, ts_ns=at)
                return [answer]
            case MassStatusQuery() as mass:
                states = tuple(
                    state
                    for state in self.engine.open_orders(arrival.owner)
                    if (mass.symbol is None or state.symbol == mass.symbol)
                    and (mass.side is None or state.side is mass.side)
                )
                return [MassStatusAnswer(arrival.owner, mass, states, at)]
            case SubmitOrder() as command:
                return list(self.engine.submit(command, now_ns=at, owner=arrival.owner))
            case CancelOrder() as command:
                return list(self.engine.cancel(command, now_ns=at, owner=arrival.owner))
            case ReplaceOrder() as command:
                return list(self.engine.replace(command, now_ns=at, owner=arrival.owner))
        return []
