"""Conversions between EMP's UTC-nanosecond timestamps and ISO text (pure, no clock reads)."""

from __future__ import annotations

from datetime import UTC, datetime

NS_PER_SECOND = 1_000_000_000


def ns_to_datetime(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / NS_PER_SECOND, tz=UTC)


def datetime_to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: EMP timestamps are UTC; attach tzinfo")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1_000


def ns_to_iso(ts_ns: int) -> str:
    return ns_to_datetime(ts_ns).strftime("%Y-%m-%dT%H:%M:%SZ")
