"""Yahoo Finance market data through yfinance (optional extra; imported only when used).

Market data only, never orders: this package is the one named exception to the FIX-only
guard's HTTP ban (yfinance speaks HTTP internally; nothing here imports an HTTP client).
``YahooBarSource`` fetches raw rows (cached by ``YahooCache``, spaced, retried with
backoff), ``YFinanceFetcher`` is the bounded yfinance call, ``yahoo_kind`` classifies
symbols (equity, FX, index/yield, future, crypto). ``import emp.adapters.yahoo`` does not
import yfinance.
"""

from emp.adapters.yahoo.bar_source import YahooBarSource
from emp.adapters.yahoo.cache import YahooCache
from emp.adapters.yahoo.fetcher import SourceUnreachable, YFinanceFetcher
from emp.adapters.yahoo.symbols import YahooKind, yahoo_kind

__all__ = [
    "SourceUnreachable",
    "YFinanceFetcher",
    "YahooBarSource",
    "YahooCache",
    "YahooKind",
    "yahoo_kind",
]
