"""What the risk layer is told about the account once per bar (or on a kill command)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from emp.domain.orders import Order, OrderSide
from emp.domain.portfolio import Portfolio


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkingOrder:
    """An order the venue may still fill: the kill switch cancels these."""

    client_order_id: str
    symbol: str
    side: OrderSide
    leaves_quantity: float
    strategy: str = ""

    @classmethod
    def from_order(cls, order: Order) -> WorkingOrder:
        return cls(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            leaves_quantity=order.leaves_quantity,
            strategy=order.strategy,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnapshot:
    """Positions, marks, equity and working orders at ``ts_ns``.

    Attributes:
        positions: signed quantity per symbol (flat symbols may be left out).
        marks: the last price per symbol, in the instrument's currency.
        working_orders: every open order of the account.
        fx_rates: USD per unit of each currency other than USD (USD is always 1).
    """

    ts_ns: int
    equity: float
    positions: Mapping[str, float]
    marks: Mapping[str, float]
    working_orders: tuple[WorkingOrder, ...] = ()
    fx_rates: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_portfolio(
        cls,
        portfolio: Portfolio,
        *,
        ts_ns: int,
        working_orders: Iterable[Order | WorkingOrder] = (),
        fx_rates: Mapping[str, float] | None = None,
    ) -> AccountSnapshot:
        """Build a snapshot from the portfolio and the open orders (others are skipped)."""
        positions = {s: p.quantity for s, p in portfolio.positions.items()}
        marks = {}
        for symbol, position in portfolio.positions.items():
            mark = portfolio.mark_price(symbol)
            marks[symbol] = mark if mark is not None else position.average_price
        working: list[WorkingOrder] = []
        for order in working_orders:
            if isinstance(order, WorkingOrder):
                working.append(order)
            elif order.is_open and order.leaves_quantity > 0:
                working.append(WorkingOrder.from_order(order))
                if order.symbol not in marks:
                    mark = portfolio.mark_price(order.symbol)
                    if mark is not None:
                        marks[order.symbol] = mark
        return cls(
            ts_ns=ts_ns,
            equity=portfolio.equity,
            positions=positions,
            marks=marks,
            working_orders=tuple(working),
            fx_rates=dict(fx_rates or {}),
        )
