"""The strategy interface: what a strategy sees, what it may emit, how it is registered.

A strategy receives market events (closed bars, and book updates when a run is given book
data: :meth:`Strategy.on_book`) and returns :class:`OrderIntent` objects. It never talks
to a venue: intents go through pre-trade risk and then to whatever venue the composition
root chose, so the same strategy object runs in a backtest, a paper session or a live
session unchanged.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emp.domain.bars import Bar, BarSeries
from emp.domain.errors import InvalidConfiguration
from emp.domain.fills import Fill
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching.market_data import MarketUpdate
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from emp.domain.portfolio import Portfolio
from emp.domain.timers import Timer, TimerQueue


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderIntent:
    """What a strategy wants: the engine turns it into an order after risk checks."""

    symbol: str
    side: OrderSide
    quantity: float
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    tag: str = ""


class StrategyContext:
    """A read-only view of the account for a strategy, and its timers. Strategies never
    mutate the account; they may ask for calls at later times (:meth:`set_timer`)."""

    __slots__ = ("_instruments", "_portfolio", "timers", "ts_ns")

    def __init__(self, portfolio: Portfolio, instruments: InstrumentRegistry) -> None:
        self._portfolio = portfolio
        self._instruments = instruments
        self.ts_ns = 0
        #: The strategy's pending timers (the engine fires them: :meth:`Strategy.on_timer`).
        self.timers = TimerQueue()

    def set_timer(self, ts_ns: int, name: str = "") -> Timer:
        """Ask for :meth:`Strategy.on_timer` at ``ts_ns`` (UTC ns, not before ``ts_ns``
        now): it comes before the bar or book update stamped at or after that time."""
        return self.timers.set(ts_ns, name, now_ns=self.ts_ns)

    def cancel_timer(self, name: str) -> int:
        """Drop the pending timers named ``name``; returns how many."""
        return self.timers.cancel(name)

    def position(self, symbol: str) -> float:
        return self._portfolio.quantity(symbol)

    def instrument(self, symbol: str) -> Instrument:
        return self._instruments[symbol]

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._instruments)

    @property
    def cash(self) -> float:
        return self._portfolio.cash

    @property
    def equity(self) -> float:
        return self._portfolio.equity


class Strategy(ABC):
    """Base class for strategies. Override :meth:`on_bar`; the other hooks are optional."""

    #: A short, unique, lowercase name (also the registry key).
    name: str = "strategy"

    def on_start(self, ctx: StrategyContext) -> None:  # noqa: B027 - optional hook
        """Called once before the first event."""

    @abstractmethod
    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        """Called for every closed bar, in time order across symbols."""

    def fast_forward(self, series: BarSeries, start: int, stop: int, ctx: StrategyContext) -> int:
        """Optional speed-up: skip the bars on which :meth:`on_bar` would stay silent.

        Consume bars ``start, start + 1, …, k − 1`` of ``series`` — leaving the strategy
        exactly as if :meth:`on_bar` had been called on each and had returned no intent —
        and return ``k`` (``start <= k <= stop``): the first bar that might produce an
        intent (the engine then calls :meth:`on_bar` for it), or ``stop``. Stopping early
        is always correct; consuming a bar on which ``on_bar`` would have acted is a bug.
        Only what bars ``<= k − 1`` say may decide ``k`` (no look-ahead).

        The engine calls it only while no order works, so ``ctx``'s positions and cash
        stay as they are for the whole stretch; ``ctx.ts_ns`` is the bar before
        ``start``. The default consumes nothing.
        """
        return start

    def on_book(self, update: MarketUpdate, ctx: StrategyContext) -> Sequence[OrderIntent]:
        """Optional: called for every book update of a run given book data.

        ``update`` is the venue simulator's market data
        (:data:`~emp.domain.matching.MarketUpdate`): a
        :class:`~emp.domain.matching.BookSnapshot` (the displayed depth of one instrument,
        levels best first, as the venue's matching engine now holds it) or a
        :class:`~emp.domain.matching.TradePrint` (others traded at a price). Updates come in
        time order, merged with bars (an update at or before a bar's time comes before
        that bar's :meth:`on_bar`); when it is called the venue has applied the update, the
        portfolio is marked at the mid (or the trade's price) and ``ctx.ts_ns`` is the
        update's time. Intents go through the same risk checks and venue as those of
        :meth:`on_bar`. The default ignores book data.
        """
        return ()

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Sequence[OrderIntent]:
        """Optional: called when a timer set with :meth:`StrategyContext.set_timer` is due.

        ``ctx.ts_ns`` is the timer's time; the portfolio is marked as of the last bar or
        update before it. Intents go through the same risk checks and venue as those of
        :meth:`on_bar`, priced for the checks at the symbol's mark (a symbol never marked
        yet is refused by risk); a bar venue fills a market order at the next bar's open.
        The default does nothing.
        """
        return ()

    def on_fill(self, fill: Fill, ctx: StrategyContext) -> None:  # noqa: B027 - optional hook
        """Called after each of this strategy's fills has been booked."""

    def on_stop(self, ctx: StrategyContext) -> None:  # noqa: B027 - optional hook
        """Called once after the last event."""


StrategyFactory = Callable[[Mapping[str, Any]], Strategy]


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySpec:
    """A registrable strategy: its name, a factory and its documented parameters.

    ``parameters`` maps every accepted parameter to its default; the default's type is
    the parameter's type (``int``, ``float``, ``bool`` or ``str``).
    """

    name: str
    factory: StrategyFactory
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def build(self, overrides: Mapping[str, Any] | None = None) -> Strategy:
        params = {**self.parameters, **coerce_parameters(self, overrides or {})}
        return self.factory(params)


def _coerce(name: str, default: Any, raw: Any) -> Any:
    kind = type(default)
    if not isinstance(raw, str):
        if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
            return raw
        if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        raise InvalidConfiguration(
            f"parameter {name!r}: expected {kind.__name__}, was {type(raw).__name__}"
        )
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        value = kind(raw)
        if kind is float and not math.isfinite(value):
            raise ValueError(raw)
        return value
    except ValueError:
        raise InvalidConfiguration(
            f"parameter {name!r}: expected {kind.__name__}, was {raw!r}"
        ) from None


def coerce_parameters(spec: StrategySpec, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``raw`` against ``spec.parameters``, converting strings to the right type."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in spec.parameters:
            accepted = ", ".join(sorted(spec.parameters)) or "none"
            raise InvalidConfiguration(
                f"strategy {spec.name!r} has no parameter {name!r}; accepted: {accepted}"
            )
        out[name] = _coerce(name, spec.parameters[name], value)
    return out
