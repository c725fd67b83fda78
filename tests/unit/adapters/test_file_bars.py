"""CsvParquetBarSource: CSV and Parquet bar files, and every way they can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emp.adapters.file_bars import CsvParquetBarSource
from emp.domain.errors import InvalidBars, InvalidConfiguration
from emp.ports.bar_source import BarSourcePort, MalformedBarFile, SymbolNotFound

HEADER = "timestamp,symbol,open,high,low,close,volume\n"
ROWS = (
    "2020-01-02T00:00:00Z,AAA,10.0,11.0,9.5,10.5,1000\n"
    "2020-01-02T00:00:00Z,BBB,20.0,21.0,19.5,20.5,2000\n"
    "2020-01-03T00:00:00Z,AAA,10.5,11.5,10.0,11.0,1100\n"
    "2020-01-03T00:00:00Z,BBB,20.5,21.5,20.0,21.0,2100\n"
)
JAN2_NS = 1_577_923_200_000_000_000
DAY_NS = 86_400_000_000_000


def write_csv(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Date": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"]),
            "Open": [10.0, 10.5, 11.0],
            "High": [11.0, 11.5, 12.0],
            "Low": [9.5, 10.0, 10.5],
            "Close": [10.5, 11.0, 11.5],
            "Volume": [1000, 1100, 1200],
        }
    )


class TestRoundTrip:
    def test_a_csv_file_loads_every_symbol_in_file_order(self, tmp_path: Path) -> None:
        source = CsvParquetBarSource(write_csv(tmp_path, HEADER + ROWS))
        bars = source.load()
        assert list(bars) == ["AAA", "BBB"]
        np.testing.assert_array_equal(bars["AAA"].ts_ns, [JAN2_NS, JAN2_NS + DAY_NS])
        np.testing.assert_array_equal(bars["BBB"].close, [20.5, 21.0])
        np.testing.assert_array_equal(bars["AAA"].volume, [1000.0, 1100.0])

    def test_loading_selected_symbols_returns_them_in_the_order_asked(self, tmp_path: Path) -> None:
        bars = CsvParquetBarSource(write_csv(tmp_path, HEADER + ROWS)).load(["BBB"])
        assert list(bars) == ["BBB"]

    def test_a_parquet_file_round_trips_the_same_bars_as_its_csv(self, tmp_path: Path) -> None:
        csv = write_csv(tmp_path, HEADER + ROWS)
        parquet = tmp_path / "bars.parquet"
        pd.read_csv(csv).to_parquet(parquet)
        from_csv = CsvParquetBarSource(csv).load()
        from_parquet = CsvParquetBarSource(parquet).load()
        for symbol in ("AAA", "BBB"):
            for column in ("ts_ns", "open", "high", "low", "close", "volume"):
                np.testing.assert_array_equal(
                    getattr(from_parquet[symbol], column), getattr(from_csv[symbol], column)
                )

    def test_a_pq_suffix_is_parquet_with_a_datetime_column(self, tmp_path: Path) -> None:
        path = tmp_path / "spy.pq"
        frame().to_parquet(path)
        bars = CsvParquetBarSource(path).load()
        np.testing.assert_array_equal(bars["SPY"].ts_ns, JAN2_NS + np.array([0, 1, 4]) * DAY_NS)

    def test_without_a_symbol_column_the_file_stem_upper_cased_is_the_symbol(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "spy.csv"
        frame().to_csv(path, index=False)
        assert list(CsvParquetBarSource(path).load()) == ["SPY"]
        assert list(CsvParquetBarSource(path, default_symbol="IVV").load()) == ["IVV"]

    def test_column_names_match_regardless_of_case_and_extra_columns_are_ignored(
        self, tmp_path: Path
    ) -> None:
        text = "DateTime,OPEN,High,low,Close,Adj Close,VOLUME\n2020-01-02,1,2,0.5,1.5,1.4,10\n"
        bars = CsvParquetBarSource(write_csv(tmp_path, text, "x.csv")).load()
        assert bars["X"].bar(0).close == 1.5

    def test_a_symbol_spelled_na_stays_a_symbol(self, tmp_path: Path) -> None:
        text = HEADER + "2020-01-02,NA,1,2,0.5,1.5,10\n"
        assert list(CsvParquetBarSource(write_csv(tmp_path, text)).load()) == ["NA"]

    def test_describe_names_the_format_and_the_resolved_path(self, tmp_path: Path) -> None:
        csv = CsvParquetBarSource(tmp_path / "a.csv")
        parquet = CsvParquetBarSource(tmp_path / "b.parquet")
        assert isinstance(csv, BarSourcePort)
        assert csv.describe() == f"csv:{(tmp_path / 'a.csv').resolve()}"
        assert parquet.describe() == f"parquet:{(tmp_path / 'b.parquet').resolve()}"


class TestTimestamps:
    def test_zone_aware_text_is_converted_to_utc(self, tmp_path: Path) -> None:
        text = HEADER + "2020-01-02T09:30:00-05:00,AAA,1,2,0.5,1.5,10\n"
        bars = CsvParquetBarSource(write_csv(tmp_path, text)).load()
        assert bars["AAA"].ts_ns[0] == JAN2_NS + (14 * 60 + 30) * 60 * 10**9

    def test_naive_text_is_taken_as_utc(self, tmp_path: Path) -> None:
        text = HEADER + "2020-01-02 09:30:00,AAA,1,2,0.5,1.5,10\n"
        bars = CsvParquetBarSource(write_csv(tmp_path, text)).load()
        assert bars["AAA"].ts_ns[0] == JAN2_NS + (9 * 60 + 30) * 60 * 10**9

    def test_nanoseconds_survive(self, tmp_path: Path) -> None:
        text = HEADER + "2020-01-02T00:00:00.123456789Z,AAA,1,2,0.5,1.5,10\n"
        bars = CsvParquetBarSource(write_csv(tmp_path, text)).load()
        assert bars["AAA"].ts_ns[0] == JAN2_NS + 123_456_789

    def test_a_zone_aware_parquet_column_is_converted_to_utc(self, tmp_path: Path) -> None:
        data = frame()
        data["Date"] = data["Date"].dt.tz_localize("Europe/Berlin")
        path = tmp_path / "dax.parquet"
        data.to_parquet(path)
        bars = CsvParquetBarSource(path).load()
        assert bars["DAX"].ts_ns[0] == JAN2_NS - 3600 * 10**9

    def test_numeric_timestamps_are_refused_because_their_unit_is_unknown(
        self, tmp_path: Path
    ) -> None:
        data = frame()
        data["Date"] = data["Date"].astype("int64")
        path = tmp_path / "epoch.parquet"
        data.to_parquet(path)
        with pytest.raises(MalformedBarFile, match=r"epoch\.parquet.*'Date'.*numbers"):
            CsvParquetBarSource(path).load()


class TestMalformedFiles:
    def test_missing_columns_are_all_named_with_the_file(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "symbol,open,close\nAAA,1,1\n")
        with pytest.raises(MalformedBarFile) as info:
            CsvParquetBarSource(path).load()
        message = str(info.value)
        assert message.startswith(str(path))
        assert (
            "missing columns: a timestamp column (one of timestamp, ts, date, datetime); "
            "high; low; volume; the file has columns: symbol, open, close"
        ) in message

    def test_an_unparsable_timestamp_names_the_column_and_row(self, tmp_path: Path) -> None:
        text = HEADER + "2020-01-02,AAA,1,2,0.5,1.5,10\nnot a date,AAA,1,2,0.5,1.5,10\n"
        path = write_csv(tmp_path, text)
        with pytest.raises(MalformedBarFile, match=r"'timestamp' row 1 \(line 3\).*'not a date'"):
            CsvParquetBarSource(path).load()

    def test_a_non_numeric_price_names_the_column_the_row_and_the_file(
        self, tmp_path: Path
    ) -> None:
        text = HEADER + ROWS + "2020-01-06,AAA,1,2,0.5,one,10\n"
        path = write_csv(tmp_path, text)
        with pytest.raises(MalformedBarFile, match=r"'close' row 4 \(line 6\).*'one'") as info:
            CsvParquetBarSource(path).load()
        assert str(path) in str(info.value)

    def test_a_non_numeric_parquet_price_names_the_row(self, tmp_path: Path) -> None:
        data = frame()
        data["Volume"] = ["10", "lots", "12"]
        path = tmp_path / "v.parquet"
        data.to_parquet(path)
        with pytest.raises(MalformedBarFile, match=r"'Volume' row 1: expected a number"):
            CsvParquetBarSource(path).load()

    def test_an_empty_symbol_is_refused(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + "2020-01-02,,1,2,0.5,1.5,10\n")
        with pytest.raises(MalformedBarFile, match=r"'symbol' row 0.*empty"):
            CsvParquetBarSource(path).load()

    def test_two_timestamp_columns_are_ambiguous(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "date,ts,open,high,low,close,volume\n")
        with pytest.raises(MalformedBarFile, match="no rows"):
            CsvParquetBarSource(path).load()
        path.write_text("date,ts,open,high,low,close,volume\n2020-01-02,2020-01-02,1,2,1,1,1\n")
        with pytest.raises(MalformedBarFile, match="one timestamp column, found 2"):
            CsvParquetBarSource(path).load()

    def test_an_unknown_suffix_is_refused_at_construction(self, tmp_path: Path) -> None:
        with pytest.raises(MalformedBarFile, match=r"\.xlsx"):
            CsvParquetBarSource(tmp_path / "bars.xlsx")

    def test_a_missing_file_is_reported_at_load_not_construction(self, tmp_path: Path) -> None:
        source = CsvParquetBarSource(tmp_path / "absent.csv")
        with pytest.raises(MalformedBarFile, match="not found"):
            source.load()

    def test_a_corrupt_parquet_file_is_malformed(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.parquet"
        path.write_bytes(b"definitely not parquet")
        with pytest.raises(MalformedBarFile, match="cannot be read as parquet"):
            CsvParquetBarSource(path).load()

    def test_an_empty_default_symbol_is_a_configuration_error(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidConfiguration):
            CsvParquetBarSource(tmp_path / "a.csv", default_symbol=" ")

    def test_a_symbol_not_in_the_file_lists_the_available_ones(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + ROWS)
        with pytest.raises(SymbolNotFound, match="no bars for QQQ; the file has: AAA, BBB"):
            CsvParquetBarSource(path).load(["AAA", "QQQ"])


class TestNeverRepaired:
    @pytest.mark.parametrize(
        ("row", "rule"),
        [
            ("2020-01-06,AAA,1,2,0.5,,10", "close is NaN"),
            ("2020-01-06,AAA,1,2,0.5,NaN,10", "close is NaN"),
            ("2020-01-06,AAA,-1,2,0.5,1.5,10", "open must be > 0"),
            ("2020-01-03,AAA,1,2,0.5,1.5,10", "strictly increasing"),
            ("2020-01-01,AAA,1,2,0.5,1.5,10", "strictly increasing"),
        ],
    )
    def test_invalid_bars_raise_with_the_file_path_and_are_not_fixed(
        self, tmp_path: Path, row: str, rule: str
    ) -> None:
        path = write_csv(tmp_path, HEADER + ROWS + row + "\n")
        with pytest.raises(InvalidBars, match=rule) as info:
            CsvParquetBarSource(path).load()
        assert str(info.value).startswith(f"{path}: AAA: row 2")

    def test_bad_bars_of_one_symbol_do_not_hide_behind_another(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, HEADER + ROWS + "2020-01-01,BBB,1,2,0.5,1.5,10\n")
        assert list(CsvParquetBarSource(path).load(["AAA"])) == ["AAA"]
        with pytest.raises(InvalidBars, match="BBB"):
            CsvParquetBarSource(path).load(["BBB"])
