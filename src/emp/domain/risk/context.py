"""The portfolio-wide state the risk rules read: one object, owned by the RiskManager."""

from __future__ import annotations

from emp.domain.risk.exposure import ExposureBook, SymbolExposure
from emp.domain.risk.rule import RiskCheckInput
from emp.domain.risk.trading_state import TradingState


def _two_sided(high: float, low: float) -> float:
    """``max(|high|, |low|)``."""
    high = high if high >= 0.0 else -high
    low = low if low >= 0.0 else -low
    return high if high >= low else low


class Projection:
    """The intent's symbol before and after the order, and the rest of the book.

    ``rest_*`` are the book's aggregates without the symbol; ``gross_*``, ``net_*`` and
    ``beta_*`` the portfolio measures before and after the order (the order counted as
    working); ``symbol_gross_*`` and ``value_*`` the symbol's own gross and VaR value.
    Computed once per check, in plain arithmetic, and shared by every cap rule; the full
    :class:`SymbolExposure` objects (``before``, ``after``) are built only when asked for.
    """

    __slots__ = (
        "_after",
        "_before",
        "_data",
        "beta",
        "beta_after",
        "beta_before",
        "book",
        "gross_after",
        "gross_before",
        "net_after",
        "net_before",
        "rate",
        "rest_beta_high",
        "rest_beta_low",
        "rest_gross",
        "rest_net_high",
        "rest_net_low",
        "stored",
        "symbol_gross_after",
        "symbol_gross_before",
        "unit_value",
        "value_after",
        "value_before",
    )

    def __init__(self, data: RiskCheckInput, book: ExposureBook | None) -> None:
        self._data = data
        self._before: SymbolExposure | None = None
        self._after: SymbolExposure | None = None
        self.book = book
        intent = data.intent
        if book is None:
            self.rate = self.beta = 1.0
            self.stored: SymbolExposure | None = None
            self.rest_gross = self.rest_net_high = self.rest_net_low = 0.0
            self.rest_beta_high = self.rest_beta_low = 0.0
        else:
            self.rate, self.beta = book.unit(intent.symbol)
            stored = self.stored = book.entry(intent.symbol)
            if stored is None:
                self.rest_gross = book.gross
                self.rest_net_high = book.net_high
                self.rest_net_low = book.net_low
                self.rest_beta_high = book.beta_high
                self.rest_beta_low = book.beta_low
            else:
                self.rest_gross = book.gross - stored.gross
                self.rest_net_high = book.net_high - stored.net_high
                self.rest_net_low = book.net_low - stored.net_low
                self.rest_beta_high = book.beta_high - stored.beta_high
                self.rest_beta_low = book.beta_low - stored.beta_low
        k = self.unit_value = data.reference_price * self.rate
        beta = self.beta
        signed = intent.quantity if intent.side.sign > 0 else -intent.quantity
        high = data.position + data.open_buy_quantity  # in units, before the order
        low = data.position - data.open_sell_quantity
        high2 = high + signed if signed > 0 else high
        low2 = low + signed if signed < 0 else low
        self.value_before = (high + low - data.position) * k
        self.value_after = self.value_before + signed * k
        gross0 = _two_sided(high, low) * k
        gross1 = _two_sided(high2, low2) * k
        self.symbol_gross_before, self.symbol_gross_after = gross0, gross1
        self.gross_before = self.rest_gross + gross0
        self.gross_after = self.rest_gross + gross1
        rest_high, rest_low = self.rest_net_high, self.rest_net_low
        self.net_before = _two_sided(rest_high + high * k, rest_low + low * k)
        self.net_after = _two_sided(rest_high + high2 * k, rest_low + low2 * k)
        bk = beta * k
        rest_high, rest_low = self.rest_beta_high, self.rest_beta_low
        if bk >= 0.0:
            self.beta_before = _two_sided(rest_high + high * bk, rest_low + low * bk)
            self.beta_after = _two_sided(rest_high + high2 * bk, rest_low + low2 * bk)
        else:
            self.beta_before = _two_sided(rest_high + low * bk, rest_low + high * bk)
            self.beta_after = _two_sided(rest_high + low2 * bk, rest_low + high2 * bk)

    @property
    def before(self) -> SymbolExposure:
        """The symbol as the check input describes it, before the order."""
        if self._before is None:
            d = self._data
            self._before = SymbolExposure(
                d.intent.symbol,
                d.position,
                d.open_buy_quantity,
                d.open_sell_quantity,
                d.reference_price,
                self.rate,
                self.beta,
            )
        return self._before

    @property
    def after(self) -> SymbolExposure:
        """The symbol with the order working."""
        if self._after is None:
            d = self._data
            buy, sell = d.open_buy_quantity, d.open_sell_quantity
            if d.intent.side.sign > 0:
                buy += d.intent.quantity
            else:
                sell += d.intent.quantity
            self._after = SymbolExposure(
                d.intent.symbol, d.position, buy, sell, d.reference_price, self.rate, self.beta
            )
        return self._after

    def rest_group(self, grouping: str) -> tuple[str, float]:
        """The symbol's group in ``grouping`` and that group's gross without the symbol."""
        if self.book is None:
            return "", 0.0
        group, total = self.book.group_total(grouping, self._data.intent.symbol)
        return group, total if self.stored is None else total - self.stored.gross


class RiskContext:
    """What a :class:`~emp.domain.risk.manager.RiskManager` knows beyond one intent.

    Rules read it through ``RiskCheckInput.context``; only the manager writes it.

    Attributes:
        book: the exposure book (and, through ``book.var``, the VaR book and market model).
        trading_state: ACTIVE, REDUCING or HALTED.
        position_multiplier, leverage_multiplier: the volatility tier's multipliers.
        drawdown, intraday_drawdown: the brake's current drawdowns (fractions).
        regime: the current regime label ("" before the first one).
    """

    __slots__ = (
        "_last_data",
        "_last_projection",
        "book",
        "drawdown",
        "intraday_drawdown",
        "leverage_multiplier",
        "position_multiplier",
        "regime",
        "trading_state",
    )

    def __init__(self, book: ExposureBook) -> None:
        self.book = book
        self.trading_state = TradingState.ACTIVE
        self.position_multiplier = 1.0
        self.leverage_multiplier = 1.0
        self.drawdown = 0.0
        self.intraday_drawdown = 0.0
        self.regime = ""
        self._last_data: RiskCheckInput | None = None
        self._last_projection: Projection | None = None

    def forget(self) -> None:
        """Drop the cached projection (the book changed)."""
        self._last_data = None
        self._last_projection = None

    def projection(self, data: RiskCheckInput) -> Projection:
        """The projection of ``data``, computed once per check input object."""
        if data is not self._last_data or self._last_projection is None:
            self._last_projection = Projection(data, self.book)
            self._last_data = data
        return self._last_projection


def projection_of(data: RiskCheckInput) -> Projection:
    """The projection of ``data`` through its context, or of the symbol alone without one."""
    context = data.context
    if context is None:
        return Projection(data, None)
    if context._last_data is data and context._last_projection is not None:
        return context._last_projection
    return context.projection(data)
