"""Many raw messages at once: CheckSums verified with numpy, then the dedicated decoder.

Summing a message's bytes in Python is the largest single cost of decoding a small 35=X.
A replay has thousands of messages in hand, so their CheckSums are checked together: one
``cumsum`` over the concatenated bytes gives every message's sum by two subtractions.
Messages that pass are decoded without re-summing; any that fail (or whose trailer is not
the standard ``10=nnn<SOH>``) are decoded with the full check, which names the error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emp.adapters.fix_codec.md_session import decode_market_data
from emp.domain.market_data import MarketDataMessage

_TRAILER = 7  # len(b"10=nnn\x01")


def checksums_ok(raws: Sequence[bytes]) -> list[bool]:
    """Per message: ends in a well-formed ``<SOH>10=nnn<SOH>`` whose nnn matches its bytes."""
    if not raws:
        return []
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    data = np.frombuffer(b"".join(raws), dtype=np.uint8)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    long_enough = lengths > _TRAILER
    at = np.where(long_enough, ends, starts + _TRAILER + 1)  # keep indices in range
    sums = np.concatenate([[0], np.cumsum(data, dtype=np.int64)])
    body_sum = (sums[at - _TRAILER] - sums[starts]) % 256
    digits = np.stack([data[at - 4], data[at - 3], data[at - 2]]).astype(np.int64) - 48
    declared = digits[0] * 100 + digits[1] * 10 + digits[2]
    framed = (
        long_enough
        & (data[at - 8] == 1)
        & (data[at - 7] == ord("1"))
        & (data[at - 6] == ord("0"))
        & (data[at - 5] == ord("="))
        & (data[at - 1] == 1)
        & np.all((digits >= 0) & (digits <= 9), axis=0)
    )
    return (framed & (body_sum == declared)).tolist()


def decode_market_data_batch(raws: Sequence[bytes]) -> list[MarketDataMessage]:
    """:func:`decode_market_data` of each message, CheckSums verified in one numpy pass."""
    ok = checksums_ok(raws)
    return [
        decode_market_data(raw, verify_checksum=not good)
        for raw, good in zip(raws, ok, strict=True)
    ]
