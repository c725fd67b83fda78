"""The OpenBB adapter over the real OpenBB Platform and its yfinance provider, offline.

``openbb-core`` + ``openbb-equity`` + ``openbb-yfinance`` (the ``openbb`` extra) run
unchanged: OpenBB's command runner, query validation, the yfinance provider's fetchers
(which call ``yfinance.download``) and yfinance itself. Only yfinance's HTTP session is
replaced, by the recorded curl_cffi session of tests/fixtures/yahoo/recorded_transport.py
answering Yahoo's chart API from tests/fixtures/yahoo/chart/. A guard fails any test that
tries to open a socket or a real curl request. OpenBB is imported once per session (its
first import in a fresh environment builds its static package, ~8 s).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import curl_cffi.requests
import numpy as np
import pandas as pd
import pytest
import yfinance  # imported here: on import it adds a warnings filter that outranks pytest's
from typer.testing import CliRunner

from emp.adapters.openbb import OpenBBBarSource
from emp.adapters.yahoo import YahooBarSource, YahooCache
from emp.app.data_commands import ingest_app
from emp.domain.bar_validation import ValidationRules, validate_raw_bars
from emp.domain.calendars import nyse_calendar
from emp.ports.bar_source import BarSourceError, SymbolNotFound
from tests.fixtures.yahoo.chart_json import chart_answer
from tests.fixtures.yahoo.network_guard import refuse_network
from tests.fixtures.yahoo.recorded_transport import (
    TOO_MANY_REQUESTS,
    WILL_BE_RIGHT_BACK,
    Answer,
    RecordedYahoo,
    forget_process_state,
    use_recorded_yahoo,
)
from tests.integration.ingest_cli import listing, run_ingest

pytestmark = [
    pytest.mark.filterwarnings("ignore:The inplace keyword:Warning"),
    # openbb-core 2.0.1 subclasses aiohttp's ClientSession at import; nothing EMP can change
    pytest.mark.filterwarnings("ignore:Inheritance class ClientSession:DeprecationWarning"),
]

D = dt.date
DAY_NS = 86_400_000_000_000
NY = ZoneInfo("America/New_York")
runner = CliRunner()


def utc_ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def epoch(text: str, tz: str = "America/New_York") -> str:
    return str(int(pd.Timestamp(text, tz=tz).timestamp()))


@pytest.fixture(scope="session")
def obb() -> Any:
    """The real ``obb`` application, imported once (the first import builds it), offline."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        attempts = refuse_network(monkeypatch)
        try:
            from openbb import obb as app
        except ImportError as error:
            pytest.fail(
                f"these tests need the openbb extra: pip install -e '.[openbb]' ({error})",
                pytrace=False,
            )
    assert attempts == [], f"importing openbb tried to reach the network: {attempts}"
    return app


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every attempt to reach a network fails, and fails the test even if swallowed."""
    attempts = refuse_network(monkeypatch)
    yield attempts
    assert attempts == [], f"network access attempted: {attempts}"


@pytest.fixture
def yahoo(obb: Any, no_network: list[str], tmp_path: Path) -> Iterator[RecordedYahoo]:
    recorded = RecordedYahoo()
    with use_recorded_yahoo(recorded, tmp_path / "yfinance-cache"):
        yield recorded
    assert recorded.unexpected == [], recorded.unexpected


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source(**options: Any) -> OpenBBBarSource:
    options.setdefault("sleep", Sleeps())
    return OpenBBBarSource(**options)


def yahoo_source(tmp_path: Path, **options: Any) -> YahooBarSource:
    return YahooBarSource(
        cache=YahooCache(tmp_path / "yahoo-cache"), min_interval_s=0, sleep=Sleeps(), **options
    )


def no_bars(symbol: str, yahoo: RecordedYahoo) -> Answer:
    """Yahoo's chart answer for a symbol it knows but has no bars of."""
    document = yahoo.recording(symbol, "1d")
    assert document is not None
    result = document["chart"]["result"][0]
    result = {"meta": result["meta"], "indicators": {"quote": [{}], "adjclose": [{}]}}
    return Answer.json(200, {"chart": {"result": [result], "error": None}})


