"""The Yahoo adapter over the real yfinance, with Yahoo's answers recorded and no network.

yfinance runs unchanged: its cookie and crumb requests, its chart request, the parsing of
Yahoo's chart JSON, time zones, events and its own error paths. Only the HTTP session is
replaced, by a curl_cffi session answering from tests/fixtures/yahoo/chart/ (see
tests/fixtures/yahoo/recorded_transport.py). A guard fails any test that tries to open a
socket or a real curl request.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import curl_cffi.requests
import numpy as np
import pandas as pd
import pytest
import yfinance  # imported here: on import it adds a warnings filter that outranks pytest's
from typer.testing import CliRunner

from emp.adapters.yahoo import SourceUnreachable, YahooBarSource, YahooCache, YFinanceFetcher
from emp.domain.bar_validation import ValidationRules, validate_raw_bars
from emp.domain.calendars import nyse_calendar
from emp.ports.bar_source import BarSourceError, SymbolNotFound
from tests.fixtures.yahoo.recorded_transport import (
    NOT_FOUND,
    TOO_MANY_REQUESTS,
    WILL_BE_RIGHT_BACK,
    Answer,
    RecordedSession,
    RecordedYahoo,
    forget_process_state,
    use_recorded_yahoo,
)
from tests.integration.ingest_cli import listing, run_ingest

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")

D = dt.date
DAY_NS = 86_400_000_000_000
runner = CliRunner()


def utc_ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def epoch(text: str, tz: str = "America/New_York") -> str:
    return str(int(pd.Timestamp(text, tz=tz).timestamp()))


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
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every attempt to reach a network fails, and fails the test even if swallowed."""
    attempts: list[str] = []

    def refuse(what: str):
        def refused(*args: object, **kwargs: object) -> None:
            attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise OSError(f"a test tried to reach the network: {what} {args!r}")

        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(curl_cffi.requests.Session, "request", refuse("curl_cffi request"))
    yield attempts
    assert attempts == [], f"network access attempted: {attempts}"


@pytest.fixture
def yahoo(no_network: list[str], tmp_path: Path) -> Iterator[RecordedYahoo]:
    recorded = RecordedYahoo()
    with use_recorded_yahoo(recorded, tmp_path / "yfinance-cache"):
        yield recorded
    assert recorded.unexpected == [], recorded.unexpected


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def source(tmp_path: Path, clock: FakeClock, **options) -> YahooBarSource:
    options.setdefault("cache", YahooCache(tmp_path / "cache"))
    options.setdefault("min_interval_s", 0)
    return YahooBarSource(sleep=clock.sleep, monotonic=clock.monotonic, **options)


def cached(tmp_path: Path, symbol: str, interval: str = "1d") -> list[tuple[dt.date, dt.date]]:
    return YahooCache(tmp_path / "cache").ranges(symbol, interval)


class TestNoNetwork:
    def test_the_guard_refuses_sockets_and_real_curl_requests(self, no_network) -> None:
        with pytest.raises(OSError, match="tried to reach the network"):
            socket.create_connection(("query2.finance.yahoo.com", 443))
        with pytest.raises(OSError, match="tried to reach the network"):
            curl_cffi.requests.Session().get("https://query2.finance.yahoo.com")
        assert len(no_network) == 2
        no_network.clear()

    def test_yfinance_goes_through_its_cookie_crumb_and_chart_requests(
        self, yahoo, tmp_path, clock
    ) -> None:
        source(tmp_path, clock).fetch("ACME", D(2024, 6, 3), D(2024, 6, 11))
        endpoints = [request.endpoint for request in yahoo.requests]
        assert "query1.finance.yahoo.com/v1/test/getcrumb" in endpoints
        [probe] = yahoo.chart_requests("ACME", probes=True)
        [history] = yahoo.chart_requests("ACME")
        assert probe.params["range"] == "1d"  # the time-zone probe comes first
        assert history.params["period1"] == epoch("2024-06-03")  # exchange-local midnight
        assert history.params["period2"] == epoch("2024-06-11")
        assert history.params["interval"] == "1d"
        assert history.params["events"] == "div,splits,capitalGains"
        assert history.params["crumb"] == "xQ3lL0dv8Zk"

    def test_a_session_given_to_the_source_carries_every_request(
        self, yahoo, tmp_path, clock
    ) -> None:
        other = RecordedYahoo()
        raw = source(tmp_path, clock, session=RecordedSession(other)).fetch(
            "ACME", D(2024, 6, 3), D(2024, 6, 11)
        )
        assert len(raw) == 6
        assert len(other.chart_requests("ACME")) == 1
        assert yahoo.requests == []


