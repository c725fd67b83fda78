"""What kind of instrument a Yahoo symbol names, from Yahoo's own symbol conventions."""

from __future__ import annotations

from enum import StrEnum


class YahooKind(StrEnum):
    """Yahoo's instrument families, as its symbols spell them."""

    EQUITY = "equity"  # SPY, AAPL, BRK-B
    FX = "fx"  # EURUSD=X
    INDEX = "index"  # ^GSPC; rates and yields too: ^TNX (10-year), ^IRX (13-week)
    FUTURE = "future"  # ES=F, CL=F
    CRYPTO = "crypto"  # BTC-USD


_CRYPTO_QUOTES = ("-USD", "-EUR", "-GBP", "-USDT", "-BTC")


def yahoo_kind(symbol: str) -> YahooKind:
    """The family of ``symbol`` by Yahoo's conventions (``=X``, ``^``, ``=F``, ``-USD``)."""
    text = symbol.strip().upper()
    if text.endswith("=X"):
        return YahooKind.FX
    if text.startswith("^"):
        return YahooKind.INDEX
    if text.endswith("=F"):
        return YahooKind.FUTURE
    if text.endswith(_CRYPTO_QUOTES):
        return YahooKind.CRYPTO
    return YahooKind.EQUITY