class TestNoNetwork:
    def test_openbb_reaches_yahoo_only_through_the_recorded_session(self, yahoo) -> None:
        raw = source().fetch("ACME", D(2024, 6, 3), D(2024, 6, 11))
        assert len(raw) == 6
        endpoints = [request.endpoint for request in yahoo.requests]
        assert "query1.finance.yahoo.com/v1/test/getcrumb" in endpoints
        [history] = yahoo.chart_requests("ACME")
        assert history.params["period1"] == epoch("2024-06-03")  # exchange-local midnight
        assert history.params["interval"] == "1d"
        assert history.params["crumb"] == "xQ3lL0dv8Zk"
        # (the guard asserts at teardown that nothing tried to open a socket)

    def test_without_network_the_command_fails_in_words_instead_of_hanging(
        self, obb, no_network, tmp_path
    ) -> None:
        forget_process_state()  # yfinance as in a new process, with its real session
        yfinance.set_tz_cache_location(str(tmp_path / "yfinance-cache"))
        began = time.monotonic()
        try:
            result = runner.invoke(
                ingest_app,
                ["openbb", "SPY", "--start", "2024-01-02", "--end", "2024-01-06", "--retries",
                 "0", "--db", str(tmp_path / "emp.duckdb"), "--json", "--no-progress"],
            )  # fmt: skip
        finally:
            forget_process_state()
        assert time.monotonic() - began < 30
        assert result.exit_code != 0
        assert isinstance(result.exception, BarSourceError)
        assert "cannot reach the provider yfinance" in str(result.exception)
        assert any(attempt.startswith("curl_cffi request") for attempt in no_network)
        no_network.clear()  # refused, as intended


class TestDailyBars:
    def test_adjusted_prices_follow_a_split_and_a_dividend_computed_by_hand(self, yahoo) -> None:
        # ACME: 2:1 split on 06-05 (Yahoo's prices already divided by 2), dividend 1.04 on
        # 06-07 after a close of 104: every bar before the ex-date scales by 1 - 1.04/104.
        raw = source().fetch("ACME", D(2024, 6, 3), D(2024, 6, 11))
        np.testing.assert_allclose(raw.close, [99.0, 100.98, 101.97, 102.96, 103.5, 105.0])
        np.testing.assert_allclose(raw.open, [98.01, 99.0, 100.98, 101.97, 103.5, 103.0])
        np.testing.assert_allclose(raw.low, [97.02, 98.505, 99.99, 100.98, 102.5, 102.8])
        assert raw.split_ratio is not None and raw.split_ratio.tolist() == [1, 1, 2, 1, 1, 1]
        assert raw.dividend is not None and raw.dividend.tolist() == [0, 0, 0, 0, 1.04, 0]

    def test_raw_prices_are_yahoos_split_adjusted_prices(self, yahoo) -> None:
        raw = source(adjusted=False).fetch("ACME", D(2024, 6, 3), D(2024, 6, 11))
        assert raw.close.tolist() == [100.0, 102.0, 103.0, 104.0, 103.5, 105.0]
        assert raw.open.tolist()[:2] == [99.0, 100.0]
        assert raw.split_ratio is not None and raw.split_ratio.tolist()[2] == 2.0

    def test_bars_are_stamped_at_midnight_utc_and_the_end_date_is_excluded(self, yahoo) -> None:
        raw = source().fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))  # OpenBB's end: inclusive
        assert raw.days().astype(str).tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]
        assert raw.ts_ns.tolist() == [utc_ns("2024-01-02") + k * DAY_NS for k in range(3)]
        assert raw.volume.min() > 0

    @pytest.mark.parametrize("adjusted", [True, False], ids=["adjusted", "raw"])
    def test_openbb_and_the_yahoo_adapter_read_the_same_answers_alike(
        self, yahoo, tmp_path, adjusted
    ) -> None:
        windows = {"SPY": (D(2024, 1, 2), D(2024, 3, 29)), "NVDA": (D(2024, 6, 3), D(2024, 6, 22))}
        for symbol, window in windows.items():
            mine = source(adjusted=adjusted).fetch(symbol, *window)
            theirs = yahoo_source(tmp_path / symbol, adjusted=adjusted).fetch(symbol, *window)
            assert len(mine) == len(theirs) > 10
            np.testing.assert_array_equal(mine.ts_ns, theirs.ts_ns)
            for column in ("open", "high", "low", "close", "volume", "split_ratio", "dividend"):
                np.testing.assert_allclose(
                    getattr(mine, column), getattr(theirs, column), rtol=1e-12, err_msg=column
                )

    def test_split_and_dividend_series_pass_validation_both_ways(self, yahoo) -> None:
        rules = ValidationRules(calendar=nyse_calendar(2023, 2025))
        for adjusted in (True, False):
            for symbol, end in (("ACME", D(2024, 6, 11)), ("NVDA", D(2024, 6, 22))):
                raw = source(adjusted=adjusted).fetch(symbol, D(2024, 6, 3), end)
                assert validate_raw_bars(raw, rules).quarantined == (), (symbol, adjusted)

    def test_the_etf_command_of_the_provider_gives_the_same_bars(self, yahoo) -> None:
        etf = source(asset="etf").fetch("SPY", D(2024, 3, 13), D(2024, 3, 16))
        equity = source().fetch("SPY", D(2024, 3, 13), D(2024, 3, 16))
        np.testing.assert_array_equal(etf.close, equity.close)
        assert etf.dividend is not None and etf.dividend.tolist() == [0.0, 0.0, 1.595]


