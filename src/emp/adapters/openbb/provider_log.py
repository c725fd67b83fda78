"""What an OpenBB provider said before OpenBB answered "no results".

OpenBB turns every empty provider answer into one ``EmptyDataError`` ("No results found"):
an unknown symbol, a network failure and a range without sessions all look alike. The
yfinance provider calls ``yfinance.download``, which catches each symbol's failure itself
and only logs it (on the ``yfinance`` logger) before returning an empty frame. So while
the adapter calls OpenBB, :class:`ProviderLog` keeps the error records of the provider's
logger (by name: this module imports no provider library; a logger silenced above
ERROR is opened to ERROR for the call), and :func:`read_empty_answer`
tells the cases apart from the words yfinance 1.7 logs:

- ``Failed to get ticker 'SPY' reason: ...``, ``YFRateLimitError(...)``, curl's
  ``DNSError``/``ConnectionError``/``Timeout``: the request failed (network, rate limit,
  a server error page) → :data:`UNREACHABLE`, retried;
- ``possibly delisted; no timezone found``, ``No data found, symbol may be delisted``,
  ``Quote not found``: Yahoo does not know the symbol → :data:`UNKNOWN_SYMBOL`;
- ``possibly delisted; no price data found (1d 2024-01-02 -> ...)``: no bars at all from
  the start date on → :data:`NO_PRICES`. yfinance 1.7 logs exactly this also when the
  chart request itself failed (network, a "Will be right back" page): inside
  ``download`` it swallows that failure without a word, so the case is ambiguous;
- any other logged error → :data:`FAILED`;
- nothing logged: the provider got data and OpenBB's date filter left no rows (a range
  without sessions) → :data:`NO_ROWS_IN_RANGE`.
"""

from __future__ import annotations

import logging
from types import TracebackType

UNREACHABLE = "unreachable"
UNKNOWN_SYMBOL = "unknown symbol"
NO_PRICES = "no prices"
FAILED = "failed"
NO_ROWS_IN_RANGE = "no rows in range"

_UNREACHABLE_WORDS = (
    "failed to get ticker",
    "ratelimit",
    "rate limited",
    "too many requests",
    "dnserror",
    "connectionerror",
    "timeout",
    "could not resolve",
    "failed to connect",
    "failed to perform",
)
_UNKNOWN_WORDS = ("no timezone found", "symbol may be delisted", "quote not found")
_NO_PRICES_WORDS = ("no price data found",)
_HEADER = "failed download"  # yfinance's "1 Failed download:" line says nothing itself


class ProviderLog(logging.Handler):
    """Collects the error records of the provider's logger while in a ``with`` block."""

    def __init__(self, provider: str) -> None:
        super().__init__(level=logging.ERROR)
        self._logger = logging.getLogger(provider)
        self._level = logging.NOTSET
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        if text and _HEADER not in text.lower():
            self.messages.append(text)

    def __enter__(self) -> ProviderLog:
        self.messages.clear()
        self._level = self._logger.level
        if self._logger.getEffectiveLevel() > logging.ERROR:  # silenced by the user
            self._logger.setLevel(logging.ERROR)
        self._logger.addHandler(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


def read_empty_answer(messages: list[str]) -> tuple[str, str]:
    """``(case, words)``: which case an empty answer is, and the provider's words."""
    if not messages:
        return NO_ROWS_IN_RANGE, ""
    words = "; ".join(dict.fromkeys(messages))
    lowered = words.lower()
    for case, markers in (
        (UNREACHABLE, _UNREACHABLE_WORDS),
        (UNKNOWN_SYMBOL, _UNKNOWN_WORDS),
        (NO_PRICES, _NO_PRICES_WORDS),
    ):
        if any(marker in lowered for marker in markers):
            return case, words
    return FAILED, words
