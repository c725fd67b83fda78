"""The account's terms inside the event engine: FX rates, short borrow, buying power, margin.

:class:`AccountKeeper` is the engine's one collaborator for
:class:`~emp.domain.accounts.AccountTerms`. With the default terms (``unchecked``, no
borrow cost, one currency) the engine never calls it per bar, so the default path costs
nothing. Otherwise, per timestamp:

1. :meth:`before_bar` (before the venue matches): short positions pay borrow for the time
   since the previous timestamp at the previous marks and rates; then the FX rates move to
   this timestamp;
2. :meth:`refusal` (per order, before the risk check): cash or margin buying power;
3. :meth:`after_bar` (once equity is known): a margin maintenance breach starts a
   :class:`~emp.domain.accounts.MarginBreach` record (one per episode) and, unless the
   terms say ``liquidation="none"``, returns liquidation orders: market
   :class:`~emp.domain.commands.SubmitOrder` commands (strategy ``"liquidation"``) that the
   engine sends the way it sends the kill switch's flattening orders — past the account
   check and the risk manager, since they only reduce exposure and a broker's
   liquidation is not subject to the trader's own limits. They fill at the venue's next
   price. Working orders that reduce a position (the strategy's own exits, earlier
   liquidations not yet filled) count as done, so the account never sells more than it
   holds; a breach that persists (a further gap, costs) is liquidated again at the next
   bar. Each order is recorded as a :class:`~emp.domain.accounts.Liquidation`. A breach
   also cancels the strategy's working orders that would add exposure (on a flat symbol
   or on its position's side; :attr:`AccountKeeper.canceled`), and ``reduce`` liquidates
   down to the terms' ``liquidation_cushion`` above maintenance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from emp.domain.accounts import (
    AccountTerms,
    FxSeries,
    HeldPosition,
    Liquidation,
    MarginBreach,
    OrderExposure,
    account_refusal,
    borrow_cost,
    liquidation_quantities,
)
from emp.domain.clock_time import ns_to_iso
from emp.domain.commands import CancelOrder, SubmitOrder, VenueCommand
from emp.domain.errors import InvalidConfiguration
from emp.domain.instruments import InstrumentRegistry
from emp.domain.orders import Order, OrderSide, OrderStatus, OrderType, TimeInForce
from emp.domain.portfolio import Portfolio

#: The ``strategy`` (and client order id prefix) of every liquidation order.
LIQUIDATION_STRATEGY = "liquidation"
#: Liquidations listed one by one in the run's notes (the rest are counted).
_NOTED_LIQUIDATIONS = 20
_QTY_EPS = 1e-9
_CANCELABLE = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


def make_portfolio(
    initial_cash: float,
    terms: AccountTerms,
    instruments: InstrumentRegistry,
    fx: Iterable[FxSeries] | None,
) -> Portfolio:
    """The run's portfolio: multi-currency only when FX series are given."""
    if fx is None:
        return Portfolio(initial_cash, base_currency=terms.base_currency)
    series = {s.currency: s for s in fx}
    currencies = {symbol: instruments[symbol].currency for symbol in instruments}
    missing = sorted(
        {c for c in currencies.values() if c != terms.base_currency and c not in series}
    )
    if missing:
        raise InvalidConfiguration(
            f"instruments trade in {', '.join(missing)} but the account's base currency is "
            f"{terms.base_currency}: give an FX series for each"
        )
    return Portfolio(initial_cash, base_currency=terms.base_currency, currencies=currencies)


