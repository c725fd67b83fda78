"""FIX field values: exact decimal text for floats, UTCTimestamp for nanosecond times.

Floats are written as the shortest decimal that reads back to the very same double
(Python's ``repr``), in plain positional notation because FIX forbids exponents: 0.1 is
``0.1``, 1e-05 is ``0.00001``, 100.0 is ``100``. Reading that text with ``float`` gives the
original bits back, so prices, quantities and fees survive a FIX hop bit for bit.

Timestamps are FIX 4.4 UTCTimestamps with millisecond precision
(``YYYYMMDD-HH:MM:SS.sss``). EMP's nanosecond times are truncated (floored) to the
millisecond on the way out, so a decoded ``ts_ns`` equals ``ts_ns // 1_000_000 * 1_000_000``
of the original. Inbound, whole seconds and 3, 6 or 9 fraction digits are accepted.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from emp.adapters.fix_codec.errors import FixDecodeError, FixEncodeError
from emp.adapters.fix_codec.tags import SessionRejectReason

NS_PER_MS = 1_000_000
_NS_PER_SECOND = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"-?\d+")
_UTC_TIMESTAMP = re.compile(
    r"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}|\d{6}|\d{9}))?"
)

_BAD_FORMAT = SessionRejectReason.INCORRECT_DATA_FORMAT

# Timestamps of one session share their second: its text is converted once. Small,
# bounded caches (cleared when full), filled by whichever thread converts; a race only
# converts a second twice.
_CACHE_SIZE = 4096
_SECOND_TEXT: dict[int, str] = {}  # epoch second -> "YYYYMMDD-HH:MM:SS."
_TEXT_SECOND: dict[str, int] = {}  # "YYYYMMDD-HH:MM:SS" -> epoch second
_FLOAT_TEXT: dict[float, str] = {}  # non-zero finite float -> its FIX text
_TEXT_FLOAT: dict[str, float] = {}  # FIX decimal text -> its float
#: A timestamp's length -> nanoseconds per unit of its fraction (ms, µs or ns).
_FRACTION_SCALE = {21: 1_000_000, 24: 1_000, 27: 1}


def _remember(cache: dict, key: object, value: object) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


# ------------------------------------------------------------------------------ encoding
def format_float(tag: int, value: float) -> str:
    """The shortest exact positional decimal for ``value`` (``100.0`` → ``"100"``).

    Prices and quantities repeat (a report says its order's quantity, price and average
    again and again), so the text of a non-zero float is kept in a small cache."""
    is_float = type(value) is float
    if is_float:
        text = _FLOAT_TEXT.get(value)
        if text is not None:
            return text
        if value == 0.0:  # not cached: -0.0 equals it and writes "-0"
            return "-0" if math.copysign(1.0, value) < 0 else "0"
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise FixEncodeError(tag, f"expected a finite number, was {value!r}")
    text = repr(float(value))
    if "e" in text:  # rare: very small or large values; Decimal writes them positionally
        text = format(Decimal(text), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if is_float:  # finite and non-zero here
        _remember(_FLOAT_TEXT, value, text)
    return text


def format_int(tag: int, value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FixEncodeError(tag, f"expected an integer, was {value!r}")
    return str(value)


def format_text(tag: int, value: str) -> str:
    """A string field: FIX forbids empty values and the SOH delimiter inside one."""
    if not isinstance(value, str) or not value:
        raise FixEncodeError(tag, f"expected a non-empty string, was {value!r}")
    if "\x01" in value:
        raise FixEncodeError(tag, f"a value may not contain the SOH delimiter, was {value!r}")
    return value


def format_utc_timestamp(tag: int, ts_ns: int) -> str:
    """``YYYYMMDD-HH:MM:SS.sss`` for UTC nanoseconds since the epoch, truncated to the ms."""
    if isinstance(ts_ns, bool) or not isinstance(ts_ns, int):
        raise FixEncodeError(tag, f"expected integer nanoseconds, was {ts_ns!r}")
    seconds, ms = divmod(ts_ns // NS_PER_MS, 1000)
    prefix = _SECOND_TEXT.get(seconds)
    if prefix is None:
        try:
            moment = _EPOCH + timedelta(seconds=seconds)
        except OverflowError as e:
            raise FixEncodeError(tag, f"timestamp {ts_ns} ns is outside years 1..9999") from e
        prefix = (
            f"{moment.year:04d}{moment.month:02d}{moment.day:02d}-"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}."
        )
        _remember(_SECOND_TEXT, seconds, prefix)
    return f"{prefix}{ms:03d}"


# ------------------------------------------------------------------------------ decoding
def parse_float(tag: int, text: str) -> float:
    value = _TEXT_FLOAT.get(text)
    if value is not None:
        return value
    value = _parse_float(tag, text)
    _remember(_TEXT_FLOAT, text, value)
    return value


def _parse_float(tag: int, text: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise FixDecodeError(
            tag, f"expected a decimal number, was {text!r}", session_reject_reason=_BAD_FORMAT
        )
    value = float(text)
    if not math.isfinite(value):
        raise FixDecodeError(
            tag, f"expected a finite number, was {text!r}", session_reject_reason=_BAD_FORMAT
        )
    return value


def parse_int(tag: int, text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise FixDecodeError(
            tag, f"expected an integer, was {text!r}", session_reject_reason=_BAD_FORMAT
        )
    return int(text)


def parse_utc_timestamp(tag: int, text: str) -> int:
    """UTC nanoseconds since the epoch from a FIX UTCTimestamp."""
    seconds = _TEXT_SECOND.get(text[:17])
    if seconds is not None:
        scale = _FRACTION_SCALE.get(len(text))  # 3, 6 or 9 digits after the point
        if scale is not None and text[17] == "." and (digits := text[18:]).isdecimal():
            return seconds * _NS_PER_SECOND + int(digits) * scale
        if len(text) == 17:
            return seconds * _NS_PER_SECOND
    match = _UTC_TIMESTAMP.fullmatch(text)
    if match is None:
        raise FixDecodeError(
            tag,
            f"expected a UTCTimestamp YYYYMMDD-HH:MM:SS.sss, was {text!r}",
            session_reject_reason=_BAD_FORMAT,
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7) or ""
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as e:
        raise FixDecodeError(
            tag, f"not a valid calendar time: {text!r} ({e})", session_reject_reason=_BAD_FORMAT
        ) from e
    delta = moment - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    _remember(_TEXT_SECOND, text[:17], seconds)
    fraction_ns = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds * _NS_PER_SECOND + fraction_ns
