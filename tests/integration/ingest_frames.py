"""Bar files with known defects, shared by the ingest, snapshot and e2e tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def good_frame(rows: int = 12, symbol: str = "AAA") -> pd.DataFrame:
    days = pd.bdate_range("2024-01-02", periods=rows + 1)
    days = days[days != pd.Timestamp("2024-01-15")][:rows]  # skip MLK day: NYSE sessions only
    close = 50.0 + np.arange(rows) * 0.5
    return pd.DataFrame(
        {
            "timestamp": days.strftime("%Y-%m-%d"),
            "symbol": symbol,
            "open": close,
            "high": close + 0.25,
            "low": close - 0.25,
            "close": close,
            "volume": 1_000.0,
        }
    )


def bad_frame() -> pd.DataFrame:
    frame = good_frame()
    frame.loc[2, "close"] = np.nan  # missing value
    frame.loc[3, "high"] = frame.loc[3, "low"] - 1  # high below low (and more)
    frame.loc[5, "volume"] = 0.0  # zero volume on a session
    duplicate = frame.iloc[[6]]
    out_of_order = frame.iloc[[1]].assign(timestamp="2023-12-29")  # earlier than row 0
    return pd.concat([frame, duplicate, out_of_order], ignore_index=True)
