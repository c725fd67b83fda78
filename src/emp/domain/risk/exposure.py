"""The exposure book: per-symbol worst-case exposure and its portfolio aggregates.

Every symbol is valued in USD at its mark, counting its working orders in the worst case:

* gross: ``max(|pos + open_buy|, |pos - open_sell|) * price * usd_rate``;
* net, high and low: ``(pos + open_buy)`` and ``(pos - open_sell)`` times price and rate;
* beta-weighted high and low: the same two sides times the symbol's beta;
* VaR value: ``(pos + open_buy - open_sell) * price * usd_rate`` (every working order filled).

The book is rebuilt from an :class:`AccountSnapshot` once per bar and updated in O(1) after
each approved order, so a pre-trade check never walks the portfolio.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.account import AccountSnapshot
from emp.domain.risk.market_risk import MarketRiskModel
from emp.domain.risk.rule import RiskCheckInput
from emp.domain.risk.var_book import VarBook

#: The group of a symbol that a grouping does not name.
UNGROUPED = "other"
#: The grouping built from the symbol → currency map.
CURRENCY_GROUPING = "currency"


class SymbolExposure:
    """One symbol's position, working orders and the exposures they imply (USD)."""

    __slots__ = (
        "beta",
        "beta_high",
        "beta_low",
        "gross",
        "net_high",
        "net_low",
        "open_buy",
        "open_sell",
        "position",
        "price",
        "rate",
        "symbol",
        "unit_value",
        "value",
    )

    def __init__(
        self,
        symbol: str,
        position: float,
        open_buy: float,
        open_sell: float,
        price: float,
        rate: float = 1.0,
        beta: float = 1.0,
    ) -> None:
        self.symbol = symbol
        self.position = position
        self.open_buy = open_buy
        self.open_sell = open_sell
        self.price = price
        self.rate = rate
        self.beta = beta
        k = price * rate
        self.unit_value = k
        high = (position + open_buy) * k
        low = (position - open_sell) * k
        self.net_high = high
        self.net_low = low
        # conditional expressions, not max()/abs(): this runs twice per pre-trade check
        abs_high = high if high >= 0.0 else -high
        abs_low = low if low >= 0.0 else -low
        self.gross = abs_high if abs_high >= abs_low else abs_low
        beta_high, beta_low = beta * high, beta * low
        if beta_high >= beta_low:
            self.beta_high, self.beta_low = beta_high, beta_low
        else:
            self.beta_high, self.beta_low = beta_low, beta_high
        self.value = (position + open_buy - open_sell) * k

    def with_order(self, signed_quantity: float) -> SymbolExposure:
        """This symbol with one more working order of ``signed_quantity``."""
        if signed_quantity > 0:
            buy, sell = self.open_buy + signed_quantity, self.open_sell
        else:
            buy, sell = self.open_buy, self.open_sell - signed_quantity
        return SymbolExposure(
            self.symbol, self.position, buy, sell, self.price, self.rate, self.beta
        )


