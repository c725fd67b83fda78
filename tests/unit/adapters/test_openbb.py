"""The OpenBB adapter against a fake ``openbb`` module with the documented answer shape.

openbb itself is never installed in tests (it resolves to ~226 wheels): a fake module
whose ``obb`` answers ``OBBject``-like objects (``.results``, a list of data models) is
injected into ``sys.modules``; the rows come from the recorded Yahoo fixtures.
"""

from __future__ import annotations

import datetime as dt
import json
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
from emp.app.data_commands import ingest_app
from emp.ports.bar_source import BarSourceError
from emp.ports.raw_bar_source import RawBarSourcePort
from tests.unit.adapters import yahoo_fake

D = dt.date


class EmptyDataError(Exception):
    """Named like OpenBB's exception for an answer without rows."""


class Model:
    """A data model: declared fields as attributes, provider extras in ``model_extra``."""

    def __init__(self, extra: dict[str, Any] | None = None, **fields: Any) -> None:
        self.__dict__.update(fields)
        self.model_extra = extra or {}


def equity_results(symbol: str, start: str, end: str, intraday: bool = False) -> list[Model]:
    frame = yahoo_fake.recorded(symbol, "5m" if intraday else "1d")
    assert frame is not None
    days = frame.index.tz_localize(None).normalize()
    frame = frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]
    return [
        Model(
            date=stamp.to_pydatetime() if intraday else stamp.date(),
            open=row["Open"],
            high=row["High"],
            low=row["Low"],
            close=row["Close"],
            volume=row["Volume"],
            extra={"split_ratio": row["Stock Splits"], "dividend": row["Dividends"]},
        )
        for stamp, row in frame.iterrows()
    ]


class FakeObb:
    def __init__(self) -> None:
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
            return equity_results(
                kw["symbol"], kw["start_date"], kw["end_date"], kw["interval"] == "5m"
            )

        def fred(**kw: Any) -> list[dict[str, Any]]:
            dates = pd.bdate_range(kw["start_date"], kw["end_date"])
            return [{"date": d.date(), kw["symbol"]: 4.0 + i / 100} for i, d in enumerate(dates)]

        price = types.SimpleNamespace(historical=endpoint("equity", prices))
        self.equity = types.SimpleNamespace(price=price)
        self.economy = types.SimpleNamespace(fred_series=endpoint("fred", fred))


@pytest.fixture
def obb(monkeypatch: pytest.MonkeyPatch) -> FakeObb:
    fake = FakeObb()
    module = types.ModuleType("openbb")
    module.obb = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "openbb", module)
    return fake


class TestImport:
    def test_importing_the_adapter_does_not_import_openbb(self) -> None:
        code = "import sys, emp.adapters.openbb; print('openbb' in sys.modules)"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.stdout.strip() == "False", result.stderr

    def test_without_openbb_installed_the_error_says_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "openbb", None)
        with pytest.raises(BarSourceError, match=r"emp-framework\[openbb\]"):
            OpenBBBarSource().fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))

    def test_the_source_implements_the_raw_bar_source_port(self) -> None:
        assert isinstance(OpenBBBarSource(), RawBarSourcePort)


class TestPrices:
    def test_daily_bars_match_the_provider_rows_and_the_call_is_documented(self, obb) -> None:
        raw = OpenBBBarSource().fetch("SPY", D(2024, 3, 13), D(2024, 3, 16))
        endpoint, kwargs = obb.calls[0]
        assert endpoint == "equity"
        assert kwargs == {
            "symbol": "SPY",
            "start_date": "2024-03-13",
            "end_date": "2024-03-15",  # OpenBB's end is inclusive
            "provider": "yfinance",
            "interval": "1d",
            "adjustment": "splits_and_dividends",
        }
        assert raw.days().astype(str).tolist() == ["2024-03-13", "2024-03-14", "2024-03-15"]
        assert raw.ts_ns[0] == np.datetime64("2024-03-13", "ns").astype(np.int64)
        assert raw.dividend is not None and raw.dividend.tolist() == [0.0, 0.0, 1.595]

    def test_intraday_datetimes_become_utc_with_their_local_session_date(self, obb) -> None:
        raw = OpenBBBarSource(interval="5m").fetch("SPY", D(2024, 3, 27), D(2024, 3, 28))
        assert len(raw) == 12
        assert pd.Timestamp(int(raw.ts_ns[0]), tz="UTC").hour == 13  # 09:30 New York
        assert set(raw.days().astype(str)) == {"2024-03-27"}

    def test_a_macro_series_becomes_flat_bars_without_volume(self, obb) -> None:
        source = OpenBBBarSource(asset="economy", provider="fred")
        raw = source.fetch("DGS10", D(2024, 1, 2), D(2024, 1, 5))
        assert obb.calls[0][0] == "fred"
        assert raw.close.tolist() == [4.0, 4.01, 4.02]
        np.testing.assert_array_equal(raw.open, raw.close)
        assert raw.volume.tolist() == [0.0, 0.0, 0.0]
        assert source.describe() == "openbb:fred:economy"

    def test_an_empty_answer_is_no_rows(self, obb) -> None:
        obb.failures.append(EmptyDataError("no data"))
        assert len(OpenBBBarSource().fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))) == 0


class TestFaults:
    def test_a_network_error_is_retried_with_backoff(self, obb) -> None:
        sleeps: list[float] = []
        obb.failures.append(ConnectionResetError("reset by peer"))
        raw = OpenBBBarSource(sleep=sleeps.append).fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))
        assert len(raw) == 3 and sleeps == [1.0] and len(obb.calls) == 2

    def test_a_persistent_network_error_fails_in_words(self, obb) -> None:
        obb.failures.extend([ConnectionRefusedError("refused")] * 3)
        with pytest.raises(BarSourceError, match="cannot reach the provider yfinance"):
            OpenBBBarSource(sleep=lambda _: None).fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))

    def test_a_provider_error_is_not_retried_and_names_the_call(self, obb) -> None:
        obb.failures.append(RuntimeError("Missing credential 'fmp_api_key'"))
        with pytest.raises(BarSourceError, match="openbb equity SPY.*fmp_api_key"):
            OpenBBBarSource().fetch("SPY", D(2024, 1, 2), D(2024, 1, 5))
        assert len(obb.calls) == 1

    def test_an_unknown_asset_is_refused(self) -> None:
        with pytest.raises(BarSourceError, match="asset expected one of"):
            OpenBBBarSource(asset="bonds")


class TestCommand:
    def test_emp_ingest_openbb_stores_validated_bars(self, obb, tmp_path: Path) -> None:
        result = CliRunner().invoke(
            ingest_app,
            [
                "openbb",
                "SPY",
                "--start",
                "2024-01-02",
                "--end",
                "2024-02-01",
                "--db",
                str(tmp_path / "emp.duckdb"),
                "--json",
                "--no-progress",
            ],
        )
        assert result.exit_code == 0, result.output + repr(result.exception)
        report = json.loads(result.stdout.splitlines()[-1])
        assert (report["good"], report["quarantined"]) == (21, 0)
        assert report["source"] == "openbb:yfinance:equity:1d:adjusted"
