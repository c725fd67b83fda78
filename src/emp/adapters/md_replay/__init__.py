"""Recorded FIX market data: record raw streams to files and replay them as a MarketDataPort."""

from emp.adapters.md_replay.files import (
    MdRecorder,
    normalize_line,
    read_raw_messages,
    write_raw_messages,
)
from emp.adapters.md_replay.market_data import FileReplayMarketData

__all__ = [
    "FileReplayMarketData",
    "MdRecorder",
    "normalize_line",
    "read_raw_messages",
    "write_raw_messages",
]
