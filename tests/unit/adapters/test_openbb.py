"""The OpenBB adapter's paths that the real platform with its yfinance provider cannot take.

tests/integration/test_openbb_real_library.py runs the adapter against the real
``openbb`` (core + equity + yfinance) over recorded Yahoo answers: daily bars adjusted and
raw, FX, an index, unknown symbols, empty answers, retries, the CLI. What stays here needs
no openbb at all: the lazy import and the message without the extra, and answers only
other providers or the full platform give, played by a fake ``obb`` with the documented
``OBBject`` shape (``.results``, a list of data models): time-zone-aware intraday times,
naive ones from a provider that means UTC, FRED macro series, the platform's own routers,
and network errors raised as ``OSError`` (aiohttp-based providers).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emp.adapters.openbb import OpenBBBarSource
from emp.adapters.openbb.provider_log import (
    FAILED,
    NO_PRICES,
    NO_ROWS_IN_RANGE,
    UNKNOWN_SYMBOL,
    UNREACHABLE,
    read_empty_answer,
)
from emp.app.data_commands import ingest_app
from emp.ports.bar_source import BarSourceError
from emp.ports.raw_bar_source import RawBarSourcePort
from tests.unit.adapters import yahoo_fake

D = dt.date


class OpenBBError(Exception):
    """Named like OpenBB's wrapper of provider errors."""


class Model:
    """A data model: declared fields as attributes, provider extras in ``model_extra``."""

    def __init__(self, extra: dict[str, Any] | None = None, **fields: Any) -> None:
        self.__dict__.update(fields)
        self.model_extra = extra or {}


def spy_5m(start: str, end: str, *, naive: bool = False) -> list[Model]:
    frame = yahoo_fake.recorded("SPY", "5m")
    assert frame is not None
    days = frame.index.tz_localize(None).normalize()
    frame = frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]
    stamps = frame.index.tz_convert("UTC").tz_localize(None) if naive else frame.index
    return [
        Model(date=stamp.to_pydatetime(), open=row["Open"], high=row["High"], low=row["Low"],
              close=row["Close"], volume=row["Volume"])
        for stamp, (_, row) in zip(stamps, frame.iterrows(), strict=True)
    ]  # fmt: skip