class TestOtherAssets:
    def test_fx_comes_from_the_providers_currency_router_without_volume(
        self, yahoo, tmp_path
    ) -> None:
        raw = source(asset="currency").fetch("EURUSD=X", D(2024, 1, 1), D(2024, 1, 3))
        assert raw.days().astype(str).tolist() == ["2024-01-01", "2024-01-02"]
        assert raw.volume.tolist() == [0.0, 0.0]
        theirs = yahoo_source(tmp_path).fetch("EURUSD=X", D(2024, 1, 1), D(2024, 1, 3))
        np.testing.assert_allclose(raw.close, theirs.close, rtol=1e-12)

    def test_openbb_spells_an_fx_pair_without_the_yahoo_suffix_for_us(self, yahoo) -> None:
        raw = source(asset="currency").fetch("EURUSD", D(2024, 1, 1), D(2024, 1, 3))
        assert raw.symbol == "EURUSD" and len(raw) == 2
        assert len(yahoo.chart_requests("EURUSD=X")) == 1

    def test_a_yield_index_comes_from_the_providers_index_router(self, yahoo) -> None:
        raw = source(asset="index").fetch("^TNX", D(2024, 1, 2), D(2024, 1, 5))
        assert raw.days().astype(str).tolist() == ["2024-01-02", "2024-01-03", "2024-01-04"]
        assert raw.volume.tolist() == [0.0, 0.0, 0.0]
        assert raw.close.min() > 3.0 and raw.close.max() < 6.0  # percent

    def test_an_asset_without_an_installed_command_is_refused_in_words(self, yahoo) -> None:
        with pytest.raises(BarSourceError, match=r"no historical economy command.*fred_series"):
            source(asset="economy", provider="fred").fetch("DGS10", D(2024, 1, 2), D(2024, 1, 5))


def recent_5m_recording(folder: Path) -> dt.date:
    """QQQ 5-minute bars on a recent weekday (Yahoo, and so OpenBB's yfinance provider,
    serves intraday bars of the last 60 days only: the provider asks from today - 58 days)."""
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    stamps = [dt.datetime.combine(day, dt.time(9, 30), NY) + dt.timedelta(minutes=5 * k)
              for k in range(3)]  # fmt: skip
    columns = {"open": [440.0, 441.0, 442.0], "high": [441.5, 442.5, 443.5],
               "low": [439.5, 440.5, 441.5], "close": [441.0, 442.0, 443.0],
               "volume": [900_000, 600_000, 500_000]}  # fmt: skip
    folder.mkdir()
    (folder / "QQQ_5m.json").write_text(json.dumps(chart_answer("QQQ", "5m", stamps, columns)))
    return day


