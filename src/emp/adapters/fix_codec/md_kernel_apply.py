"""Compiled (numba) framing of recordings and application of W/X to array-backed books.

:func:`frame_lines` turns a recording (one message per line, SOH or ``|`` separated,
optionally back-to-back messages) into normalised bytes and message bounds.
:func:`run` decodes messages with
:func:`~emp.adapters.fix_codec.md_kernel_parse.decode_message` and applies them to the
books of a :class:`~emp.domain.books.fast_path.FastPathState` exactly as the
:class:`~emp.domain.books.sync.BookSynchronizer` would — MsgSeqNum and RptSeq checks,
the L2 book's tick grid, sizes > 0, NEW/CHANGE/DELETE existence, no locked or crossed
book outside a declared state — recording the BBO after every message. It stops at the
first message it cannot take (see the ``R_*`` reasons); that message's own book changes
are undone, so Python can process it from the very same state.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from emp.adapters.fix_codec.md_kernel_parse import (
    ACTION,
    ENTRY_COLUMNS,
    ERROR,
    H_HAS_RPT,
    H_RPT,
    H_SEQ,
    H_SYM_END,
    H_SYM_START,
    H_TS,
    H_TYPE,
    HEADER_SIZE,
    OK,
    OTHER,
    RPT,
    TYPE,
    decode_message,
)

# Why the kernel stopped (result[R_REASON]).
R_DONE, R_ERROR, R_UNUSUAL, R_OTHER, R_GAP, R_UNKNOWN, R_PYTHON, R_NOT_LIVE = range(8)
R_RPT, R_BOOK, R_FULL = 8, 9, 10
#: result[] slots: where it stopped, why, the kernel's tag and byte offset, trades written.
RES_STOP, RES_REASON, RES_TAG, RES_OFFSET, RES_TRADES = range(5)
# Per-message outcome (out_status).
APPLIED, DUPLICATE, IGNORED, PYTHON = 0, 1, 2, 3
KIND_GRID, KIND_IGNORED = 1, 2
LIVE = 1
NONE = -1
MESSAGES, ENTRIES, DUPLICATES, IGNORED_ENTRIES = 0, 1, 2, 3
NO_BEST = 2**62
NO_TICK = -(2**62)
_TOLERANCE = 1e-6


@njit(cache=True)
def frame_lines(buf, back_to_back):
    """(normalised bytes, starts, ends): one message per non-blank line.

    Like ``md_replay.files.normalize_line``: trailing CR/LF are stripped and a line with
    no SOH has every ``|`` turned into SOH. With ``back_to_back`` a line may also hold
    several messages: one ends after ``<SOH>10=...<SOH>`` when ``8=`` follows.
    """
    data = buf.copy()
    n = data.shape[0]
    lines = 1
    for p in range(n):
        if data[p] == 10:
            lines += 1
    bound = lines + (n // 16 if back_to_back else 0)
    starts = np.empty(bound, dtype=np.int64)
    ends = np.empty(bound, dtype=np.int64)
    count = 0
    ls = 0
    while ls < n:
        le = ls
        while le < n and data[le] != 10:
            le += 1
        nxt = le + 1
        while le > ls and (data[le - 1] == 13 or data[le - 1] == 10):
            le -= 1
        if le > ls:
            soh = False
            for p in range(ls, le):
                if data[p] == 1:
                    soh = True
                    break
            if not soh:
                for p in range(ls, le):
                    if data[p] == 124:
                        data[p] = 1
            ms = ls
            if back_to_back:
                p = ls
                while p + 4 < le:
                    if (
                        data[p] == 1
                        and data[p + 1] == 49
                        and data[p + 2] == 48
                        and data[p + 3] == 61
                    ):
                        q = p + 4
                        while q < le and data[q] != 1:
                            q += 1
                        if q + 2 < le and data[q + 1] == 56 and data[q + 2] == 61 and count < bound:
                            starts[count] = ms
                            ends[count] = q + 1
                            count += 1
                            ms = q + 1
                        p = q
                    else:
                        p += 1
            if count < bound:
                starts[count] = ms
                ends[count] = le
                count += 1
        ls = nxt
    return data, starts[:count], ends[:count]


@njit(cache=True)
def _find_slot(data, a, b, symbol_bytes, symbol_offsets):
    for i in range(symbol_offsets.shape[0] - 1):
        s0 = symbol_offsets[i]
        if symbol_offsets[i + 1] - s0 == b - a:
            same = True
            for k in range(b - a):
                if symbol_bytes[s0 + k] != data[a + k]:
                    same = False
                    break
            if same:
                return i
    return -1


@njit(cache=True)
def _apply(grid, m, count, ient, fent, inv_tick, crossing, undo_side, undo_index, undo_size):
    """Apply one message's entries to ``grid`` with working meta ``m``: (ok, undo length)."""
    capacity = grid.shape[1]
    nu = 0
    for k in range(count):
        t = ient[k, TYPE]
        if t > 1:
            continue
        action = ient[k, ACTION]
        x = fent[k, 0] * inv_tick
        if not abs(x) < 1e15:
            return False, nu
        kf = np.rint(x)
        if x - kf > _TOLERANCE or kf - x > _TOLERANCE:
            return False, nu
        key = -int(kf) if t == 0 else int(kf)
        origin, levels, best = m[3 * t], m[3 * t + 1], m[3 * t + 2]
        i = key - origin
        inside = 0 <= i < capacity
        current = grid[t, i] if inside else 0.0
        size = fent[k, 1]
        if action == 1:
            if not size > 0 or current == 0.0:
                return False, nu
        elif action == 0:
            if not size > 0 or current != 0.0:
                return False, nu
            if not inside:
                if levels:
                    return False, nu  # outside the window: Python re-grids or goes sparse
                origin = key - capacity // 2
                m[3 * t] = origin
                i = key - origin
            m[3 * t + 1] = levels + 1
            if best == NO_BEST or key < best:
                m[3 * t + 2] = key
        elif action == 2:
            if current == 0.0:
                return False, nu
            size = 0.0
            levels -= 1
            m[3 * t + 1] = levels
            if key == best:
                if levels == 0:
                    m[3 * t + 2] = NO_BEST
                else:
                    j = i + 1
                    while grid[t, j] == 0.0:
                        j += 1
                    m[3 * t + 2] = j + origin
        else:
            return False, nu
        undo_side[nu] = t
        undo_index[nu] = i
        undo_size[nu] = grid[t, i]
        nu += 1
        grid[t, i] = size
    bid, ask = m[2], m[5]
    if not crossing and bid != NO_BEST and ask != NO_BEST and -bid >= ask:
        return False, nu
    return True, nu


