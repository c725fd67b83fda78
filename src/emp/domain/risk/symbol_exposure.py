"""One symbol's exposure: the immutable figures rules and tests look at, and the mutable
slot the exposure book keeps per symbol."""

from __future__ import annotations


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


class SymbolSlot:
    """The exposure book's mutable record of one symbol.

    The figures (``position`` … ``gross``) are what the book's aggregates hold for the
    symbol; ``present`` says whether the account has the symbol at all. The constants
    are computed once: ``rate`` (USD per unit of its currency), ``groups`` (grouping →
    (that grouping's list of gross sums, the position of the symbol's group in it, the
    group)) and ``j``, its column in the market model
    (-1 when outside it).
    """

    __slots__ = (
        "gross",
        "group_list",
        "groups",
        "j",
        "net_high",
        "net_low",
        "open_buy",
        "open_sell",
        "position",
        "present",
        "price",
        "rate",
        "symbol",
        "unit_value",
    )

    def __init__(
        self,
        symbol: str,
        rate: float,
        groups: dict[str, tuple[list[float], int, str]],
        j: int,
    ) -> None:
        self.symbol = symbol
        self.rate = rate
        self.groups = groups
        #: (sums, position) per grouping, for the update loop.
        self.group_list = tuple((sums, i) for sums, i, _ in groups.values())
        self.j = j
        self.present = False
        self.position = 0.0
        self.open_buy = 0.0
        self.open_sell = 0.0
        self.price = 0.0
        self.unit_value = 0.0
        self.net_high = 0.0
        self.net_low = 0.0
        self.gross = 0.0

    def exposure(self, beta: float) -> SymbolExposure:
        return SymbolExposure(
            self.symbol,
            self.position,
            self.open_buy,
            self.open_sell,
            self.price,
            self.rate,
            beta,
        )
