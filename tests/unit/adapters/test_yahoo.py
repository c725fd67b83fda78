"""The Yahoo adapter on recorded responses: conversion, caching, retries, offline, errors.

A fake ``yfinance`` module (tests/unit/adapters/yahoo_fake.py) answers from the recorded
frames in tests/fixtures/yahoo; everything above it is the real adapter code.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emp.adapters.yahoo import (
    SourceUnreachable,
    YahooBarSource,
    YahooCache,
    YahooKind,
    YFinanceFetcher,
    yahoo_kind,
)
from emp.adapters.yahoo.cache import merge_ranges, subtract_ranges
from emp.domain.bar_validation import ValidationRules, validate_raw_bars
from emp.domain.calendars import nyse_calendar
from emp.ports.bar_source import BarSourceError, SymbolNotFound
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


class TestConversion:
    def test_daily_bars_are_stamped_at_midnight_utc_of_their_session_date(
        self, fake, tmp_path, clock
    ) -> None:
        raw = source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        assert raw.ts_ns.tolist() == [JAN2_NS + k * 86_400_000_000_000 for k in range(4)]
        assert raw.days().astype(str).tolist()[0] == "2024-01-02"
        [call] = fake.calls
        assert call["auto_adjust"] is False and call["keepna"] is True
        assert call["repair"] is False and call["actions"] is True

    def test_adjusted_prices_scale_ohlc_by_adj_close_over_close(self, fake, tmp_path, clock):
        frame = yahoo_fake.recorded("SPY", "1d")
        assert frame is not None
        first = frame.iloc[0]
        factor = first["Adj Close"] / first["Close"]
        adjusted = source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))
        raw = source(tmp_path, clock, adjusted=False).fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))
        assert adjusted.close[0] == first["Adj Close"]
        assert adjusted.open[0] == pytest.approx(first["Open"] * factor, rel=1e-15)
        assert raw.close[0] == first["Close"] and raw.open[0] == first["Open"]

    def test_dividends_and_splits_come_through_as_corporate_actions(
        self, fake, tmp_path, clock
    ) -> None:
        spy = source(tmp_path, clock).fetch("SPY", D(2024, 3, 14), D(2024, 3, 16))
        assert spy.dividend is not None and spy.dividend.tolist() == [0.0, 1.595]
        nvda = source(tmp_path, clock).fetch("NVDA", D(2024, 6, 7), D(2024, 6, 11))
        assert nvda.split_ratio is not None and nvda.split_ratio.tolist() == [1.0, 10.0]

    def test_intraday_bars_keep_their_utc_time_and_the_local_session_date(
        self, fake, tmp_path, clock
    ) -> None:
        raw = source(tmp_path, clock, interval="5m").fetch("SPY", D(2024, 3, 27), D(2024, 3, 29))
        assert len(raw) == 24
        first = pd.Timestamp(int(raw.ts_ns[0]), tz="UTC")
        assert first.isoformat() == "2024-03-27T13:30:00+00:00"  # 09:30 New York (EDT)
        assert raw.days().astype(str).tolist()[-1] == "2024-03-28"

    def test_fx_rows_use_london_dates_and_have_no_volume(self, fake, tmp_path, clock) -> None:
        raw = source(tmp_path, clock).fetch("EURUSD=X", D(2024, 1, 1), D(2024, 1, 3))
        assert raw.days().astype(str).tolist() == ["2024-01-01", "2024-01-02"]
        assert raw.volume.tolist() == [0.0, 0.0]


class TestValidationOfRecordedData:
    def test_clean_recorded_series_pass_every_rule(self, fake, tmp_path, clock) -> None:
        rules = ValidationRules(calendar=nyse_calendar(2023, 2025))
        for symbol in ("SPY", "QQQ", "TLT"):
            raw = source(tmp_path, clock).fetch(symbol, D(2024, 1, 2), D(2024, 3, 29))
            assert validate_raw_bars(raw, rules).quarantined == (), symbol

    def test_the_dirty_series_is_quarantined_row_by_row(self, fake, tmp_path, clock) -> None:
        raw = source(tmp_path, clock).fetch("BAD", D(2024, 1, 2), D(2024, 3, 1))
        result = validate_raw_bars(raw, ValidationRules(calendar=nyse_calendar(2023, 2025)))
        assert result.counts_by_reason() == {
            "close_outside_range": 1,
            "duplicate": 1,
            "high_below_low": 1,
            "missing_value": 1,
            "open_outside_range": 1,
            "price_jump": 1,
            "zero_volume": 2,
        }
        assert result.good_rows + len(result.quarantined) == len(raw) == 42


class TestCaching:
    def test_a_fetched_range_is_never_fetched_again(self, fake, tmp_path, clock) -> None:
        first = source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))
        again = source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))
        assert len(fake.calls) == 1
        np.testing.assert_array_equal(first.close, again.close)

    def test_an_incremental_update_fetches_only_the_new_days(self, fake, tmp_path, clock) -> None:
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))
        raw = source(tmp_path, clock).fetch("SPY", D(2024, 1, 10), D(2024, 2, 15))
        assert [(c["start"], c["end"]) for c in fake.calls] == [
            ("2024-01-02", "2024-02-01"),
            ("2024-02-01", "2024-02-15"),
        ]
        assert raw.days().astype(str).tolist()[0] == "2024-01-10"
        assert raw.days().astype(str).tolist()[-1] == "2024-02-14"

    def test_a_range_without_prices_is_remembered_as_fetched(self, fake, tmp_path, clock) -> None:
        empty = source(tmp_path, clock).fetch("SPY", D(2024, 1, 13), D(2024, 1, 16))  # weekend+MLK
        assert len(empty) == 0
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 13), D(2024, 1, 16))
        assert len(fake.calls) == 1

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


class TestRateLimitsAndRetries:
    def test_requests_are_spaced_by_the_minimum_interval(self, fake, tmp_path, clock) -> None:
        yahoo = source(tmp_path, clock, cache=None, min_interval_s=0.5)
        yahoo.fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))
        yahoo.fetch("QQQ", D(2024, 1, 2), D(2024, 1, 5))
        assert clock.sleeps == [0.5]

    def test_a_rate_limit_is_retried_with_exponential_backoff(self, fake, tmp_path, clock) -> None:
        fake.failures.extend([yahoo_fake.YFRateLimitError(), yahoo_fake.YFRateLimitError()])
        yahoo = source(tmp_path, clock, retries=2, backoff_s=1.0, min_interval_s=0)
        assert len(yahoo.fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))) == 3
        assert clock.sleeps == [1.0, 2.0]
        assert len(fake.calls) == 3

    def test_a_network_error_that_persists_fails_in_words_after_the_retries(
        self, fake, tmp_path, clock
    ) -> None:
        fake.failures.extend([ConnectionError("Could not resolve host")] * 3)
        yahoo = source(tmp_path, clock, retries=2, min_interval_s=0)
        with pytest.raises(SourceUnreachable, match="cannot reach Yahoo Finance.*--offline"):
            yahoo.fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))
        assert len(fake.calls) == 3
        assert YahooCache(tmp_path / "cache").ranges("SPY", "1d") == []

    def test_an_unknown_symbol_is_not_retried(self, fake, tmp_path, clock) -> None:
        with pytest.raises(SymbolNotFound, match="does not know 'NOPE'"):
            source(tmp_path, clock).fetch("NOPE", D(2024, 1, 2), D(2024, 1, 5))
        assert len(fake.calls) == 1

    def test_a_source_that_hangs_fails_at_the_deadline(self, fake, tmp_path, clock) -> None:
        fake.delay_s = 2.0
        fetcher = YFinanceFetcher(timeout_s=0.2)
        yahoo = source(tmp_path, clock, fetcher=fetcher, retries=0)
        with pytest.raises(SourceUnreachable, match="did not answer within 0.2 s"):
            yahoo.fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))


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