class ExposureBook:
    """Aggregates of :class:`SymbolExposure` over the account, plus VaR vectors.

    Args:
        groupings: grouping name → symbol → group (e.g. ``{"sector": {"AAPL": "tech"}}``).
        currencies: symbol → ISO currency (default USD); also the ``currency`` grouping.
        default_beta: the beta of a symbol the market model has none for.
    """

    def __init__(
        self,
        *,
        groupings: Mapping[str, Mapping[str, str]] | None = None,
        currencies: Mapping[str, str] | None = None,
        default_beta: float = 1.0,
        track_variance: bool = False,
    ) -> None:
        self._currencies = dict(currencies or {})
        self._groupings: dict[str, dict[str, str]] = {
            name: dict(mapping) for name, mapping in (groupings or {}).items()
        }
        if CURRENCY_GROUPING in self._groupings:
            raise InvalidConfiguration(
                "the 'currency' grouping is built from the currencies map; do not pass it"
            )
        self._groupings[CURRENCY_GROUPING] = self._currencies
        self.default_beta = default_beta
        #: Keep ``Σ v`` current from each rebuild (parametric VaR needs it).
        self.track_variance = track_variance
        self._fx: dict[str, float] = {}
        self.market: MarketRiskModel | None = None
        self._reset()

    def _reset(self) -> None:
        self._entries: dict[str, SymbolExposure] = {}
        self.gross = 0.0
        self.net_high = 0.0
        self.net_low = 0.0
        self.beta_high = 0.0
        self.beta_low = 0.0
        self._group_gross: dict[str, dict[str, float]] = {g: {} for g in self._groupings}
        #: Per symbol, its (USD rate, beta): computed once per rebuild.
        self._units: dict[str, tuple[float, float]] = {}
        #: Per symbol, the (group sums, group) pairs it adds to: computed once per rebuild.
        self._group_slots: dict[str, tuple[tuple[dict[str, float], str], ...]] = {}
        #: The VaR values, P&L and ``Σ v`` (``None`` without a market model).
        self.var: VarBook | None = None

    # ------------------------------------------------------------------ lookups
    @property
    def groupings(self) -> tuple[str, ...]:
        return tuple(self._groupings)

    def group_of(self, grouping: str, symbol: str) -> str:
        mapping = self._groupings[grouping]
        default = "USD" if grouping == CURRENCY_GROUPING else UNGROUPED
        return mapping.get(symbol, default)

    def group_total(self, grouping: str, symbol: str) -> tuple[str, float]:
        """``symbol``'s group in ``grouping`` and that group's gross (the symbol included)."""
        default = "USD" if grouping == CURRENCY_GROUPING else UNGROUPED
        group = self._groupings[grouping].get(symbol, default)
        return group, self._group_gross[grouping].get(group, 0.0)

    def group_gross(self, grouping: str, group: str) -> float:
        return self._group_gross[grouping].get(group, 0.0)

    def rate(self, symbol: str) -> float:
        currency = self._currencies.get(symbol, "USD")
        if currency == "USD":
            return 1.0
        try:
            return self._fx[currency]
        except KeyError:
            raise InvalidConfiguration(
                f"no USD rate for currency {currency!r} of {symbol!r}; "
                "pass it in AccountSnapshot.fx_rates"
            ) from None

    def beta(self, symbol: str) -> float:
        if self.market is None:
            return self.default_beta
        return self.market.betas.get(symbol, self.default_beta)

    def entry(self, symbol: str) -> SymbolExposure | None:
        return self._entries.get(symbol)

    def entries(self) -> Mapping[str, SymbolExposure]:
        return dict(self._entries)

    def unit(self, symbol: str) -> tuple[float, float]:
        """``symbol``'s (USD rate, beta), cached until the next rebuild."""
        unit = self._units.get(symbol)
        if unit is None:
            unit = self._units[symbol] = (self.rate(symbol), self.beta(symbol))
        return unit

    def measure(self, data: RiskCheckInput) -> SymbolExposure:
        """The intent's symbol as the check input describes it, before the order."""
        symbol = data.intent.symbol
        unit = self.unit(symbol)
        return SymbolExposure(
            symbol,
            data.position,
            data.open_buy_quantity,
            data.open_sell_quantity,
            data.reference_price,
            unit[0],
            unit[1],
        )

    def to_dict(self) -> dict[str, float]:
        return {
            "gross": self.gross,
            "net_high": self.net_high,
            "net_low": self.net_low,
            "beta_high": self.beta_high,
            "beta_low": self.beta_low,
        }

    # ------------------------------------------------------------------ updates
    def rebuild(self, account: AccountSnapshot, market: MarketRiskModel | None = None) -> None:
        """Recompute everything from ``account`` (and ``market``, when given, from now on)."""
        if market is not None:
            self.market = market
        self._fx = {c: float(r) for c, r in account.fx_rates.items()}
        self._reset()
        buys: dict[str, float] = {}
        sells: dict[str, float] = {}
        for order in account.working_orders:
            book = buys if order.side.sign > 0 else sells
            book[order.symbol] = book.get(order.symbol, 0.0) + order.leaves_quantity
        symbols = set(account.positions) | set(buys) | set(sells)
        for symbol in sorted(symbols):
            price = account.marks.get(symbol)
            if price is None:
                raise InvalidConfiguration(f"account snapshot has no mark for {symbol!r}")
            self._add(
                SymbolExposure(
                    symbol,
                    float(account.positions.get(symbol, 0.0)),
                    buys.get(symbol, 0.0),
                    sells.get(symbol, 0.0),
                    float(price),
                    self.rate(symbol),
                    self.beta(symbol),
                )
            )
        if self.market is not None:
            values = np.zeros(len(self.market.symbols))
            for symbol, entry in self._entries.items():
                j = self.market.index.get(symbol)
                if j is not None:
                    values[j] = entry.value
            self.var = VarBook(self.market, values, track_variance=self.track_variance)

    def store(self, entry: SymbolExposure) -> None:
        """Replace one symbol's exposure (after an approved order) and the aggregates."""
        old = self._entries.get(entry.symbol)
        self._entries[entry.symbol] = entry
        if old is None:
            self._shift(entry, entry.gross, entry.net_high, entry.net_low)
        else:
            self._shift(
                entry,
                entry.gross - old.gross,
                entry.net_high - old.net_high,
                entry.net_low - old.net_low,
            )
            self.beta_high -= old.beta_high
            self.beta_low -= old.beta_low
        self.beta_high += entry.beta_high
        self.beta_low += entry.beta_low
        if self.var is not None:
            j = self.var.market.index.get(entry.symbol)
            if j is not None:
                self.var.apply(j, entry.value)

    def _add(self, e: SymbolExposure) -> None:
        self._entries[e.symbol] = e
        self._shift(e, e.gross, e.net_high, e.net_low)
        self.beta_high += e.beta_high
        self.beta_low += e.beta_low

    def _shift(self, e: SymbolExposure, gross: float, net_high: float, net_low: float) -> None:
        self.gross += gross
        self.net_high += net_high
        self.net_low += net_low
        slots = self._group_slots.get(e.symbol)
        if slots is None:
            slots = self._group_slots[e.symbol] = tuple(
                (sums, self.group_of(grouping, e.symbol))
                for grouping, sums in self._group_gross.items()
            )
        for sums, group in slots:
            sums[group] = sums.get(group, 0.0) + gross

    # ---------------------------------------------------------------------- VaR
    def var_value(self, symbol: str) -> float:
        """The VaR value the book holds for ``symbol`` (0 if none or outside the model)."""
        if self.var is None:
            return 0.0
        j = self.var.market.index.get(symbol)
        return 0.0 if j is None else self.var.value(j)

    @property
    def pnl(self) -> np.ndarray | None:
        """The P&L the book would have had in each period of the model's window."""
        return None if self.var is None else self.var.pnl

    def variance(self) -> float:
        """The variance of the book's per-period P&L (``v' Σ v``)."""
        return 0.0 if self.var is None else self.var.variance()