@njit(cache=True)
def _clear(grid, m):
    for t in range(2):
        left = m[3 * t + 1]
        if left:
            j = m[3 * t + 2] - m[3 * t]
            while left:
                if grid[t, j] != 0.0:
                    grid[t, j] = 0.0
                    left -= 1
                j += 1
        m[3 * t] = 0
        m[3 * t + 1] = 0
        m[3 * t + 2] = NO_BEST


@njit(cache=True)
def _depth(sizes, origin, levels, best, t, ticks, out):
    """The best ``len(ticks)`` levels of one grid side, padded with NO_TICK / NaN."""
    want = ticks.shape[0]
    got = 0
    if best != NO_BEST:
        j = best - origin
        while got < want and got < levels:
            if sizes[j] != 0.0:
                key = j + origin
                ticks[got] = -key if t == 0 else key
                out[got] = sizes[j]
                got += 1
            j += 1
    for k in range(got, want):
        ticks[k] = NO_TICK
        out[k] = np.nan


@njit(cache=True)
def run(
    data, starts, ends, first, last,
    symbol_bytes, symbol_offsets, kind, state, next_rpt, snapshot_ok, crossing, inv_tick,
    meta, grids, seq, counters, touched,
    out_status, out_slot, out_ts, out_bbo_tick, out_bbo_size, out_depth_tick, out_depth_size,
    trade_slot, trade_price, trade_size, trade_ts, result,
):  # fmt: skip
    """Process messages ``first..last-1``; returns the index it stopped at (``last``: all).

    After each message the BBO of the book it touched goes to ``out_bbo_*`` (``[msg,
    side]``) and its best ``out_depth_*.shape[2]`` levels to ``out_depth_*`` (``[msg,
    side, level]``; NO_TICK / NaN past the last level).
    """
    longest = 16
    for msg in range(first, last):
        longest = max(longest, ends[msg] - starts[msg])
    width = longest // 2 + 2
    ftag = np.empty(width, dtype=np.int64)
    vstart = np.empty(width, dtype=np.int64)
    vend = np.empty(width, dtype=np.int64)
    ient = np.empty((width, ENTRY_COLUMNS), dtype=np.int64)
    fent = np.empty((width, 2), dtype=np.float64)
    head = np.zeros(HEADER_SIZE, dtype=np.int64)
    m = np.empty(6, dtype=np.int64)
    undo_side = np.empty(width, dtype=np.int64)
    undo_index = np.empty(width, dtype=np.int64)
    undo_size = np.empty(width, dtype=np.float64)
    trades = result[RES_TRADES]
    for msg in range(first, last):
        s = starts[msg]
        status, tag, offset, count = decode_message(
            data, s, ends[msg], ftag, vstart, vend, ient, fent, head
        )
        reason = R_DONE
        if status != OK:
            reason = R_ERROR if status == ERROR else (R_OTHER if status == OTHER else R_UNUSUAL)
            result[RES_TAG] = tag
            result[RES_OFFSET] = offset
        seq_num = head[H_SEQ]
        slot = -1
        if reason == R_DONE and seq[1] and seq[0] != NONE and seq_num != seq[0]:
            if seq_num < seq[0]:
                counters[DUPLICATES] += 1
                out_status[msg] = DUPLICATE
                out_slot[msg] = -1
                continue
            reason = R_GAP
        snapshot = head[H_TYPE] == 0
        outcome = APPLIED
        if reason == R_DONE and (snapshot or count):
            slot = _find_slot(
                data, head[H_SYM_START], head[H_SYM_END], symbol_bytes, symbol_offsets
            )
            if slot < 0:
                reason = R_UNKNOWN
            elif kind[slot] == KIND_IGNORED:
                counters[IGNORED_ENTRIES] += count
                outcome = IGNORED
            elif kind[slot] != KIND_GRID:
                reason = R_PYTHON
        if reason == R_DONE and slot >= 0 and outcome == APPLIED:
            pending = trades
            for k in range(count):
                if ient[k, TYPE] == 2:
                    pending += 1
            if pending > trade_slot.shape[0]:
                reason = R_FULL
        if reason == R_DONE and slot >= 0 and outcome == APPLIED:
            grid = grids[slot]
            m[:] = meta[slot]
            if not snapshot:
                new_rpt = next_rpt[slot]
                first_rpt = ient[0, RPT]
                if state[slot] != LIVE:
                    reason = R_NOT_LIVE
                elif first_rpt != 0:
                    if next_rpt[slot] != NONE and first_rpt != next_rpt[slot]:
                        reason = R_RPT
                    for k in range(count):
                        if ient[k, RPT] != first_rpt + k:
                            reason = R_RPT
                    new_rpt = first_rpt + count
                if reason == R_DONE:
                    ok, nu = _apply(
                        grid, m, count, ient, fent, inv_tick[slot], crossing[slot],
                        undo_side, undo_index, undo_size,
                    )  # fmt: skip
                    if ok:
                        next_rpt[slot] = new_rpt
                    else:
                        for j in range(nu - 1, -1, -1):
                            grid[undo_side[j], undo_index[j]] = undo_size[j]
                        reason = R_BOOK
            else:
                has_rpt, rpt = head[H_HAS_RPT], head[H_RPT]
                if (
                    state[slot] == LIVE
                    and has_rpt
                    and next_rpt[slot] != NONE
                    and rpt < next_rpt[slot] - 1
                ):
                    outcome = IGNORED  # older than what the live book shows
                elif not snapshot_ok[slot]:
                    reason = R_NOT_LIVE
                else:
                    _clear(grid, m)
                    ok, nu = _apply(
                        grid, m, count, ient, fent, inv_tick[slot], crossing[slot],
                        undo_side, undo_index, undo_size,
                    )  # fmt: skip
                    if ok:
                        state[slot] = LIVE
                        snapshot_ok[slot] = 1
                        next_rpt[slot] = rpt + 1 if has_rpt else NONE
                    else:
                        reason = R_BOOK  # Python clears the book again and takes over
            if reason == R_DONE and outcome == APPLIED:
                meta[slot] = m
                touched[slot] = 1
                counters[ENTRIES] += count
                for k in range(count):
                    if ient[k, TYPE] == 2:
                        trade_slot[trades] = slot
                        trade_price[trades] = fent[k, 0]
                        trade_size[trades] = fent[k, 1]
                        trade_ts[trades] = head[H_TS]
                        trades += 1
        if reason != R_DONE:
            result[RES_STOP] = msg
            result[RES_REASON] = reason
            result[RES_TRADES] = trades
            return msg
        if seq[1]:
            seq[0] = seq_num + 1
        counters[MESSAGES] += 1
        out_status[msg] = outcome
        out_slot[msg] = slot
        out_ts[msg] = head[H_TS]
        if slot >= 0 and kind[slot] == KIND_GRID:
            row = meta[slot]
            for t in range(2):
                best = row[3 * t + 2]
                if best == NO_BEST:
                    out_bbo_tick[msg, t] = NO_TICK
                    out_bbo_size[msg, t] = np.nan
                else:
                    out_bbo_tick[msg, t] = -best if t == 0 else best
                    out_bbo_size[msg, t] = grids[slot][t, best - row[3 * t]]
                if out_depth_tick.shape[2]:
                    _depth(grids[slot][t], row[3 * t], row[3 * t + 1], best, t,
                           out_depth_tick[msg, t], out_depth_size[msg, t])  # fmt: skip
    result[RES_STOP] = last
    result[RES_REASON] = R_DONE
    result[RES_TRADES] = trades
    return last