class TestDailyBars:
    def test_daily_bars_are_stamped_at_midnight_utc_of_their_session_date(
        self, yahoo, tmp_path, clock
    ) -> None:
        raw = source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        assert raw.ts_ns.tolist() == [utc_ns("2024-01-02") + k * DAY_NS for k in range(4)]
        assert raw.days().astype(str).tolist()[0] == "2024-01-02"

    def test_adjusted_prices_follow_a_split_and_a_dividend_computed_by_hand(
        self, yahoo, tmp_path, clock
    ) -> None:
        # ACME: 2:1 split on 06-05 (Yahoo's prices already divided by 2), dividend 1.04 on
        # 06-07 after a close of 104: every bar before the ex-date scales by 1 - 1.04/104.
        raw = source(tmp_path, clock).fetch("ACME", D(2024, 6, 3), D(2024, 6, 11))
        np.testing.assert_allclose(raw.close, [99.0, 100.98, 101.97, 102.96, 103.5, 105.0])
        np.testing.assert_allclose(raw.open, [98.01, 99.0, 100.98, 101.97, 103.5, 103.0])
        np.testing.assert_allclose(raw.high, [99.99, 101.475, 102.96, 103.95, 104.5, 106.0])
        np.testing.assert_allclose(raw.low, [97.02, 98.505, 99.99, 100.98, 102.5, 102.8])
        assert raw.split_ratio is not None and raw.split_ratio.tolist() == [1, 1, 2, 1, 1, 1]
        assert raw.dividend is not None and raw.dividend.tolist() == [0, 0, 0, 0, 1.04, 0]

    def test_raw_prices_are_yahoos_split_adjusted_closes(self, yahoo, tmp_path, clock) -> None:
        raw = source(tmp_path, clock, adjusted=False).fetch("ACME", D(2024, 6, 3), D(2024, 6, 11))
        assert raw.close.tolist() == [100.0, 102.0, 103.0, 104.0, 103.5, 105.0]
        assert raw.open.tolist()[:2] == [99.0, 100.0]

    def test_split_and_dividend_series_pass_validation_both_ways(
        self, yahoo, tmp_path, clock
    ) -> None:
        rules = ValidationRules(calendar=nyse_calendar(2023, 2025))
        for adjusted in (True, False):
            yahoo_source = source(tmp_path / str(adjusted), clock, adjusted=adjusted)
            raw = yahoo_source.fetch("ACME", D(2024, 6, 3), D(2024, 6, 11))
            assert validate_raw_bars(raw, rules).quarantined == ()
        nvda = source(tmp_path, clock).fetch("NVDA", D(2024, 6, 3), D(2024, 6, 22))
        assert nvda.split_ratio is not None and nvda.split_ratio.tolist()[5] == 10.0
        assert validate_raw_bars(nvda, rules).quarantined == ()

    def test_a_dirty_series_keeps_its_nan_row_and_loses_its_repeated_row_in_yfinance(
        self, yahoo, tmp_path, clock
    ) -> None:
        raw = source(tmp_path, clock).fetch("BAD", D(2024, 1, 2), D(2024, 3, 1))
        assert len(raw) == 41  # 42 bars recorded: yfinance drops the repeated timestamp
        nan_row = raw.days().astype(str).tolist().index("2024-01-09")
        assert np.isnan(raw.close[nan_row]) and raw.volume[nan_row] == 0  # keepna=True
        result = validate_raw_bars(raw, ValidationRules(calendar=nyse_calendar(2023, 2025)))
        assert result.counts_by_reason() == {
            "close_outside_range": 1,
            "high_below_low": 1,
            "missing_value": 1,
            "open_outside_range": 1,
            "price_jump": 1,
            "zero_volume": 2,
        }


