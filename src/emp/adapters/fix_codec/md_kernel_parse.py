"""Compiled (numba) framing and validation of 35=W / 35=X: the kernel's decoding half.

:func:`decode_message` checks one message *in the order and by the rules of*
:func:`~emp.adapters.fix_codec.md_decode.decode_md` and writes its entries into scratch
arrays (no object per field or entry). Its verdict is one of:

* :data:`OK` — the message is valid and in the kernel's canonical subset;
* :data:`ERROR` — ``decode_md`` would raise :class:`MdDecodeError` naming ``tag``
  (``NO_TAG`` for "no tag could be named"); ``offset`` is the byte offset of the
  offending field (or of the framing error) in the message;
* :data:`OTHER` — framing is fine but MsgType is not W/X (``decode_md`` raises with tag
  35; a stream passes such a message on as ``MdOtherMessage``);
* :data:`HANDBACK` — legal FIX the kernel leaves to Python: a value holding ``=``, a tag
  with a leading zero, numbers beyond the exact fast path (more than 2**53 or 22
  decimals), MDEntryID (278), MDPriceLevel (1023), actions 3/4, several symbols in one
  35=X, or a symbol inside a 35=W entry.

Whenever the kernel does not answer OK the caller re-decodes the bytes with the Python
decoder, so the error raised (and its text) is always the Python decoder's; the kernel's
tag is checked against it in the tests. Imported lazily: importing numba costs time.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK, ERROR, HANDBACK, OTHER = 0, 1, 2, 3
NO_TAG = -1
# Columns of the integer entry scratch (one row per entry): field index of a tag or -1,
# then the decoded action, type, RptSeq.
C279, C269, C55, C270, C271, C278, C83, C1023, ACTION, TYPE, RPT = range(11)
ENTRY_COLUMNS = 11
# Header results.
H_TYPE, H_SEQ, H_TS, H_COUNT, H_SYM_START, H_SYM_END, H_RPT, H_HAS_RPT = range(8)
HEADER_SIZE = 8
_ENTRY_TAGS = (279, 269, 55, 270, 271, 278, 83, 1023)
_HEAD = np.frombuffer(b"8=FIX.4.4\x019=", dtype=np.uint8).copy()
_POW10 = np.array([10.0**i for i in range(23)])
_MAX_EXACT = 2**53


@njit(cache=True)
def _uint(data, a, b):
    """ASCII digits → value; -1 when empty or not all digits; -2 when beyond int64 range."""
    if a >= b:
        return -1
    value = 0
    big = False
    for p in range(a, b):
        c = data[p]
        if c < 48 or c > 57:
            return -1
        if value > 100_000_000_000_000_000:
            big = True
        else:
            value = value * 10 + (c - 48)
    return -2 if big else value


@njit(cache=True)
def _decimal(data, a, b):
    """(status, value) of a decimal as ``decode_md`` accepts it: ``-?(\\d+\\.?\\d*|\\.\\d+)``.

    status OK (exact, correctly rounded), ERROR (not such a decimal), HANDBACK (legal but
    beyond the exact fast path: mantissa above 2**53 or more than 22 decimals).
    """
    p = a
    negative = False
    if p < b and data[p] == 45:
        negative = True
        p += 1
    mantissa = 0
    digits = 0
    decimals = 0
    point = False
    inexact = False
    while p < b:
        c = data[p]
        if c == 46:
            if point:
                return ERROR, 0.0
            point = True
        elif 48 <= c <= 57:
            digits += 1
            if point:
                decimals += 1
            if mantissa > _MAX_EXACT // 10:
                inexact = True
            else:
                mantissa = mantissa * 10 + (c - 48)
        else:
            return ERROR, 0.0
        p += 1
    if digits == 0:
        return ERROR, 0.0
    if inexact or mantissa > _MAX_EXACT or decimals > 22:
        return HANDBACK, 0.0
    value = float(mantissa) / _POW10[decimals]
    return OK, -value if negative else value


@njit(cache=True)
def _two(data, p):
    return (data[p] - 48) * 10 + (data[p + 1] - 48)


@njit(cache=True)
def _timestamp(data, a, b):
    """SendingTime (52) → UTC ns; -1 where ``decode_md`` refuses it, -2 beyond int64 ns."""
    if b - a < 17:
        return -1
    for p in range(a, a + 17):
        c = data[p]
        k = p - a
        if k == 8:
            if c != 45:
                return -1
        elif k == 11 or k == 14:
            if c != 58:
                return -1
        elif c < 48 or c > 57:
            return -1
    year = _two(data, a) * 100 + _two(data, a + 2)
    month, day = _two(data, a + 4), _two(data, a + 6)
    hour, minute, second = _two(data, a + 9), _two(data, a + 12), _two(data, a + 15)
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    if year < 1 or month < 1 or month > 12 or hour > 23 or minute > 59 or second > 59:
        return -1
    days_in = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if day < 1 or day > days_in[month - 1]:
        return -1
    fraction = 0
    width = b - a - 17
    if width:
        if data[a + 17] != 46 or not (width == 4 or width == 7 or width == 10):
            return -1
        fraction = _uint(data, a + 18, b)
        if fraction < 0:
            return -1
        for _ in range(10 - width):
            fraction *= 10
    if year < 1678 or year > 2261:
        return -2  # valid, but beyond int64 nanoseconds: Python's ints take it
    y = year - 1 if month <= 2 else year
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return (
        ((days * 24 + hour) * 60 + minute) * 60 * 1_000_000_000
        + second * 1_000_000_000
        + (fraction)
    )


@njit(cache=True)
def _frame(data, s, e):
    """Framing checks of ``_frame``: (status, tag, offset, body start, body end)."""
    n = e - s
    if n < 12:
        ok = False
    else:
        ok = True
        for k in range(12):
            if data[s + k] != _HEAD[k]:
                ok = False
                break
    if not ok:
        if n >= 2 and data[s] == 56 and data[s + 1] == 61:
            return ERROR, 8, 0, 0, 0
        return ERROR, NO_TAG, 0, 0, 0
    if data[e - 1] != 1:
        return ERROR, NO_TAG, n - 1, 0, 0
    end9 = s + 12
    while data[end9] != 1:
        end9 += 1
    trailer = -1
    p = e - 4
    while p >= s:
        if data[p] == 1 and data[p + 1] == 49 and data[p + 2] == 48 and data[p + 3] == 61:
            trailer = p
            break
        p -= 1
    if trailer < end9:
        return ERROR, 10, n - 1, 0, 0
    length = _uint(data, s + 12, end9)
    if length == -1 or length != trailer - end9:
        return ERROR, 9, 12, 0, 0
    if e - 1 - (trailer + 4) != 3 or _uint(data, trailer + 4, e - 1) < 0:
        return ERROR, 10, trailer + 1 - s, 0, 0
    total = 0
    for p in range(s, trailer + 1):
        total += data[p]
    if total % 256 != _uint(data, trailer + 4, e - 1):
        return ERROR, 10, trailer + 1 - s, 0, 0
    return OK, 0, 0, end9 + 1, trailer + 1


@njit(cache=True)
def _fields(data, b0, b1, s, ftag, vstart, vend):
    """Split the body into tag numbers and value bounds: (status, tag, offset, count)."""
    nf = 0
    p = b0
    garbled = -1
    unusual = False
    empty = -1
    while p < b1:
        q = p
        eq = -1
        equals = 0
        while data[q] != 1:
            if data[q] == 61:
                equals += 1
                if eq < 0:
                    eq = q
            q += 1
        if equals != 1:
            return HANDBACK, NO_TAG, p - s, 0
        tag = _uint(data, p, eq)
        if tag < 0:
            if garbled < 0:
                garbled = p - s
        elif data[p] == 48 or eq - p > 9:
            unusual = True
        if eq + 1 == q and empty < 0:
            empty = nf
        ftag[nf] = tag
        vstart[nf] = eq + 1
        vend[nf] = q
        nf += 1
        p = q + 1
    if garbled >= 0:
        return ERROR, NO_TAG, garbled, nf
    if unusual:
        return HANDBACK, NO_TAG, 0, nf
    if empty >= 0:
        return ERROR, ftag[empty], vstart[empty] - s, nf
    return OK, 0, 0, nf


@njit(cache=True)
def _same(data, a0, a1, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):  # noqa: SIM110 - a loop numba compiles
        if data[a0 + k] != data[b0 + k]:
            return False
    return True


@njit(cache=True)
def decode_message(data, s, e, ftag, vstart, vend, ient, fent, head):
    """Validate message ``data[s:e]`` and decode it into the scratch arrays.

    Returns (status, tag, offset, entry count). ``ient`` rows: see the ``C*`` columns;
    ``fent`` rows: price, size; ``head``: the ``H_*`` values.
    """
    status, tag, offset, b0, b1 = _frame(data, s, e)
    if status != OK:
        return status, tag, offset, 0
    status, tag, offset, nf = _fields(data, b0, b1, s, ftag, vstart, vend)
    if status != OK:
        return status, tag, offset, 0
    if nf == 0 or ftag[0] != 35:
        return ERROR, 35, b0 - s, 0
    kind = data[vstart[0]] if vend[0] - vstart[0] == 1 else 0
    if kind != 87 and kind != 88:
        return OTHER, 35, vstart[0] - s, 0
    snapshot = kind == 87
    head[H_TYPE] = 0 if snapshot else 1
    g = -1
    for i in range(1, nf):
        if ftag[i] == 268:
            g = i
            break
    if g < 0:
        return ERROR, 268, b1 - s, 0
    i34 = i49 = i52 = i55 = i56 = i83 = -1
    for i in range(1, g):
        t = ftag[i]
        for j in range(1, i):
            if ftag[j] == t:
                return ERROR, t, vstart[i] - s, 0
        if t == 34:
            i34 = i
        elif t == 49:
            i49 = i
        elif t == 52:
            i52 = i
        elif t == 55:
            i55 = i
        elif t == 56:
            i56 = i
        elif t == 83:
            i83 = i
    if i49 < 0:
        return ERROR, 49, b0 - s, 0
    if i56 < 0:
        return ERROR, 56, b0 - s, 0
    if i34 < 0:
        return ERROR, 34, b0 - s, 0
    if i52 < 0:
        return ERROR, 52, b0 - s, 0
    seq = _uint(data, vstart[i34], vend[i34])
    if seq == -2:
        return HANDBACK, 34, vstart[i34] - s, 0
    if seq < 1:
        return ERROR, 34, vstart[i34] - s, 0
    ts = _timestamp(data, vstart[i52], vend[i52])
    if ts < 0:
        return ERROR if ts == -1 else HANDBACK, 52, vstart[i52] - s, 0
    count = _uint(data, vstart[g], vend[g])
    if count == -1:
        return ERROR, 268, vstart[g] - s, 0
    if count == -2 or count > ient.shape[0]:
        return HANDBACK, 268, vstart[g] - s, 0
    head[H_SEQ] = seq
    head[H_TS] = ts
    head[H_COUNT] = count
    m = nf - g - 1
    delimiter = 269 if snapshot else 279
    if count == 0 or m == 0:
        if count != 0 or m != 0:
            return ERROR, 268, vstart[g] - s, 0
    else:
        if ftag[g + 1] != delimiter:
            return ERROR, delimiter, vstart[g + 1] - s, 0
        starts = 0
        for i in range(g + 1, nf):
            if ftag[i] == delimiter:
                starts += 1
        if starts != count:
            return ERROR, 268, vstart[g] - s, 0
        k = -1
        first = 0
        for i in range(g + 1, nf):
            t = ftag[i]
            if t == delimiter:
                k += 1
                first = i
                for c in range(8):
                    ient[k, c] = -1
            for j in range(first, i):
                if ftag[j] == t:
                    return ERROR, t, vstart[i] - s, 0
            for c in range(8):
                if t == _ENTRY_TAGS[c]:
                    ient[k, c] = i
    if snapshot and i55 < 0:
        return ERROR, 55, b0 - s, 0
    return _entries(data, s, count, snapshot, i55, i83, vstart, vend, ient, fent, head)


@njit(cache=True)
def _entries(data, s, count, snapshot, i55, i83, vstart, vend, ient, fent, head):
    """The entry checks of ``decode_md._entries``, in its order."""
    for k in range(count):
        if snapshot:
            ient[k, ACTION] = 0
        else:
            f = ient[k, C279]
            if vend[f] - vstart[f] != 1 or not 48 <= data[vstart[f]] <= 52:
                return ERROR, 279, vstart[f] - s, 0
            ient[k, ACTION] = data[vstart[f]] - 48
    for k in range(count):
        if ient[k, C269] < 0:
            return ERROR, 269, 0, 0
    for k in range(count):
        f = ient[k, C269]
        if vend[f] - vstart[f] != 1 or not 48 <= data[vstart[f]] <= 50:
            return ERROR, 269, vstart[f] - s, 0
        ient[k, TYPE] = data[vstart[f]] - 48
    symbol = i55
    many = False
    for k in range(count):
        f = ient[k, C55]
        if f >= 0:
            if snapshot or (
                symbol >= 0 and not _same(data, vstart[f], vend[f], vstart[symbol], vend[symbol])
            ):
                many = True
            symbol = f
        elif k == 0 and symbol < 0:
            return ERROR, 55, 0, 0
    if count:
        head[H_SYM_START] = vstart[symbol]
        head[H_SYM_END] = vend[symbol]
    elif i55 >= 0:
        head[H_SYM_START] = vstart[i55]
        head[H_SYM_END] = vend[i55]
    if many:
        return HANDBACK, 55, 0, count
    for k in range(count):
        if ient[k, C278] >= 0:
            return HANDBACK, 278, 0, count
    for column, target, tag in ((C270, 0, 270), (C271, 1, 271)):
        for k in range(count):
            f = ient[k, column]
            fent[k, target] = 0.0
            if f >= 0:
                status, value = _decimal(data, vstart[f], vend[f])
                if status != OK:
                    return status, tag, vstart[f] - s, count
                fent[k, target] = value
    for k in range(count):
        action = ient[k, ACTION]
        if action <= 2 and ient[k, C270] < 0:
            return ERROR, 270, 0, count
        if (action <= 1 or snapshot) and ient[k, C271] < 0:
            return ERROR, 271, 0, count
    for k in range(count):
        if fent[k, 1] < 0:
            return ERROR, 271, vstart[ient[k, C271]] - s, count
    for k in range(count):
        f = ient[k, C83]
        ient[k, RPT] = 0
        if f >= 0:
            rpt = _uint(data, vstart[f], vend[f])
            if rpt < 0:
                return ERROR if rpt == -1 else HANDBACK, 83, vstart[f] - s, count
            ient[k, RPT] = rpt
    unusual = False
    for k in range(count):
        f = ient[k, C1023]
        if f >= 0:
            if _uint(data, vstart[f], vend[f]) == -1:
                return ERROR, 1023, vstart[f] - s, count
            unusual = True
        if ient[k, ACTION] > 2:
            unusual = True
    head[H_HAS_RPT] = 0
    if snapshot and i83 >= 0:
        rpt = _uint(data, vstart[i83], vend[i83])
        if rpt < 0:
            return ERROR if rpt == -1 else HANDBACK, 83, vstart[i83] - s, count
        head[H_RPT] = rpt
        head[H_HAS_RPT] = 1
    if unusual:
        return HANDBACK, 1023, 0, count
    return OK, 0, 0, count