class TestIntraday:
    @pytest.fixture
    def recent(self, obb, no_network, tmp_path) -> Iterator[tuple[RecordedYahoo, dt.date]]:
        day = recent_5m_recording(tmp_path / "chart")
        recorded = RecordedYahoo(directory=tmp_path / "chart")
        with use_recorded_yahoo(recorded, tmp_path / "yfinance-cache"):
            yield recorded, day
        assert recorded.unexpected == [], recorded.unexpected

    def test_the_providers_naive_exchange_times_become_utc_in_the_zone_given(self, recent) -> None:
        yahoo, day = recent
        raw = source(interval="5m", timezone="America/New_York").fetch(
            "QQQ", day, day + dt.timedelta(days=1)
        )
        recorded = yahoo.recording("QQQ", "5m")
        assert recorded is not None
        expected = [ts * 10**9 for ts in recorded["chart"]["result"][0]["timestamp"]]
        assert raw.ts_ns.tolist() == expected  # 09:30 New York, in UTC, whatever the season
        assert raw.days().astype(str).tolist() == [day.isoformat()] * 3
        assert raw.close.tolist() == [441.0, 442.0, 443.0]

    def test_the_command_takes_the_zone_from_its_timezone_option(
        self, recent, tmp_path, monkeypatch
    ) -> None:
        monkeypatch.delenv("EMP_DB_PATH", raising=False)
        _, day = recent
        report = ingest(
            tmp_path, "QQQ", "--interval", "5m", "--timezone", "America/New_York",
            "--start", day.isoformat(), "--end", (day + dt.timedelta(days=1)).isoformat(),
        )  # fmt: skip
        assert (report["good"], report["quarantined"]) == (3, 0)

    def test_naive_intraday_times_without_a_zone_are_refused_not_shifted(self, recent) -> None:
        _, day = recent
        with pytest.raises(BarSourceError, match="exchange's time zone.*expected timezone="):
            source(interval="5m").fetch("QQQ", day, day + dt.timedelta(days=1))


class TestEmptyAndFailedAnswers:
    def test_an_unknown_symbol_is_named_in_words_and_not_retried(self, yahoo) -> None:
        sleeps = Sleeps()
        with pytest.raises(SymbolNotFound, match="yfinance does not know 'NOPE'.*no timezone"):
            source(sleep=sleeps).fetch("NOPE", D(2024, 1, 2), D(2024, 1, 5))
        assert sleeps == []

    def test_an_unknown_symbol_is_told_apart_even_when_yfinance_was_silenced(self, yahoo) -> None:
        logger = logging.getLogger("yfinance")
        logger.setLevel(logging.CRITICAL)  # what users do to quiet yfinance
        try:
            with pytest.raises(SymbolNotFound, match="does not know 'NOPE'"):
                source().fetch("NOPE", D(2024, 1, 2), D(2024, 1, 5))
            assert logger.level == logging.CRITICAL
        finally:
            logger.setLevel(logging.NOTSET)

    def test_a_range_without_sessions_is_empty_not_an_error(self, yahoo) -> None:
        raw = source().fetch("SPY", D(2024, 1, 13), D(2024, 1, 16))  # MLK weekend
        assert len(raw) == 0

    def test_an_answer_without_any_bars_is_retried_then_an_error_not_an_empty_range(
        self, yahoo
    ) -> None:
        source().fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))  # time zone now cached
        yahoo.script(*[no_bars("SPY", yahoo)] * 12)
        sleeps = Sleeps()
        with pytest.raises(BarSourceError, match="no prices of 'SPY' from 2024-01-08 on") as e:
            source(sleep=sleeps).fetch("SPY", D(2024, 1, 8), D(2024, 1, 13))
        assert not isinstance(e.value, SymbolNotFound)
        assert sleeps == [1.0, 2.0]  # yfinance says the same when the request failed

    def test_rate_limiting_is_retried_with_backoff_until_yahoo_answers(self, yahoo) -> None:
        source().fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))  # time zone now cached
        yahoo.script(TOO_MANY_REQUESTS, TOO_MANY_REQUESTS)  # yfinance itself asks twice
        sleeps = Sleeps()
        raw = source(sleep=sleeps).fetch("SPY", D(2024, 1, 3), D(2024, 1, 6))
        assert len(raw) == 3
        assert sleeps == [1.0]
        assert [r.status for r in yahoo.chart_requests("SPY")][1:] == [429, 429, 200]

    def test_rate_limiting_that_persists_fails_in_words_after_the_retries(self, yahoo) -> None:
        yahoo.script(*[TOO_MANY_REQUESTS] * 12)
        sleeps = Sleeps()
        with pytest.raises(BarSourceError, match="cannot reach the provider yfinance.*Rate lim"):
            source(sleep=sleeps).fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))
        assert sleeps == [1.0, 2.0]

    def test_a_will_be_right_back_page_is_retried_until_yahoo_answers(self, yahoo) -> None:
        source().fetch("SPY", D(2024, 1, 2), D(2024, 1, 3))  # time zone now cached
        yahoo.script(WILL_BE_RIGHT_BACK, WILL_BE_RIGHT_BACK)  # yfinance itself asks twice
        sleeps = Sleeps()
        raw = source(sleep=sleeps).fetch("SPY", D(2024, 1, 3), D(2024, 1, 6))
        assert len(raw) == 3
        assert sleeps == [1.0]
        assert [r.status for r in yahoo.chart_requests("SPY")][1:] == [503, 503, 200]

    def test_a_network_error_that_persists_fails_naming_the_network_error(self, yahoo) -> None:
        down = curl_cffi.requests.exceptions.ConnectionError("Failed to connect: refused")
        yahoo.script(*[down] * 12)
        with pytest.raises(BarSourceError, match="cannot reach the provider yfinance.*refused"):
            source().fetch("SPY", D(2024, 1, 2), D(2024, 1, 6))

    def test_a_query_openbb_refuses_is_an_error_naming_the_command(self, yahoo) -> None:
        sleeps = Sleeps()
        with pytest.raises(BarSourceError, match=r"obb.equity.price.historical failed.*'7m'"):
            source(interval="7m", sleep=sleeps).fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))
        assert sleeps == [] and yahoo.chart_requests() == []