class TestTimeZones:
    def test_a_sydney_bar_opening_on_the_previous_utc_day_keeps_its_exchange_date(
        self, yahoo, tmp_path, clock
    ) -> None:
        # 10:00 in Sydney (UTC+11) is 23:00 UTC of the day before.
        raw = source(tmp_path, clock).fetch("BHP.AX", D(2024, 1, 2), D(2024, 1, 5))
        assert raw.days().astype(str).tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]
        assert raw.ts_ns.tolist() == [utc_ns("2024-01-02") + k * DAY_NS for k in range(3)]
        [history] = yahoo.chart_requests("BHP.AX")
        assert history.params["period1"] == epoch("2024-01-02", "Australia/Sydney")

    def test_fx_rows_are_dated_in_london_without_volume(self, yahoo, tmp_path, clock) -> None:
        raw = source(tmp_path, clock).fetch("EURUSD=X", D(2024, 1, 1), D(2024, 1, 3))
        assert raw.days().astype(str).tolist() == ["2024-01-01", "2024-01-02"]
        assert raw.volume.tolist() == [0.0, 0.0]

    def test_intraday_bars_keep_their_utc_open_across_the_daylight_saving_change(
        self, yahoo, tmp_path, clock
    ) -> None:
        raw = source(tmp_path, clock, interval="5m").fetch("QQQ", D(2024, 3, 8), D(2024, 3, 12))
        opens = [pd.Timestamp(int(ns), tz="UTC").strftime("%m-%d %H:%M") for ns in raw.ts_ns]
        assert opens == ["03-08 14:30", "03-08 14:35", "03-11 13:30", "03-11 13:35"]
        assert raw.days().astype(str).tolist() == ["2024-03-08"] * 2 + ["2024-03-11"] * 2
        assert raw.close.tolist() == [447.4, 447.8, 440.9, 441.1]  # no Adj Close: as given

    def test_the_exchange_time_zone_is_asked_once_and_kept_in_the_cache_folder(
        self, yahoo, tmp_path, clock
    ) -> None:
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        forget_process_state()  # a new process: only files remain
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 8), D(2024, 1, 13))
        assert len(yahoo.chart_requests("SPY", probes=True)) == 1
        assert len(yahoo.chart_requests("SPY")) == 2
        assert (tmp_path / "cache" / "tz" / "tkr-tz.db").exists()


class TestEmptyAndFailedAnswers:
    def test_unknown_symbols_are_named_in_words_and_not_retried(
        self, yahoo, tmp_path, clock
    ) -> None:
        # yfinance's first two misses in a process try its quote endpoints, later ones not.
        yahoo_source = source(tmp_path, clock)
        for symbol in ("NOPE", "GONE", "NADA"):
            with pytest.raises(SymbolNotFound, match=f"does not know '{symbol}'"):
                yahoo_source.fetch(symbol, D(2024, 1, 2), D(2024, 1, 5))
        assert len(yahoo_source.requests) == 3
        assert clock.sleeps == []
        assert any("quoteSummary" in request.url for request in yahoo.requests)

    def test_a_range_without_bars_is_empty_and_never_asked_again(
        self, yahoo, tmp_path, clock
    ) -> None:
        empty = source(tmp_path, clock).fetch("SPY", D(2024, 1, 13), D(2024, 1, 16))  # MLK
        assert len(empty) == 0
        forget_process_state()
        assert len(source(tmp_path, clock).fetch("SPY", D(2024, 1, 13), D(2024, 1, 16))) == 0
        assert len(yahoo.chart_requests("SPY")) == 1
        assert cached(tmp_path, "SPY") == [(D(2024, 1, 13), D(2024, 1, 16))]

    def test_an_error_yahoo_states_is_raised_and_the_range_is_not_cached(
        self, yahoo, tmp_path, clock
    ) -> None:
        yahoo_source = source(tmp_path, clock)
        yahoo_source.fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))  # time zone now cached
        error = {"code": "Internal Server Error", "description": "Internal error"}
        yahoo.script(*[Answer.json(500, {"chart": {"result": None, "error": error}})] * 2)
        with pytest.raises(BarSourceError, match="answered with an error: Internal error"):
            yahoo_source.fetch("SPY", D(2024, 1, 3), D(2024, 1, 6))
        assert cached(tmp_path, "SPY") == [(D(2024, 1, 2), D(2024, 1, 3))]
        assert len(yahoo_source.fetch("SPY", D(2024, 1, 3), D(2024, 1, 6))) == 3

    def test_a_failed_time_zone_probe_falls_back_to_the_quote_endpoints(
        self, yahoo, tmp_path, clock
    ) -> None:
        yahoo.script(TOO_MANY_REQUESTS, Answer.json(404, NOT_FOUND))
        raw = source(tmp_path, clock).fetch("BHP.AX", D(2024, 1, 2), D(2024, 1, 5))
        assert raw.days().astype(str).tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]
        assert any("quoteSummary/BHP.AX" in request.url for request in yahoo.requests)

    def test_a_symbol_yahoo_stops_knowing_is_an_error_not_an_empty_range(
        self, yahoo, tmp_path, clock
    ) -> None:
        yahoo_source = source(tmp_path, clock)
        yahoo_source.fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))  # time zone now cached
        yahoo.script(Answer.json(404, NOT_FOUND), Answer.json(404, NOT_FOUND))
        with pytest.raises(SymbolNotFound, match="No data found, symbol may be delisted"):
            yahoo_source.fetch("SPY", D(2024, 1, 8), D(2024, 1, 13))
        assert cached(tmp_path, "SPY") == [(D(2024, 1, 2), D(2024, 1, 6))]

    def test_an_empty_frame_yfinance_only_logged_is_an_error(self, yahoo, tmp_path, clock) -> None:
        def another_component_hides_exceptions(symbol: str, params: dict) -> None:
            yfinance.config.debug.hide_exceptions = True

        yahoo_source = source(tmp_path, clock)
        yahoo_source.fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        yahoo.on_chart = another_component_hides_exceptions
        yahoo.script(Answer.json(404, NOT_FOUND), Answer.json(404, NOT_FOUND))
        with pytest.raises(BarSourceError, match="logged the failure.*symbol may be delisted"):
            yahoo_source.fetch("SPY", D(2024, 1, 8), D(2024, 1, 13))
        assert cached(tmp_path, "SPY") == [(D(2024, 1, 2), D(2024, 1, 6))]


