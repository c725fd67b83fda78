"""The exposure book: per-symbol worst-case exposure and its portfolio aggregates.

Every symbol is valued in USD at its mark, counting its working orders in the worst case:

* gross: ``max(|pos + open_buy|, |pos - open_sell|) * price * usd_rate``;
* net, high and low: ``(pos + open_buy)`` and ``(pos - open_sell)`` times price and rate;
* beta-weighted high and low: the same two sides times the symbol's beta;
* VaR value: ``(pos + open_buy - open_sell) * price * usd_rate`` (every working order filled).

Each symbol has one mutable :class:`SymbolSlot` holding its figures and its per-symbol
constants (USD rate, groups, column in the market model). The aggregates are running sums:
an approved order or a bar changes only the symbols it touches (:meth:`ExposureBook.sync`
compares the account with the slots; given the changed symbols it visits only those), and
the sums are recomputed from the slots every ``RESYNC`` syncs so rounding never piles up.
A pre-trade check never walks the portfolio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.account import AccountSnapshot
from emp.domain.risk.exposure_sums import beta_sums, exact_sums, group_sums, working_quantities
from emp.domain.risk.market_risk import MarketRiskModel, ReturnHistory
from emp.domain.risk.rule import RiskCheckInput
from emp.domain.risk.symbol_exposure import SymbolExposure, SymbolSlot
from emp.domain.risk.var_book import BATCH, VarBook

#: The group of a symbol that a grouping does not name.
UNGROUPED = "other"
#: The grouping built from the symbol → currency map.
CURRENCY_GROUPING = "currency"
#: Incremental syncs between two exact recomputations of the aggregates.
RESYNC = 256
#: The working quantities of an account without working orders (never written).
_NOTHING: Mapping[str, float] = {}

__all__ = ["CURRENCY_GROUPING", "UNGROUPED", "ExposureBook", "SymbolExposure", "SymbolSlot"]


class ExposureBook:
    """Aggregates of the per-symbol exposures over the account, plus the VaR book.

    Args:
        groupings: grouping name → symbol → group (e.g. ``{"sector": {"AAPL": "tech"}}``).
        currencies: symbol → ISO currency (default USD); also the ``currency`` grouping.
        default_beta: the beta of a symbol the market model has none for.
        track_variance: accepted for compatibility; the VaR book derives the variance
            from its P&L vector on demand, so there is nothing to keep.
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
        self.track_variance = track_variance
        self._fx: dict[str, float] = {}
        self._fx_source: dict[str, float] = {}
        self.market: MarketRiskModel | None = None
        #: Per model column, the beta (``None``: every symbol has ``default_beta``).
        self._betas: list[float] | None = None
        #: Symbols with working orders at the last sync (``None`` before the first one).
        self._working_symbols: set[str] | None = None
        self._syncs = 0
        self._reset()

    def _reset(self) -> None:
        self._slots: dict[str, SymbolSlot] = {}
        #: Per grouping, group → position in that grouping's list of gross sums.
        self._group_index: dict[str, dict[str, int]] = {g: {} for g in self._groupings}
        self._group_sums: dict[str, list[float]] = {g: [] for g in self._groupings}
        #: The VaR values, P&L and moments (``None`` without a market model).
        self.var: VarBook | None = None
        self._zero_sums()

    def _zero_sums(self) -> None:
        self.gross = 0.0
        self.net_high = 0.0
        self.net_low = 0.0
        self.beta_high = 0.0
        self.beta_low = 0.0
        for sums in self._group_sums.values():
            sums[:] = [0.0] * len(sums)

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
        group = self.group_of(grouping, symbol)
        return group, self.group_gross(grouping, group)

    def group_gross(self, grouping: str, group: str) -> float:
        i = self._group_index[grouping].get(group)
        return 0.0 if i is None else self._group_sums[grouping][i]

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
        slot = self._slots.get(symbol)
        j = slot.j if slot is not None else self._column(symbol)
        betas = self._betas
        return self.default_beta if betas is None or j < 0 else betas[j]

    def beta_of(self, slot: SymbolSlot) -> float:
        betas = self._betas
        return self.default_beta if betas is None or slot.j < 0 else betas[slot.j]

    def _column(self, symbol: str) -> int:
        market = self.market
        if market is None:
            return -1
        return market.index.get(symbol, -1)

    def slot(self, symbol: str) -> SymbolSlot:
        """``symbol``'s slot, made (flat, not in the book) on first use."""
        slot = self._slots.get(symbol)
        if slot is None:
            groups = {}
            for grouping, sums in self._group_sums.items():
                group = self.group_of(grouping, symbol)
                index = self._group_index[grouping]
                if group not in index:
                    index[group] = len(sums)
                    sums.append(0.0)
                groups[grouping] = (sums, index[group], group)
            slot = SymbolSlot(symbol, self.rate(symbol), groups, self._column(symbol))
            self._slots[symbol] = slot
        return slot

    def entry(self, symbol: str) -> SymbolExposure | None:
        slot = self._slots.get(symbol)
        if slot is None or not slot.present:
            return None
        return slot.exposure(self.beta_of(slot))

    def entries(self) -> Mapping[str, SymbolExposure]:
        return {
            s: slot.exposure(self.beta_of(slot)) for s, slot in self._slots.items() if slot.present
        }

    def unit(self, symbol: str) -> tuple[float, float]:
        """``symbol``'s (USD rate, beta)."""
        slot = self.slot(symbol)
        return slot.rate, self.beta_of(slot)

    def measure(self, data: RiskCheckInput) -> SymbolExposure:
        """The intent's symbol as the check input describes it, before the order."""
        slot = self.slot(data.intent.symbol)
        return SymbolExposure(
            slot.symbol,
            data.position,
            data.open_buy_quantity,
            data.open_sell_quantity,
            data.reference_price,
            slot.rate,
            self.beta_of(slot),
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
    def set(
        self,
        slot: SymbolSlot,
        position: float,
        buy: float,
        sell: float,
        price: float,
        unit_value: float | None = None,
    ) -> None:
        """Set one symbol's position, working quantities and mark; shift the aggregates.

        ``unit_value`` (``price`` × the slot's USD rate) may be passed when known."""
        k = price * slot.rate if unit_value is None else unit_value
        high = (position + buy) * k
        low = (position - sell) * k
        abs_high = high if high >= 0.0 else -high
        abs_low = low if low >= 0.0 else -low
        gross = abs_high if abs_high >= abs_low else abs_low
        betas, j = self._betas, slot.j
        beta = self.default_beta if betas is None or j < 0 else betas[j]
        self.put(slot, position, buy, sell, price, k, high, low, gross, beta)

    def put(
        self,
        slot: SymbolSlot,
        position: float,
        buy: float,
        sell: float,
        price: float,
        k: float,
        high: float,
        low: float,
        gross: float,
        beta: float,
    ) -> None:
        """:meth:`set` with the figures already computed (the check's projection has them):
        ``k`` the USD unit value, ``high``/``low`` the two sides in USD, ``gross`` the
        larger absolute side, ``beta`` the symbol's current beta.

        A symbol booked with working quantities is visited by the next :meth:`sync`
        (its orders may be gone by then with nothing else about the symbol changed)."""
        if buy or sell:
            working = self._working_symbols
            if working is not None:
                working.add(slot.symbol)
        d_gross = gross - slot.gross
        self.gross += d_gross
        self.net_high += high - slot.net_high
        self.net_low += low - slot.net_low
        if d_gross != 0.0:
            for sums, i in slot.group_list:
                sums[i] += d_gross
        old_high, old_low = slot.net_high * beta, slot.net_low * beta
        new_high, new_low = high * beta, low * beta
        if beta >= 0.0:
            self.beta_high += new_high - old_high
            self.beta_low += new_low - old_low
        else:
            self.beta_high += new_low - old_low
            self.beta_low += new_high - old_high
        slot.position = position
        slot.open_buy = buy
        slot.open_sell = sell
        slot.price = price
        slot.unit_value = k
        slot.net_high = high
        slot.net_low = low
        slot.gross = gross
        slot.present = True
        j = slot.j
        if j >= 0:
            var = self.var
            if var is not None:
                # VarBook.apply, written out (it runs for every approved order)
                value = (position + buy - sell) * k
                values = var._value_list
                delta = value - values[j]
                if delta != 0.0:
                    values[j] = value
                    if var._cache:  # VarBook.drift, written out
                        max_abs = var._max_abs
                        if max_abs is None:
                            max_abs = var._bounds()
                        if delta < 0.0:
                            delta = -delta
                        var.drift_pnl += delta * max_abs[j]
                        var.drift_sigma += delta * var._vols[j]
                    pending = var._pending_index
                    pending.append(j)
                    if len(pending) >= BATCH:
                        var._flush()

    def store(self, entry: SymbolExposure) -> None:
        """Replace one symbol's exposure (after an approved order) and the aggregates."""
        self.set(
            self.slot(entry.symbol), entry.position, entry.open_buy, entry.open_sell, entry.price
        )

    def _remove(self, slot: SymbolSlot) -> None:
        self.set(slot, 0.0, 0.0, 0.0, slot.price)
        slot.present = False

    def rebuild(self, account: AccountSnapshot, market: MarketRiskModel | None = None) -> None:
        """Recompute everything from ``account`` (and ``market``, when given, from now on)."""
        if market is not None:
            self.market = market
        self._fx = self._fx_source = {c: float(r) for c, r in account.fx_rates.items()}
        self._reset()
        self._betas = self.market.beta_list if self.market is not None else None
        if self.market is not None:
            self.var = VarBook(self.market, np.zeros(len(self.market.symbols)))
        buys, sells = working_quantities(account)
        for symbol in sorted(set(account.positions) | set(buys) | set(sells)):
            price = account.marks.get(symbol)
            if price is None:
                raise InvalidConfiguration(f"account snapshot has no mark for {symbol!r}")
            slot = self.slot(symbol)
            self.set(
                slot,
                float(account.positions.get(symbol, 0.0)),
                buys.get(symbol, 0.0),
                sells.get(symbol, 0.0),
                float(price),
            )
        self._working_symbols = set(buys) | set(sells)
        self._resum()

    def sync(
        self,
        account: AccountSnapshot,
        history: ReturnHistory | None = None,
        *,
        window: int = 250,
        changed: Iterable[str] | None = None,
    ) -> None:
        """Bring the book to ``account`` touching only the symbols that changed.

        ``history`` (when given) is taken by the current market model if it continues that
        model's stream, else it replaces the model. ``changed``: the symbols whose position
        or mark may have changed since the previous sync; symbols with working orders now
        or at the previous sync are visited too. ``None``: every symbol is compared.
        """
        if self._slots_need_rebuild(account):
            market = self.market
            if history is not None:
                market = self._advanced(history, window) or MarketRiskModel(history, window=window)
            self.rebuild(account, market)
            return
        if history is not None:
            self._take_history(history, window)
        buys: Mapping[str, float]
        sells: Mapping[str, float]
        if account.working_orders:
            buys, sells = working_quantities(account)
        else:  # the common case between orders: nothing works (read-only empty maps)
            buys = sells = _NOTHING
        positions, marks, slots = account.positions, account.marks, self._slots
        if changed is None:
            visit = set(positions)
            visit.update(s for s, slot in slots.items() if slot.present)
        else:
            visit = set(changed)
            if self._working_symbols:
                visit.update(self._working_symbols)
        if buys:
            visit.update(buys)
        if sells:
            visit.update(sells)
        # a fixed order: float sums must not depend on hashing (one symbol needs no sort)
        for symbol in sorted(visit) if len(visit) > 1 else visit:
            if symbol not in positions and symbol not in buys and symbol not in sells:
                slot = slots.get(symbol)
                if slot is not None and slot.present:
                    self._remove(slot)
                continue
            price = marks.get(symbol)
            if price is None:
                raise InvalidConfiguration(f"account snapshot has no mark for {symbol!r}")
            slot = slots.get(symbol) or self.slot(symbol)
            position = float(positions.get(symbol, 0.0))
            buy, sell = buys.get(symbol, 0.0), sells.get(symbol, 0.0)
            if (
                not slot.present
                or slot.position != position
                or slot.price != price
                or slot.open_buy != buy
                or slot.open_sell != sell
            ):
                self.set(slot, position, buy, sell, float(price))
        self._working_symbols = set(buys) | set(sells) if buys or sells else set()
        self._syncs += 1
        if self._syncs % RESYNC == 0:
            self._resum()

    def _slots_need_rebuild(self, account: AccountSnapshot) -> bool:
        if self._working_symbols is None:
            return True
        fx = account.fx_rates
        return fx != self._fx_source and {c: float(r) for c, r in fx.items()} != self._fx_source

    def _advanced(self, history: ReturnHistory, window: int) -> MarketRiskModel | None:
        market = self.market
        if market is None or market.window != window:
            return None
        return market if market.advance(history) is not None else None

    def _take_history(self, history: ReturnHistory, window: int) -> None:
        market = self.market
        slots = None
        if market is not None and market.window == window:
            slots = market.advance(history)
        if slots is None:
            self._new_market(MarketRiskModel(history, window=window))
            return
        if not slots:
            return
        assert self.var is not None  # a model always has its VaR book
        self.var.on_rows(slots)
        betas = market.beta_list
        if betas is not None or self._betas is not None:
            self._betas = betas
            self._resum_beta()

    def _new_market(self, market: MarketRiskModel) -> None:
        self.market = market
        self._betas = market.beta_list
        values = np.zeros(len(market.symbols))
        for symbol, slot in self._slots.items():
            slot.j = market.index.get(symbol, -1)
            if slot.j >= 0 and slot.present:
                values[slot.j] = (slot.position + slot.open_buy - slot.open_sell) * slot.unit_value
        self.var = VarBook(market, values)
        self._resum_beta()

    def _resum(self) -> None:
        """Recompute every aggregate from the slots (exact sums, no accumulated rounding)."""
        slots = list(self._slots.values())
        self.gross, self.net_high, self.net_low = exact_sums(slots)
        for grouping, sums in self._group_sums.items():
            sums[:] = group_sums(slots, grouping, len(sums))
        self._resum_beta()

    def _resum_beta(self) -> None:
        """Recompute the beta-weighted sums (the betas changed: every symbol moves)."""
        self.beta_high, self.beta_low = beta_sums(
            list(self._slots.values()), self._betas, self.default_beta
        )

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
