"""Bars from local files: one CSV or Parquet file per source (pandas and pyarrow)."""

from emp.adapters.file_bars.bar_source import CsvParquetBarSource

__all__ = ["CsvParquetBarSource"]