class TestRateLimitsAndRetries:
    def test_http_429_is_retried_with_backoff_until_yahoo_answers(
        self, yahoo, tmp_path, clock
    ) -> None:
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))
        yahoo.script(TOO_MANY_REQUESTS, TOO_MANY_REQUESTS)  # yfinance itself asks twice
        raw = source(tmp_path, clock, retries=2, backoff_s=1.0).fetch(
            "SPY", D(2024, 1, 3), D(2024, 1, 6)
        )
        assert len(raw) == 3
        assert clock.sleeps == [1.0]
        assert [r.status for r in yahoo.chart_requests("SPY")][1:] == [429, 429, 200]

    def test_rate_limiting_that_persists_fails_in_words_after_the_retries(
        self, yahoo, tmp_path, clock
    ) -> None:
        yahoo.script(*[TOO_MANY_REQUESTS] * 6)
        yahoo_source = source(tmp_path, clock, retries=2, backoff_s=1.0)
        with pytest.raises(SourceUnreachable, match="rate limiting"):
            yahoo_source.fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        assert clock.sleeps == [1.0, 2.0]
        assert len(yahoo_source.requests) == 3
        assert cached(tmp_path, "SPY") == []

    def test_a_will_be_right_back_page_is_retried_against_yahoo_not_yfinances_memory(
        self, yahoo, tmp_path, clock
    ) -> None:
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))
        yahoo.script(WILL_BE_RIGHT_BACK, WILL_BE_RIGHT_BACK)
        raw = source(tmp_path, clock).fetch("SPY", D(2024, 1, 3), D(2024, 1, 6))
        assert len(raw) == 3
        assert [r.status for r in yahoo.chart_requests("SPY")][1:] == [503, 503, 200]

    def test_a_network_error_that_persists_fails_in_words(self, yahoo, tmp_path, clock) -> None:
        down = curl_cffi.requests.exceptions.ConnectionError("Failed to connect: refused")
        yahoo.script(*[down] * 9)
        with pytest.raises(SourceUnreachable, match="cannot reach Yahoo Finance.*--offline"):
            source(tmp_path, clock, retries=1).fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        assert cached(tmp_path, "SPY") == []

    def test_a_yahoo_that_hangs_fails_at_the_deadline(self, yahoo, tmp_path, clock) -> None:
        yahoo.on_chart = lambda symbol, params: time.sleep(1.0)
        fetcher = YFinanceFetcher(timeout_s=0.2)
        with pytest.raises(SourceUnreachable, match="did not answer within 0.2 s"):
            source(tmp_path, clock, fetcher=fetcher, retries=0).fetch(
                "SPY", D(2024, 1, 2), D(2024, 1, 6)
            )