# ---------------------------------------------------------------- emp ingest openbb
def ingest(tmp_path: Path, *args: str) -> dict:
    return run_ingest(tmp_path, "openbb", args)


@pytest.fixture
def cli_yahoo(yahoo: RecordedYahoo, monkeypatch: pytest.MonkeyPatch) -> RecordedYahoo:
    monkeypatch.delenv("EMP_DB_PATH", raising=False)
    return yahoo


class TestIngestCommand:
    def test_two_etfs_ingest_clean_through_the_real_platform(self, cli_yahoo, tmp_path) -> None:
        report = ingest(tmp_path, "SPY", "QQQ", "--start", "2024-01-02", "--end", "2024-03-29")
        assert (report["rows_in"], report["good"], report["quarantined"]) == (122, 122, 0)
        assert report["source"] == "openbb:yfinance:equity:1d:adjusted"
        assert [(row["symbol"], row["rows"], row["gaps"]) for row in listing(tmp_path)] == [
            ("QQQ", 61, []),
            ("SPY", 61, []),
        ]

    def test_fx_and_a_dirty_series_are_judged_by_their_own_rules(self, cli_yahoo, tmp_path):
        fx = ingest(tmp_path, "EURUSD=X", "--asset", "currency", "--start", "2024-01-01",
                    "--end", "2024-03-01")  # fmt: skip
        assert (fx["good"], fx["quarantined"]) == (44, 0)
        bad = ingest(tmp_path, "BAD", "--start", "2024-01-01", "--end", "2024-03-01", "--raw")
        assert bad["quarantined"] > 0 and bad["good"] + bad["quarantined"] == bad["rows_in"]

    def test_an_fx_pair_spelt_without_the_yahoo_suffix_is_judged_as_fx(self, cli_yahoo, tmp_path):
        fx = ingest(tmp_path, "EURUSD", "--asset", "currency", "--start", "2024-01-01",
                    "--end", "2024-03-01")  # fmt: skip
        assert (fx["good"], fx["quarantined"]) == (44, 0)  # no volume, every weekday

    def test_an_update_without_start_asks_for_the_new_days_only(self, cli_yahoo, tmp_path):
        ingest(tmp_path, "SPY", "--start", "2024-01-02", "--end", "2024-02-01")
        report = ingest(tmp_path, "SPY", "--end", "2024-03-01")
        assert report["good"] == 20  # February 2024 has 20 NYSE sessions

    def test_an_unknown_symbol_fails_the_command_and_writes_nothing(self, cli_yahoo, tmp_path):
        with pytest.raises(SymbolNotFound, match="does not know 'NOPE'"):
            ingest(tmp_path, "SPY", "NOPE", "--start", "2024-01-02", "--end", "2024-02-01")
        assert listing(tmp_path) == []
