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
   :class:`~emp.domain.accounts.MarginBreach` record (one per episode).
"""

from __future__ import annotations

from collections.abc import Iterable

from emp.domain.accounts import (
    AccountTerms,
    FxSeries,
    MarginBreach,
    OrderExposure,
    account_refusal,
    borrow_cost,
)
from emp.domain.errors import InvalidConfiguration
from emp.domain.instruments import InstrumentRegistry
from emp.domain.portfolio import Portfolio


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
    """Applies the account terms to the engine's portfolio (see the module doc)."""

    def __init__(
        self, terms: AccountTerms, portfolio: Portfolio, fx: Iterable[FxSeries] | None
    ) -> None:
        self.terms = terms
        self._portfolio = portfolio
        self._fx = tuple(fx or ())
        self._previous_ts: int | None = None
        self._in_breach = False
        self.breaches: list[MarginBreach] = []
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

    def after_bar(self, ts: int, equity: float, gross: float) -> None:
        if self.terms.kind != "margin":
            return
        requirement = self.terms.maintenance_margin * gross
        if gross > 0 and equity < requirement:
            if not self._in_breach:
                self.breaches.append(MarginBreach(ts, equity, requirement, gross))
            self._in_breach = True
        else:
            self._in_breach = False

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
        return out