class TestCaching:
    def test_a_stored_range_is_not_requested_again_even_by_a_new_process(
        self, yahoo, tmp_path, clock
    ) -> None:
        first = source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))
        forget_process_state()
        again = source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))
        assert len(yahoo.chart_requests("SPY")) == 1
        np.testing.assert_array_equal(first.close, again.close)
        np.testing.assert_array_equal(first.ts_ns, again.ts_ns)

    def test_an_incremental_update_requests_only_the_new_sessions(
        self, yahoo, tmp_path, clock
    ) -> None:
        source(tmp_path, clock).fetch("SPY", D(2024, 1, 2), D(2024, 2, 1))
        raw = source(tmp_path, clock).fetch("SPY", D(2024, 1, 10), D(2024, 2, 15))
        windows = [(r.params["period1"], r.params["period2"]) for r in yahoo.chart_requests()]
        assert windows == [
            (epoch("2024-01-02"), epoch("2024-02-01")),
            (epoch("2024-02-01"), epoch("2024-02-15")),
        ]
        assert raw.days().astype(str).tolist()[0] == "2024-01-10"
        assert raw.days().astype(str).tolist()[-1] == "2024-02-14"


# ---------------------------------------------------------------- emp ingest yahoo
def ingest(tmp_path: Path, *args: str) -> dict:
    return run_ingest(tmp_path, "yahoo", args, ["--cache-dir", str(tmp_path / "cache")])


@pytest.fixture
def cli_yahoo(yahoo: RecordedYahoo, monkeypatch: pytest.MonkeyPatch) -> RecordedYahoo:
    monkeypatch.delenv("EMP_DB_PATH", raising=False)
    return yahoo


class TestIngestCommand:
    def test_three_etfs_ingest_clean_through_the_real_library(self, cli_yahoo, tmp_path) -> None:
        report = ingest(
            tmp_path, "SPY", "QQQ", "TLT", "--start", "2024-01-02", "--end", "2024-03-29"
        )
        assert (report["rows_in"], report["good"], report["quarantined"]) == (183, 183, 0)
        assert report["source"] == "yahoo:1d:adjusted"
        assert [(row["symbol"], row["rows"], row["gaps"]) for row in listing(tmp_path)] == [
            ("QQQ", 61, []),
            ("SPY", 61, []),
            ("TLT", 61, []),
        ]

    def test_fx_yields_and_a_dirty_series_are_judged_by_their_own_rules(
        self, cli_yahoo, tmp_path
    ) -> None:
        report = ingest(
            tmp_path, "EURUSD=X", "^TNX", "BAD", "--start", "2024-01-01", "--end", "2024-03-01"
        )
        by_symbol = {item["symbol"]: item for item in report["symbols"]}
        assert by_symbol["EURUSD=X"]["quarantined"] == 0
        assert by_symbol["^TNX"]["quarantined"] == 0
        assert (by_symbol["BAD"]["good"], by_symbol["BAD"]["quarantined"]) == (37, 4)

    def test_a_second_run_is_served_offline_from_the_cache(self, cli_yahoo, tmp_path) -> None:
        first = ingest(tmp_path, "SPY", "--start", "2024-01-02", "--end", "2024-03-29")
        forget_process_state()
        again = ingest(tmp_path, "SPY", "--start", "2024-01-02", "--end", "2024-03-29", "--offline")
        assert again == first
        assert len(cli_yahoo.chart_requests("SPY")) == 1

    def test_an_update_without_start_asks_yahoo_for_the_new_days_only(
        self, cli_yahoo, tmp_path
    ) -> None:
        ingest(tmp_path, "SPY", "--start", "2024-01-02", "--end", "2024-02-01")
        report = ingest(tmp_path, "SPY", "--end", "2024-03-01")
        assert report["good"] == 20  # February 2024 has 20 NYSE sessions
        [_, update] = cli_yahoo.chart_requests("SPY")
        assert (update.params["period1"], update.params["period2"]) == (
            epoch("2024-02-01"),
            epoch("2024-03-01"),
        )

    def test_an_unknown_symbol_fails_the_command_and_writes_nothing(
        self, cli_yahoo, tmp_path
    ) -> None:
        with pytest.raises(SymbolNotFound, match="does not know 'NOPE'"):
            ingest(tmp_path, "SPY", "NOPE", "--start", "2024-01-02", "--end", "2024-02-01")
        assert listing(tmp_path) == []
