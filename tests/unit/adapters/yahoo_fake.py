"""A fake ``yfinance`` module answering from the recorded responses in tests/fixtures/yahoo.

Only the surface EMP uses: ``Ticker(symbol).history(...)``, ``config.debug``,
``set_tz_cache_location`` and the ``exceptions`` classes (same names as yfinance's).
Install it with :func:`install` (``sys.modules`` patched through pytest's monkeypatch).
"""

from __future__ import annotations

import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "yahoo"
TIME_ZONES = {"EURUSD=X": "Europe/London"}


class YFException(Exception):
    pass


class YFRateLimitError(YFException):
    def __init__(self) -> None:
        super().__init__("Too Many Requests. Rate limited. Try after a while.")


class YFTzMissingError(YFException):
    def __init__(self, ticker: str) -> None:
        super().__init__(f"${ticker}: possibly delisted; no timezone found")


class YFPricesMissingError(YFException):
    def __init__(self, ticker: str, debug_info: str) -> None:
        super().__init__(f"${ticker}: possibly delisted; no price data found {debug_info}")


def recorded(symbol: str, interval: str) -> pd.DataFrame | None:
    path = FIXTURES / f"{quote(symbol, safe='')}_{interval}.csv"
    if not path.exists():
        return None
    frame = pd.read_csv(path, index_col=0)
    index = pd.to_datetime(frame.index, utc=True).tz_convert(
        TIME_ZONES.get(symbol, "America/New_York")
    )
    index.name = frame.index.name
    frame.index = index
    return frame


@dataclass
class FakeState:
    """What the fake was asked, and the failures it should produce first."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    delay_s: float = 0.0
    tz_cache: str | None = None
    sessions: list[Any] = field(default_factory=list)


def install(monkeypatch: pytest.MonkeyPatch, state: FakeState | None = None) -> FakeState:
    state = state or FakeState()
    module = types.ModuleType("yfinance")
    exceptions = types.ModuleType("yfinance.exceptions")
    for cls in (YFException, YFRateLimitError, YFTzMissingError, YFPricesMissingError):
        setattr(exceptions, cls.__name__, cls)
    module.exceptions = exceptions  # type: ignore[attr-defined]
    module.config = types.SimpleNamespace(  # type: ignore[attr-defined]
        debug=types.SimpleNamespace(hide_exceptions=True)
    )

    def set_tz_cache_location(path: str) -> None:
        state.tz_cache = path

    class Ticker:
        def __init__(self, ticker: str, session: Any = None) -> None:
            self.ticker = ticker
            state.sessions.append(session)

        def history(self, **kwargs: Any) -> pd.DataFrame:
            state.calls.append({"symbol": self.ticker, **kwargs})
            if module.config.debug.hide_exceptions:  # type: ignore[attr-defined]
                raise AssertionError("EMP must switch hide_exceptions off")
            if state.delay_s:
                time.sleep(state.delay_s)
            if state.failures:
                raise state.failures.pop(0)
            frame = recorded(self.ticker, kwargs["interval"])
            if frame is None:
                raise YFTzMissingError(self.ticker)
            days = frame.index.tz_localize(None).normalize()
            start, end = pd.Timestamp(kwargs["start"]), pd.Timestamp(kwargs["end"])
            window = frame[(days >= start) & (days < end)]
            if window.empty:
                raise YFPricesMissingError(
                    self.ticker, f"(1d {kwargs['start']} -> {kwargs['end']})"
                )
            return window.copy()

    module.Ticker = Ticker  # type: ignore[attr-defined]
    module.set_tz_cache_location = set_tz_cache_location  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "yfinance", module)
    monkeypatch.setitem(sys.modules, "yfinance.exceptions", exceptions)
    return state
