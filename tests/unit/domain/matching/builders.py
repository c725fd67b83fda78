"""Small builders for matching-engine tests."""

from __future__ import annotations

from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderEvent, OrderFilled
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching import (
    BookSnapshot,
    MatchingConfig,
    MatchingEngine,
    MatchReport,
    QueueModel,
)
from emp.domain.orders import OrderSide, OrderType, TimeInForce

SYMBOL = "ABC"
INSTRUMENT = Instrument(symbol=SYMBOL, tick_size=0.01, lot_size=1.0)
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def engine(queue_model: QueueModel = QueueModel.RISK_AVERSE, **config) -> MatchingEngine:
    return MatchingEngine(
        InstrumentRegistry([INSTRUMENT, Instrument(symbol="XYZ", tick_size=0.5, lot_size=10)]),
        MatchingConfig(queue_model=queue_model, **config),
    )


def limit(
    cid: str,
    side: OrderSide,
    quantity: float,
    price: float,
    tif: TimeInForce = TimeInForce.DAY,
    symbol: str = SYMBOL,
) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=price,
        time_in_force=tif,
    )


def market(cid: str, side: OrderSide, quantity: float, symbol: str = SYMBOL) -> SubmitOrder:
    return SubmitOrder(client_order_id=cid, symbol=symbol, side=side, quantity=quantity)


def cancel(cid: str, orig: str, side: OrderSide, symbol: str = SYMBOL) -> CancelOrder:
    return CancelOrder(client_order_id=cid, orig_client_order_id=orig, symbol=symbol, side=side)


def replace(
    cid: str, orig: str, side: OrderSide, quantity: float, price: float | None
) -> ReplaceOrder:
    return ReplaceOrder(
        client_order_id=cid,
        orig_client_order_id=orig,
        symbol=SYMBOL,
        side=side,
        quantity=quantity,
        limit_price=price,
    )


def book(
    bids: tuple[tuple[float, float], ...] = (),
    asks: tuple[tuple[float, float], ...] = (),
    ts_ns: int = 0,
) -> BookSnapshot:
    return BookSnapshot(symbol=SYMBOL, ts_ns=ts_ns, bids=bids, asks=asks)


def events(reports: list[MatchReport]) -> list[OrderEvent]:
    return [r.event for r in reports]


def fills(reports: list[MatchReport], cid: str | None = None) -> list[tuple[float, float]]:
    """(quantity, price) of each fill, optionally of one order only."""
    return [
        (r.event.fill.quantity, r.event.fill.price)
        for r in reports
        if isinstance(r.event, OrderFilled) and (cid is None or r.event.client_order_id == cid)
    ]


def kinds(reports: list[MatchReport]) -> list[str]:
    return [type(r.event).__name__ for r in reports]
