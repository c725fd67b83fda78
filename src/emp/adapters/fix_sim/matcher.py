"""Bar matching as pure functions: one working order against one bar, no bookkeeping.

Under the default next-bar-open fill model the venue only offers an order bars that opened
after it was sent, and prices come from that bar alone. Under the close fill model an order
arriving during a bar is matched at once against that bar's close (:func:`close_bar`: a bar
whose open, high, low and close are all the close), then like any other order on later bars.

* MARKET fills at the bar's open, moved ``slippage_bps + spread_bps / 2`` against the
  trader (the spread is quoted around the open, which is taken as the mid).
* LIMIT buy fills at the open when the open is at or below the limit, else at the limit
  when the bar's low reaches it; a LIMIT sell mirrors this with the high.
* The quantity is the order's leaves, capped at ``max_volume_participation`` of the bar's
  volume rounded down to the lot size.
* Time in force decides what happens to the rest after the bar: DAY expires, GTC keeps
  working, IOC is canceled, FOK fills completely or not at all (and is then canceled).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from emp.adapters.fix_sim.config import SimulatedVenueConfig
from emp.domain.bars import Bar
from emp.domain.fees import commission_fee
from emp.domain.instruments import Instrument
from emp.domain.orders import OrderSide, OrderType, TimeInForce

_QTY_TOLERANCE = 1e-9


class Remainder(Enum):
    """What becomes of an order's unfilled quantity once a bar has been matched."""

    NONE = "NONE"  # nothing is left: the order is filled
    KEEP = "KEEP"  # keeps working on later bars
    EXPIRE = "EXPIRE"
    CANCEL = "CANCEL"


class Terms(Protocol):
    """What matching reads of an order: :class:`MatchTerms`, or the venue's working order
    itself (which has the same attributes, so the venue builds no terms per match)."""

    @property
    def side(self) -> OrderSide: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def limit_price(self) -> float | None: ...
    @property
    def time_in_force(self) -> TimeInForce: ...
    @property
    def leaves_quantity(self) -> float: ...


@dataclass(frozen=True, slots=True)
class MatchTerms:
    """What matching needs to know about a working order."""

    side: OrderSide
    order_type: OrderType
    limit_price: float | None
    time_in_force: TimeInForce
    leaves_quantity: float


@dataclass(frozen=True, slots=True)
class Execution:
    quantity: float
    price: float


@dataclass(frozen=True, slots=True)
class BarOutcome:
    """An order's result on one bar: at most one execution, then the fate of the rest."""

    execution: Execution | None
    remainder: Remainder


def fill_price(terms: Terms, bar: Bar, slippage_bps: float) -> float | None:
    """The price ``terms`` trade at on ``bar``, or ``None`` when the bar never reaches it."""
    if terms.order_type is OrderType.MARKET:
        slip = slippage_bps / 10_000.0
        return bar.open * (1.0 + slip) if terms.side is OrderSide.BUY else bar.open * (1.0 - slip)
    limit = terms.limit_price
    if limit is None:
        return None
    if terms.side is OrderSide.BUY:
        if bar.open <= limit:
            return bar.open
        return limit if bar.low <= limit else None
    if bar.open >= limit:
        return bar.open
    return limit if bar.high >= limit else None


def fillable_quantity(
    leaves: float, bar: Bar, instrument: Instrument, participation: float | None
) -> float:
    """``leaves``, or less when the participation cap on ``bar.volume`` binds."""
    if participation is None:
        return leaves
    cap = instrument.round_down_quantity(participation * bar.volume)
    return leaves if cap >= leaves else max(cap, 0.0)


def commission(quantity: float, price: float, config: SimulatedVenueConfig) -> float:
    """The fee of one fill: ``max(min, bps * notional / 1e4 + per_share * quantity + fixed)``."""
    return commission_fee(
        quantity,
        price,
        bps=config.commission_bps,
        per_share=config.commission_per_share,
        fixed=config.commission_fixed,
        minimum=config.min_commission,
    )


def close_bar(bar: Bar) -> Bar:
    """``bar`` collapsed onto its close: what an order arriving at the close can trade on."""
    close = bar.close
    return Bar(bar.symbol, bar.ts_ns, close, close, close, close, bar.volume)


#: What becomes of the rest of an order that did not fill completely, by time in force.
_REST = {
    TimeInForce.DAY: Remainder.EXPIRE,
    TimeInForce.GTC: Remainder.KEEP,
    TimeInForce.IOC: Remainder.CANCEL,
    TimeInForce.FOK: Remainder.CANCEL,
}


def match_on_bar(
    terms: Terms, bar: Bar, instrument: Instrument, config: SimulatedVenueConfig
) -> BarOutcome:
    """Match one eligible order against ``bar``."""
    quantity, price, remainder = match_parts(
        terms, bar, instrument, config.market_impact_bps, config.max_volume_participation
    )
    return BarOutcome(Execution(quantity, price) if quantity > 0 else None, remainder)


def match_parts(
    terms: Terms,
    bar: Bar,
    instrument: Instrument,
    impact_bps: float,
    participation: float | None,
) -> tuple[float, float, Remainder]:
    """:func:`match_on_bar` as ``(quantity, price, remainder)``, quantity 0 for no execution.

    What the venue calls once per order and bar (no outcome objects); ``impact_bps`` is
    the config's ``market_impact_bps``, ``participation`` its ``max_volume_participation``.
    """
    price = fill_price(terms, bar, impact_bps)
    leaves = terms.leaves_quantity
    quantity = 0.0
    if price is not None:
        quantity = fillable_quantity(leaves, bar, instrument, participation)
    complete = quantity >= leaves - _QTY_TOLERANCE * (leaves if leaves > 1.0 else 1.0)
    tif = terms.time_in_force
    if tif is TimeInForce.FOK and not complete:
        return 0.0, 0.0, Remainder.CANCEL
    if price is None or not quantity > 0:  # no execution
        return 0.0, 0.0, _REST[tif]
    return quantity, price, Remainder.NONE if complete else _REST[tif]
