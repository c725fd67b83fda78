"""The Yahoo adapter's own logic, on a fake ``yfinance`` module: fast and library-free.

The fake (tests/unit/adapters/yahoo_fake.py) answers from the recorded frames in
tests/fixtures/yahoo. What yfinance really does with Yahoo's answers (conversion, time
zones, adjustment, splits and dividends, errors, rate limits, caching, the CLI) is tested
over the real library in tests/integration/test_yahoo_real_library.py; this module keeps
what needs no library: the arguments yfinance is called with, the offline mode, range
arithmetic, request spacing, bad input and symbol kinds.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emp.adapters.yahoo import (
    YahooBarSource,
    YahooCache,
    YahooKind,
    yahoo_kind,
)
from emp.adapters.yahoo.cache import merge_ranges, subtract_ranges
from emp.ports.bar_source import BarSourceError
from emp.ports.raw_bar_source import RawBarSourcePort
from tests.unit.adapters import yahoo_fake

D = dt.date
JAN2_NS = 1_704_153_600_000_000_000  # 2024-01-02 00:00 UTC


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> yahoo_fake.FakeState:
    return yahoo_fake.install(monkeypatch)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def source(tmp_path: Path, clock: FakeClock, **options) -> YahooBarSource:
    options.setdefault("cache", YahooCache(tmp_path / "cache"))
    return YahooBarSource(sleep=clock.sleep, monotonic=clock.monotonic, **options)


class TestImport:
    def test_importing_the_adapter_does_not_import_yfinance(self) -> None:
        code = "import sys, emp.adapters.yahoo; print('yfinance' in sys.modules)"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.stdout.strip() == "False", result.stderr

    def test_the_source_implements_the_raw_bar_source_port(self, tmp_path, clock) -> None:
        assert isinstance(source(tmp_path, clock), RawBarSourcePort)


class TestTheYFinanceCall:
    def test_yfinance_is_asked_for_the_rows_as_yahoo_has_them(self, fake, tmp_path, clock):
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        [call] = fake.calls
        assert call["auto_adjust"] is False and call["keepna"] is True
        assert call["repair"] is False and call["actions"] is True
        assert (call["start"], call["end"], call["interval"]) == ("2024-01-02", "2024-01-06", "1d")

    def test_hidden_exceptions_are_switched_off_before_every_call(
        self, fake, tmp_path, clock
    ) -> None:
        yahoo = source(tmp_path, clock, cache=None, min_interval_s=0)
        yahoo.fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        sys.modules["yfinance"].config.debug.hide_exceptions = True  # another component
        assert len(yahoo.fetch("SPY", D(2024, 1, 8), D(2024, 1, 13))) == 5

    def test_the_session_given_is_handed_to_yfinance(self, fake, tmp_path, clock) -> None:
        session = object()
        source(tmp_path, clock, session=session).fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        assert fake.sessions == [session]


class TestOffline:
    def test_offline_serves_from_the_cache_and_names_what_is_missing(
        self, fake, tmp_path, clock
    ) -> None:
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))
        offline = source(tmp_path, clock, offline=True)
        assert len(offline.fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))) == 21
        with pytest.raises(BarSourceError, match="lacks SPY 1d bars for 2024-02-01 to 2024-03-01"):
            offline.fetch("SPY", D(2024, 1, 2), D(2024, 3, 1))
        assert len(fake.calls) == 1

    def test_offline_without_a_cache_is_refused(self) -> None:
        with pytest.raises(BarSourceError, match="no cache"):
            YahooBarSource(offline=True, cache=None)

    def test_ranges_merge_and_subtract(self) -> None:
        assert merge_ranges([(D(2024, 1, 5), D(2024, 1, 9)), (D(2024, 1, 1), D(2024, 1, 5))]) == [
            (D(2024, 1, 1), D(2024, 1, 9))
        ]
        covered = [(D(2024, 1, 3), D(2024, 1, 5)), (D(2024, 1, 7), D(2024, 1, 8))]
        assert subtract_ranges((D(2024, 1, 1), D(2024, 1, 10)), covered) == [
            (D(2024, 1, 1), D(2024, 1, 3)),
            (D(2024, 1, 5), D(2024, 1, 7)),
            (D(2024, 1, 8), D(2024, 1, 10)),
        ]


class TestRequestSpacing:
    def test_requests_are_spaced_by_the_minimum_interval(self, fake, tmp_path, clock) -> None:
        yahoo = source(tmp_path, clock, cache=None, min_interval_s=0.5)
        yahoo.fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))
        yahoo.fetch("QQQ", D(2024, 1, 2), D(2024, 1, 5))
        assert clock.sleeps == [0.5]


class TestBadInput:
    def test_an_unknown_interval_is_refused_in_words(self) -> None:
        with pytest.raises(BarSourceError, match="interval expected one of"):
            YahooBarSource(interval="7m")

    def test_an_empty_range_is_refused(self, tmp_path, clock) -> None:
        with pytest.raises(BarSourceError, match="end expected after start"):
            source(tmp_path, clock).fetch("SPY", D(2024, 1, 5), D(2024, 1, 5))

    def test_a_frame_without_a_time_zone_is_refused(self, tmp_path, clock) -> None:
        class NaiveFetcher:
            def history(self, symbol, start, end, interval):
                index = pd.DatetimeIndex(["2024-01-02"], name="Date")
                return pd.DataFrame(
                    {"Open": 1.0, "High": 1.0, "Low": 1.0, "Close": 1.0, "Volume": 1}, index=index
                )

        with pytest.raises(BarSourceError, match="time-zone-aware"):
            source(tmp_path, clock, fetcher=NaiveFetcher()).fetch("X", D(2024, 1, 2), D(2024, 1, 3))


class TestSymbolKinds:
    @pytest.mark.parametrize(
        ("symbol", "kind"),
        [
            ("SPY", YahooKind.EQUITY),
            ("EURUSD=X", YahooKind.FX),
            ("^TNX", YahooKind.INDEX),
            ("ES=F", YahooKind.FUTURE),
            ("BTC-USD", YahooKind.CRYPTO),
            ("BRK-B", YahooKind.EQUITY),
        ],
    )
    def test_yahoo_symbols_say_what_they_are(self, symbol: str, kind: YahooKind) -> None:
        assert yahoo_kind(symbol) is kind
