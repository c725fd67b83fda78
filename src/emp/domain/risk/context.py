"""The portfolio-wide state the risk rules read: one object, owned by the RiskManager."""

from __future__ import annotations

from emp.domain.orders import OrderSide
from emp.domain.risk.exposure import ExposureBook
from emp.domain.risk.rule import RiskCheckInput
from emp.domain.risk.symbol_exposure import SymbolExposure, SymbolSlot
from emp.domain.risk.trading_state import TradingState

_BUY = OrderSide.BUY


class Projection:
    """The intent's symbol before and after the order, and the rest of the book.

    ``rest_*`` are the book's aggregates without the symbol; ``gross_*``, ``net_*`` and
    ``beta_*`` the portfolio measures before and after the order (the order counted as
    working); ``symbol_gross_*`` and ``value_*`` the symbol's own gross and VaR value;
    ``worst`` the worst-case position with the order, ``j`` the symbol's column in the
    market model (-1: none). Computed once per check, in plain arithmetic from the book's
    slot for the symbol, and shared by every cap rule. The figures *after* the order are
    computed up front (every cap compares them with its limit); the figures *before* it
    only when a rule asks (a cap reads them only when the order would exceed the limit,
    to let orders that do not grow the measure pass), and so are the full
    :class:`SymbolExposure` objects (``before``, ``after``).
    """

    __slots__ = (
        "_after",
        "_before",
        "_data",
        "_high",
        "_low",
        "beta",
        "beta_after",
        "book",
        "buy",
        "gross_after",
        "high_after",
        "j",
        "low_after",
        "net_after",
        "rate",
        "rest_beta_high",
        "rest_beta_low",
        "rest_gross",
        "rest_net_high",
        "rest_net_low",
        "slot",
        "symbol_gross_after",
        "unit_value",
        "value_after",
        "worst",
    )

    def __init__(self, data: RiskCheckInput, book: ExposureBook | None) -> None:
        self._data = data
        self._before: SymbolExposure | None = None
        self._after: SymbolExposure | None = None
        self.book = book
        intent = data.intent
        position = data.position
        high = self._high = position + data.open_buy_quantity  # in units, before the order
        low = self._low = position - data.open_sell_quantity
        quantity = intent.quantity
        if intent.side is _BUY:
            self.buy = True
            high, low = high + quantity, low  # after the order, from here on
            self.worst = high
        else:
            self.buy = False
            low = low - quantity
            self.worst = low
        if book is None:
            self.rate = beta = 1.0
            self.slot: SymbolSlot | None = None
            self.j = -1
            self.rest_gross = rest_high = rest_low = 0.0
            self.rest_net_high = self.rest_net_low = 0.0
            rest_beta_high = rest_beta_low = 0.0
            k = self.unit_value = data.reference_price
        else:
            slot = self.slot = book._slots.get(intent.symbol) or book.slot(intent.symbol)
            self.rate = slot.rate
            j = self.j = slot.j
            betas = book._betas
            beta = book.default_beta if betas is None or j < 0 else betas[j]
            self.rest_gross = book.gross - slot.gross
            rest_high = self.rest_net_high = book.net_high - slot.net_high
            rest_low = self.rest_net_low = book.net_low - slot.net_low
            if beta >= 0.0:
                rest_beta_high = book.beta_high - slot.net_high * beta
                rest_beta_low = book.beta_low - slot.net_low * beta
            else:
                rest_beta_high = book.beta_high - slot.net_low * beta
                rest_beta_low = book.beta_low - slot.net_high * beta
            k = self.unit_value = data.reference_price * slot.rate
        self.beta = beta
        self.rest_beta_high, self.rest_beta_low = rest_beta_high, rest_beta_low
        x, y = self.high_after, self.low_after = high * k, low * k
        self.value_after = x + y - position * k
        # max(|x|, |y|) written out: a call per measure would cost more than the measure
        x, y = (x if x >= 0.0 else -x), (y if y >= 0.0 else -y)
        gross = self.symbol_gross_after = x if x >= y else y
        self.gross_after = self.rest_gross + gross
        x, y = rest_high + high * k, rest_low + low * k
        x, y = (x if x >= 0.0 else -x), (y if y >= 0.0 else -y)
        self.net_after = x if x >= y else y
        bk = beta * k
        if bk < 0.0:  # a negative beta swaps the sides
            high, low = low, high
        x, y = rest_beta_high + high * bk, rest_beta_low + low * bk
        x, y = (x if x >= 0.0 else -x), (y if y >= 0.0 else -y)
        self.beta_after = x if x >= y else y

    # ------------------------------------------------ before the order (lazily)
    @property
    def symbol_gross_before(self) -> float:
        k = self.unit_value
        x, y = abs(self._high * k), abs(self._low * k)
        return x if x >= y else y

    @property
    def gross_before(self) -> float:
        return self.rest_gross + self.symbol_gross_before

    @property
    def net_before(self) -> float:
        k = self.unit_value
        return max(abs(self.rest_net_high + self._high * k), abs(self.rest_net_low + self._low * k))

    @property
    def beta_before(self) -> float:
        bk = self.beta * self.unit_value
        high, low = (self._high, self._low) if bk >= 0.0 else (self._low, self._high)
        return max(abs(self.rest_beta_high + high * bk), abs(self.rest_beta_low + low * bk))

    @property
    def value_before(self) -> float:
        return (self._high + self._low - self._data.position) * self.unit_value

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
            if self.buy:
                buy += d.intent.quantity
            else:
                sell += d.intent.quantity
            self._after = SymbolExposure(
                d.intent.symbol, d.position, buy, sell, d.reference_price, self.rate, self.beta
            )
        return self._after

    def commit(self, quantity: float | None = None) -> None:
        """Book the order (``quantity`` units, default the intent's) as working."""
        book, slot = self.book, self.slot
        if book is None or slot is None:
            return
        d = self._data
        buy, sell = d.open_buy_quantity, d.open_sell_quantity
        if quantity is None:  # the figures after the order are known: no recomputation
            if self.buy:
                buy += d.intent.quantity
            else:
                sell += d.intent.quantity
            book.put(
                slot,
                d.position,
                buy,
                sell,
                d.reference_price,
                self.unit_value,
                self.high_after,
                self.low_after,
                self.symbol_gross_after,
                self.beta,
            )
            return
        if self.buy:
            buy += quantity
        else:
            sell += quantity
        book.set(slot, d.position, buy, sell, d.reference_price, self.unit_value)

    def rest_group(self, grouping: str) -> tuple[str, float]:
        """The symbol's group in ``grouping`` and that group's gross without the symbol."""
        slot = self.slot
        if slot is None:
            return "", 0.0
        sums, i, group = slot.groups[grouping]
        return group, sums[i] - slot.gross


class RiskContext:
    """What a :class:`~emp.domain.risk.manager.RiskManager` knows beyond one intent.

    Rules read it through ``RiskCheckInput.context``; only the manager writes it.

    Attributes:
        book: the exposure book (and, through ``book.var``, the VaR book and market model).
        projected_book: the book projections are computed against: ``book``, or ``None``
            while a check runs with the book waiting for a reader (no rule reads it).
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
        "projected_book",
        "regime",
        "trading_state",
    )

    def __init__(self, book: ExposureBook) -> None:
        self.book = book
        self.projected_book: ExposureBook | None = book
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
            self._last_projection = Projection(data, self.projected_book)
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
