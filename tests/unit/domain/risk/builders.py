"""Small builders shared by the risk tests."""

from __future__ import annotations

from emp.domain.orders import OrderSide, OrderType
from emp.domain.risk import AccountSnapshot, RiskCheckInput, RiskContext, WorkingOrder
from emp.domain.strategy import OrderIntent

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def intent(
    side: OrderSide, quantity: float, symbol: str = "AAPL", limit_price: float | None = None
) -> OrderIntent:
    return OrderIntent(
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET if limit_price is None else OrderType.LIMIT,
        limit_price=limit_price,
    )


def check_input(
    side: OrderSide,
    quantity: float,
    *,
    symbol: str = "AAPL",
    position: float = 0.0,
    open_buy: float = 0.0,
    open_sell: float = 0.0,
    price: float = 100.0,
    limit_price: float | None = None,
    equity: float = 1_000_000.0,
    strategy: str = "alpha",
    ts_ns: int = 0,
    open_orders: int = 0,
    lot_size: float = 1.0,
    average_price: float = 0.0,
    context: RiskContext | None = None,
) -> RiskCheckInput:
    return RiskCheckInput(
        intent=intent(side, quantity, symbol, limit_price),
        position=position,
        open_buy_quantity=open_buy,
        open_sell_quantity=open_sell,
        reference_price=price,
        equity=equity,
        strategy=strategy,
        ts_ns=ts_ns,
        open_order_count=open_orders,
        lot_size=lot_size,
        average_price=average_price,
        context=context,
    )


def account(
    positions: dict[str, float] | None = None,
    *,
    marks: dict[str, float] | None = None,
    equity: float = 1_000_000.0,
    ts_ns: int = 0,
    working: tuple[WorkingOrder, ...] = (),
    fx_rates: dict[str, float] | None = None,
) -> AccountSnapshot:
    positions = positions or {}
    symbols = set(positions) | {o.symbol for o in working}
    return AccountSnapshot(
        ts_ns=ts_ns,
        equity=equity,
        positions=positions,
        marks=marks if marks is not None else dict.fromkeys(symbols, 100.0),
        working_orders=working,
        fx_rates=fx_rates or {},
    )


def working(cid: str, symbol: str, side: OrderSide, leaves: float) -> WorkingOrder:
    return WorkingOrder(client_order_id=cid, symbol=symbol, side=side, leaves_quantity=leaves)
