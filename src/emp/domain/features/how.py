"""The "how" family: depth features of an order book, strictly causal.

A :class:`BookFrameRecorder` keeps the top levels of a book after every message (one
*frame* per message, stamped with the message time). :func:`depth_features` then answers
"what was the feature at time t" for any times: each value uses only frames with
``ts_ns <= t`` — the latest such frame, and for order-flow imbalance the frames inside
``(t - window, t]`` — so truncating the stream after ``t`` never changes a value at ``t``
(the future-mask test proves it on random streams).

Features (NaN where a side is empty, the book is stale, or no frame is old enough):

``spread``
    best ask − best bid.
``imbalance``
    (bid size − ask size) / (bid size + ask size) over the top ``levels`` levels.
``microprice_deviation``
    microprice − mid, microprice = (bid·ask size + ask·bid size) / (bid size + ask size):
    positive when the book leans towards an up-move.
``depth_slope``
    how fast size accumulates away from the mid: per side the least-squares slope
    through the origin of cumulative size against distance from the mid, averaged over
    the two sides (size per unit of price).
``order_flow_imbalance``
    Cont, Kukanov & Stoikov (2014): the sum over frames in ``(t - window, t]`` of
    e_n = 1{b_n ≥ b_{n−1}}·qb_n − 1{b_n ≤ b_{n−1}}·qb_{n−1}
    − 1{a_n ≤ a_{n−1}}·qa_n + 1{a_n ≥ a_{n−1}}·qa_{n−1}
    (b, a best prices; qb, qa their sizes); 0 for frames next to a stale or empty one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emp.domain.books.l2 import L2Book
from emp.domain.market_data import EntryType

DEPTH_FEATURES: tuple[str, ...] = (
    "spread",
    "imbalance",
    "microprice_deviation",
    "depth_slope",
    "order_flow_imbalance",
)


@dataclass(frozen=True, slots=True, eq=False)
class BookFrames:
    """Top-of-book frames, one row per message: (n,) times and flags, (n, depth) levels."""

    ts_ns: np.ndarray
    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    stale: np.ndarray

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def until(self, t_ns: int) -> BookFrames:
        """The frames with ``ts_ns <= t_ns`` (what was known at ``t_ns``)."""
        n = int(np.searchsorted(self.ts_ns, t_ns, side="right"))
        return BookFrames(
            self.ts_ns[:n], self.bid_px[:n], self.bid_sz[:n],
            self.ask_px[:n], self.ask_sz[:n], self.stale[:n],
        )  # fmt: skip


class BookFrameRecorder:
    """Collects a frame of the top ``depth`` levels of a book after each message."""

    def __init__(self, depth: int = 5) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, was {depth}")
        self.depth = depth
        self._ts: list[int] = []
        self._rows: list[list[float]] = []
        self._stale: list[bool] = []

    def record(self, ts_ns: int, book: L2Book, *, stale: bool) -> None:
        """Append the book as of ``ts_ns``; times must not go backwards."""
        if self._ts and ts_ns < self._ts[-1]:
            raise ValueError(f"frame times must not decrease: {ts_ns} after {self._ts[-1]}")
        depth = self.depth
        row: list[float] = []
        for side in (EntryType.BID, EntryType.OFFER):
            levels = book.depth(side, depth)
            pad = [np.nan] * (depth - len(levels))
            row += [lv.price for lv in levels] + pad
            row += [lv.size for lv in levels] + pad
        self._ts.append(ts_ns)
        self._rows.append(row)
        self._stale.append(stale)

    def frames(self) -> BookFrames:
        d = self.depth
        rows = np.asarray(self._rows, dtype=np.float64).reshape(len(self._rows), 4 * d)
        return BookFrames(
            ts_ns=np.asarray(self._ts, dtype=np.int64),
            bid_px=rows[:, 0:d],
            bid_sz=rows[:, d : 2 * d],
            ask_px=rows[:, 2 * d : 3 * d],
            ask_sz=rows[:, 3 * d : 4 * d],
            stale=np.asarray(self._stale, dtype=bool),
        )


def frame_features(frames: BookFrames, *, levels: int = 5) -> dict[str, np.ndarray]:
    """Each feature of each frame from that frame alone (OFI: that frame and the one before)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        b, qb = frames.bid_px[:, 0], frames.bid_sz[:, 0]
        a, qa = frames.ask_px[:, 0], frames.ask_sz[:, 0]
        bad = frames.stale | np.isnan(b) | np.isnan(a)
        mid = (a + b) / 2.0
        spread = a - b
        bid_depth = np.nansum(frames.bid_sz[:, :levels], axis=1)
        ask_depth = np.nansum(frames.ask_sz[:, :levels], axis=1)
        imbalance = (bid_depth - ask_depth) / (bid_depth + ask_depth)
        microprice = (b * qa + a * qb) / (qb + qa)
        slope = (_side_slope(frames.bid_px, frames.bid_sz, mid, levels)
                 + _side_slope(frames.ask_px, frames.ask_sz, mid, levels)) / 2.0  # fmt: skip
        ofi = np.zeros(len(frames))
        if len(frames) > 1:
            e = (
                np.where(b[1:] >= b[:-1], qb[1:], 0.0)
                - np.where(b[1:] <= b[:-1], qb[:-1], 0.0)
                - np.where(a[1:] <= a[:-1], qa[1:], 0.0)
                + np.where(a[1:] >= a[:-1], qa[:-1], 0.0)
            )
            ofi[1:] = np.where(bad[1:] | bad[:-1], 0.0, e)
    out = {
        "spread": spread,
        "imbalance": imbalance,
        "microprice_deviation": microprice - mid,
        "depth_slope": slope,
    }
    for name in out:
        out[name] = np.where(bad, np.nan, out[name])
    out["order_flow_imbalance"] = ofi
    return out


def _side_slope(px: np.ndarray, sz: np.ndarray, mid: np.ndarray, levels: int) -> np.ndarray:
    x = np.abs(px[:, :levels] - mid[:, None])
    y = np.cumsum(np.nan_to_num(sz[:, :levels]), axis=1)
    present = ~np.isnan(px[:, :levels])
    sxy = np.sum(np.where(present, x * y, 0.0), axis=1)
    sxx = np.sum(np.where(present, x * x, 0.0), axis=1)
    return np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), np.nan)


def depth_features(
    frames: BookFrames,
    at_ns: np.ndarray | list[int],
    *,
    levels: int = 5,
    ofi_window_ns: int = 1_000_000_000,
) -> dict[str, np.ndarray]:
    """Every feature of :data:`DEPTH_FEATURES` at each time of ``at_ns`` (causal, as-of)."""
    at = np.asarray(at_ns, dtype=np.int64)
    per_frame = frame_features(frames, levels=levels)
    last = np.searchsorted(frames.ts_ns, at, side="right") - 1
    known = last >= 0
    safe = np.where(known, last, 0)
    out: dict[str, np.ndarray] = {}
    for name in DEPTH_FEATURES[:-1]:
        values = per_frame[name][safe] if len(frames) else np.full(at.shape, np.nan)
        out[name] = np.where(known, values, np.nan)
    flow = np.concatenate([[0.0], np.cumsum(per_frame["order_flow_imbalance"])])
    start = np.searchsorted(frames.ts_ns, at - ofi_window_ns, side="right")
    out["order_flow_imbalance"] = np.where(known, flow[last + 1] - flow[start], np.nan)
    return out