class AccountKeeper:
    """Applies the account terms to the engine's portfolio (see the module doc).

    ``instruments`` gives the lot sizes liquidation orders are rounded to (whole units
    when it is ``None``).
    """

    def __init__(
        self,
        terms: AccountTerms,
        portfolio: Portfolio,
        fx: Iterable[FxSeries] | None,
        instruments: InstrumentRegistry | None = None,
    ) -> None:
        self.terms = terms
        self._portfolio = portfolio
        self._fx = tuple(fx or ())
        self._instruments = instruments
        self._previous_ts: int | None = None
        self._in_breach = False
        self.breaches: list[MarginBreach] = []
        self.liquidations: list[Liquidation] = []
        #: Client order ids of the working orders a breach canceled (they added exposure).
        self.canceled: list[str] = []
        self.per_bar = bool(self._fx) or terms.borrow_bps > 0 or terms.kind == "margin"

    def before_bar(self, ts: int) -> None:
        portfolio = self._portfolio
        if self.terms.borrow_bps > 0 and self._previous_ts is not None:
            short = portfolio.short_notional()
            if short > 0:
                portfolio.pay_carry(
                    borrow_cost(short, self.terms.borrow_bps, ts - self._previous_ts)
                )
        self._previous_ts = ts
        for series in self._fx:
            portfolio.set_rate(series.currency, series.rate_at(ts))

    def after_bar(
        self,
        ts: int,
        equity: float,
        gross: float,
        working: Mapping[str, Order] | None = None,
    ) -> tuple[VenueCommand, ...]:
        """Check maintenance at ``ts``; the liquidation orders to send (often none).

        ``working`` maps client order ids to the orders still working (the engine's map):
        what they would take off a position is not liquidated again.
        """
        if self.terms.kind != "margin":
            return ()
        requirement = self.terms.maintenance_margin * gross
        if not (gross > 0 and equity < requirement):
            self._in_breach = False
            return ()
        if not self._in_breach:
            self.breaches.append(MarginBreach(ts, equity, requirement, gross))
        self._in_breach = True
        if not self.terms.liquidates:
            return ()
        reason = (
            f"margin: equity {equity:,.2f} below maintenance {requirement:,.2f} "
            f"({self.terms.maintenance_margin:.0%} of gross {gross:,.2f})"
        )
        return self._liquidate(ts, equity, reason, working or {})

    def _held(self, working: Mapping[str, Order]) -> list[HeldPosition]:
        """Open positions less what working orders on their reducing side take off."""
        portfolio = self._portfolio
        positions = portfolio.positions
        reducing: dict[str, float] = {}
        for order in working.values():
            position = positions.get(order.symbol)
            if position is not None and order.side.sign * position.quantity < 0:
                reducing[order.symbol] = reducing.get(order.symbol, 0.0) + order.leaves_quantity
        held = []
        for symbol, position in sorted(positions.items()):
            left = abs(position.quantity) - reducing.get(symbol, 0.0)
            if left <= _QTY_EPS * max(1.0, abs(position.quantity)):
                continue
            mark = portfolio.mark_price(symbol) or position.average_price
            lot = self._instruments[symbol].lot_size if self._instruments is not None else 1.0
            held.append(
                HeldPosition(
                    symbol=symbol,
                    quantity=math.copysign(round(left, 12), position.quantity),
                    unit_value=abs(mark) * portfolio.rate_of(symbol),
                    lot_size=lot,
                )
            )
        return held

    def _liquidate(
        self, ts: int, equity: float, reason: str, working: Mapping[str, Order]
    ) -> tuple[VenueCommand, ...]:
        held = self._held(working)
        plan = liquidation_quantities(
            self.terms.liquidation,
            self.terms.maintenance_margin,
            equity,
            held,
            self.terms.liquidation_cushion,
        )
        orders: list[VenueCommand] = list(self._cancel_adding(ts, working))
        for symbol, signed in plan:
            client_order_id = f"{LIQUIDATION_STRATEGY}-{len(self.liquidations) + 1}"
            self.liquidations.append(Liquidation(ts, symbol, signed, reason))
            orders.append(
                SubmitOrder(
                    client_order_id=client_order_id,
                    symbol=symbol,
                    side=OrderSide.BUY if signed > 0 else OrderSide.SELL,
                    quantity=abs(signed),
                    order_type=OrderType.MARKET,
                    time_in_force=TimeInForce.DAY,
                    strategy=LIQUIDATION_STRATEGY,
                    ts_ns=ts,
                )
            )
        return tuple(orders)

    def _cancel_adding(self, ts: int, working: Mapping[str, Order]) -> list[CancelOrder]:
        """Cancels of the working orders (not liquidations) that would add exposure: on a
        flat symbol, or on the side of its position. Only accepted orders (NEW or partly
        filled) can be canceled; the margin check refuses new ones while in breach."""
        positions = self._portfolio.positions
        cancels = []
        for order in working.values():
            if order.strategy == LIQUIDATION_STRATEGY or order.status not in _CANCELABLE:
                continue
            position = positions.get(order.symbol)
            if position is not None and order.side.sign * position.quantity < 0:
                continue  # it reduces the position
            self.canceled.append(order.client_order_id)
            cancels.append(
                CancelOrder(
                    client_order_id=f"{LIQUIDATION_STRATEGY}-cancel-{len(self.canceled)}",
                    orig_client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    side=order.side,
                    ts_ns=ts,
                )
            )
        return cancels

    def refusal(
        self,
        symbol: str,
        signed_quantity: float,
        reference_price: float,
        open_buy: float,
        open_sell: float,
    ) -> str | None:
        if not self.terms.checks_orders:
            return None
        portfolio = self._portfolio
        equity, gross = portfolio.valuation()
        if portfolio.is_multi_currency:
            cash = sum(b * portfolio.rate(c) for c, b in portfolio.balances.items())
        else:
            cash = portfolio.cash
        return account_refusal(
            self.terms,
            OrderExposure(
                signed_quantity=signed_quantity,
                price=reference_price * portfolio.rate_of(symbol),
                position=portfolio.quantity(symbol),
                open_buy=open_buy,
                open_sell=open_sell,
                cash=cash,
                equity=equity,
                gross_exposure=gross,
            ),
        )

    def notes(self) -> list[str]:
        out = []
        if self._portfolio.carry_paid:
            out.append(
                f"short borrow cost paid: {self._portfolio.carry_paid:,.2f} "
                f"{self.terms.base_currency} at {self.terms.borrow_bps:g} bps a year"
            )
        for breach in self.breaches:
            out.append(
                f"margin maintenance breach at ts_ns={breach.ts_ns}: equity "
                f"{breach.equity:,.2f} below {breach.requirement:,.2f} "
                f"({self.terms.maintenance_margin:.0%} of gross {breach.gross_exposure:,.2f})"
            )
        for item in self.liquidations[:_NOTED_LIQUIDATIONS]:
            side = "buy" if item.quantity > 0 else "sell"
            out.append(
                f"liquidation at {ns_to_iso(item.ts_ns)}: {side} {abs(item.quantity):g} "
                f"{item.symbol} ({item.reason})"
            )
        if len(self.liquidations) > _NOTED_LIQUIDATIONS:
            out.append(
                f"... and {len(self.liquidations) - _NOTED_LIQUIDATIONS} more liquidation "
                "order(s) (the report's liquidations list has them all)"
            )
        if self.canceled:
            shown = ", ".join(self.canceled[:_NOTED_LIQUIDATIONS])
            more = len(self.canceled) - _NOTED_LIQUIDATIONS
            out.append(
                f"margin breach canceled {len(self.canceled)} working order(s) that added "
                f"exposure: {shown}" + (f" and {more} more" if more > 0 else "")
            )
        return out