class FakeObb:
    """``obb.equity.price.historical`` and ``obb.economy.fred_series`` on recordings."""

    def __init__(self, *, naive: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[BaseException] = []

        def endpoint(name: str, answer):
            def call(**kwargs: Any) -> Any:
                self.calls.append((name, kwargs))
                if self.failures:
                    raise self.failures.pop(0)
                return types.SimpleNamespace(results=answer(**kwargs), provider=kwargs["provider"])

            return call

        def prices(**kw: Any) -> list[Model]:
            return spy_5m(kw["start_date"], kw["end_date"], naive=naive)

        def fred(**kw: Any) -> list[dict[str, Any]]:
            dates = pd.bdate_range(kw["start_date"], kw["end_date"])
            return [{"date": d.date(), kw["symbol"]: 4.0 + i / 100} for i, d in enumerate(dates)]

        self.equity = types.SimpleNamespace(
            price=types.SimpleNamespace(historical=endpoint("equity", prices))
        )
        self.economy = types.SimpleNamespace(fred_series=endpoint("fred", fred))


class TestImport:
    def test_importing_the_adapter_or_the_cli_does_not_import_openbb(self) -> None:
        code = (
            "import sys, emp.adapters.openbb, emp.app.data_commands; "
            "print('openbb' in sys.modules, 'openbb_core' in sys.modules)"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.stdout.strip() == "False False", result.stderr

    def test_without_openbb_installed_the_error_says_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "openbb", None)
        with pytest.raises(BarSourceError, match=r"emp-framework\[openbb\]"):
            OpenBBBarSource().fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))

    def test_emp_ingest_openbb_without_the_extra_fails_naming_the_extra(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setitem(sys.modules, "openbb", None)
        monkeypatch.delenv("EMP_DB_PATH", raising=False)
        result = CliRunner().invoke(
            ingest_app,
            ["openbb", "SPY", "--start", "2024-01-02", "--end", "2024-01-05",
             "--db", str(tmp_path / "emp.duckdb"), "--json", "--no-progress"],
        )  # fmt: skip
        assert result.exit_code != 0
        assert isinstance(result.exception, BarSourceError)
        assert "pip install 'emp-framework[openbb]'" in str(result.exception)

    def test_the_source_implements_the_raw_bar_source_port(self) -> None:
        assert isinstance(OpenBBBarSource(), RawBarSourcePort)


class TestAnswersOnlyOtherProvidersGive:
    def test_intraday_datetimes_with_a_zone_become_utc_with_their_local_session_date(
        self,
    ) -> None:
        raw = OpenBBBarSource(interval="5m", obb=FakeObb()).fetch(
            "SPY", D(2024, 3, 27), D(2024, 3, 28)
        )
        assert len(raw) == 12
        assert pd.Timestamp(int(raw.ts_ns[0]), tz="UTC").hour == 13  # 09:30 New York
        assert set(raw.days().astype(str)) == {"2024-03-27"}

    def test_naive_intraday_datetimes_of_a_provider_other_than_yfinance_are_utc(self) -> None:
        aware = OpenBBBarSource(interval="5m", obb=FakeObb())
        naive = OpenBBBarSource(interval="5m", provider="polygon", obb=FakeObb(naive=True))
        window = (D(2024, 3, 27), D(2024, 3, 28))
        np.testing.assert_array_equal(
            naive.fetch("SPY", *window).ts_ns, aware.fetch("SPY", *window).ts_ns
        )

    def test_a_macro_series_becomes_flat_bars_without_volume(self) -> None:
        obb = FakeObb()
        source = OpenBBBarSource(asset="economy", provider="fred", obb=obb)
        raw = source.fetch("DGS10", D(2024, 1, 2), D(2024, 1, 5))
        assert obb.calls == [
            ("fred", {"symbol": "DGS10", "start_date": "2024-01-02", "end_date": "2024-01-04",
                      "provider": "fred"}),
        ]  # fmt: skip
        assert raw.close.tolist() == [4.0, 4.01, 4.02]
        np.testing.assert_array_equal(raw.open, raw.close)
        assert raw.volume.tolist() == [0.0, 0.0, 0.0]
        assert source.describe() == "openbb:fred:economy"

    def test_the_platforms_router_is_preferred_to_the_providers_own(self) -> None:
        def answer(name: str):
            return lambda **kw: types.SimpleNamespace(
                results=[Model(date=D(2024, 1, 2), open=1.0, high=2.0, low=0.5,
                               close=float(name == "platform"), volume=None)]
            )  # fmt: skip

        def router(name: str) -> types.SimpleNamespace:
            return types.SimpleNamespace(price=types.SimpleNamespace(historical=answer(name)))

        obb = types.SimpleNamespace(
            index=router("platform"), fmp=types.SimpleNamespace(index=router("provider"))
        )
        raw = OpenBBBarSource(asset="index", provider="fmp", obb=obb).fetch(
            "^GSPC", D(2024, 1, 2), D(2024, 1, 3)
        )
        assert raw.close.tolist() == [1.0] and raw.volume.tolist() == [0.0]


class TestNetworkErrorsAsOSError:
    def test_a_network_error_is_retried_with_backoff(self) -> None:
        obb, sleeps = FakeObb(), []
        obb.failures.append(ConnectionResetError("reset by peer"))
        raw = OpenBBBarSource(interval="5m", obb=obb, sleep=sleeps.append).fetch(
            "SPY", D(2024, 3, 27), D(2024, 3, 28)
        )
        assert len(raw) == 12 and sleeps == [1.0] and len(obb.calls) == 2

    def test_a_network_error_wrapped_by_openbb_that_persists_fails_in_words(self) -> None:
        obb, sleeps = FakeObb(), []
        for _ in range(3):
            try:
                raise ConnectionRefusedError("refused")
            except OSError as error:
                wrapped = OpenBBError("[Error] -> Cannot connect to host")
                wrapped.__cause__ = error
                obb.failures.append(wrapped)
        with pytest.raises(BarSourceError, match="cannot reach the provider yfinance: refused"):
            OpenBBBarSource(obb=obb, sleep=sleeps.append).fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))
        assert sleeps == [1.0, 2.0] and len(obb.calls) == 3


class TestWhatYfinanceLogged:
    @pytest.mark.parametrize(
        ("logged", "case"),
        [
            ([], NO_ROWS_IN_RANGE),
            (["Failed to get ticker 'SPY' reason: Failed to connect: refused",
              "$SPY: possibly delisted; no timezone found"], UNREACHABLE),
            (["['SPY']: YFRateLimitError('Too Many Requests. Rate limited.')"], UNREACHABLE),
            (["['NOPE']: possibly delisted; no timezone found"], UNKNOWN_SYMBOL),
            (["['SPY']: possibly delisted; no price data found (1d 2024-01-02 -> 2026-11-21)"],
             NO_PRICES),
            (["['SPY']: KeyError('chart')"], FAILED),
        ],
        ids=["nothing", "network", "rate-limit", "unknown", "no-prices", "other"],
    )  # fmt: skip
    def test_an_empty_answer_is_read_from_the_providers_words(self, logged, case) -> None:
        found, words = read_empty_answer(logged)
        assert found == case
        assert all(message in words for message in logged)


class TestConfiguration:
    def test_an_unknown_asset_is_refused(self) -> None:
        with pytest.raises(BarSourceError, match="asset expected one of"):
            OpenBBBarSource(asset="bonds")

    def test_an_unknown_time_zone_is_refused(self) -> None:
        with pytest.raises(BarSourceError, match="timezone expected an IANA zone"):
            OpenBBBarSource(timezone="Mars/Olympus")
