"""Order-rate throttles: token buckets on the injected event time, per strategy or global.

A bucket holds at most ``burst`` tokens and gains one every ``1 / rate_per_second`` seconds
of event time; each approved order takes one. Arithmetic is in integer nanoseconds, so over
any window of ``W`` ns a bucket never grants more than ``burst + floor(W / interval_ns)``.
Event time that goes backwards refills nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from emp.domain.clock_time import NS_PER_SECOND
from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.rule import RiskCheckInput, check_positive

#: ``ready_ns`` of a bucket holding a whole token: before any event time.
_ALWAYS = -(2**63)


class TokenBucket:
    """``burst`` tokens, one more every ``interval_ns`` (``ceil(1e9 / rate_per_second)``)."""

    __slots__ = ("_capacity", "_interval_ns", "_last_ns", "_level", "ready_ns")

    def __init__(self, *, rate_per_second: float, burst: int) -> None:
        check_positive("rate_per_second", rate_per_second)
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise InvalidConfiguration(f"burst must be an integer >= 1, was {burst!r}")
        self._interval_ns = math.ceil(NS_PER_SECOND / rate_per_second)
        self._capacity = burst * self._interval_ns
        self._level = self._capacity
        self._last_ns: int | None = None
        #: The earliest event time with a whole token (integer arithmetic, exact).
        self.ready_ns = _ALWAYS

    @property
    def interval_ns(self) -> int:
        return self._interval_ns

    def _level_at(self, ts_ns: int) -> int:
        last = self._last_ns
        if last is None or ts_ns <= last:
            return self._level
        level = self._level + (ts_ns - last)
        return level if level < self._capacity else self._capacity

    def available(self, ts_ns: int) -> int:
        """Whole tokens at ``ts_ns`` (changes nothing)."""
        last = self._last_ns
        level = self._level
        if last is not None and ts_ns > last:
            level = min(self._capacity, level + (ts_ns - last))
        return level // self._interval_ns

    def try_take(self, ts_ns: int) -> bool:
        """Take one token at ``ts_ns`` if there is one."""
        last, level, interval = self._last_ns, self._level, self._interval_ns
        if last is None or ts_ns > last:
            if last is not None:
                level += ts_ns - last
                if level > self._capacity:
                    level = self._capacity
            self._last_ns = last = ts_ns
        taken = level >= interval
        if taken:
            level -= interval
        self._level = level
        # level grows by one per ns after the last take (capped, and cap >= one token)
        self.ready_ns = _ALWAYS if level >= interval else last + (interval - level)
        return taken


@dataclass(slots=True)
class OrderRateThrottle:
    """At most ``rate_per_second`` orders a second, bursts of ``burst``, per ``scope``.

    ``scope="strategy"`` keeps one bucket per ``RiskCheckInput.strategy``;
    ``scope="global"`` one for the account. A token is taken only when the order is
    finally approved (``on_approved``), so refused orders do not use up the rate.
    """

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    rate_per_second: float
    burst: int
    scope: str = "strategy"
    name: str = ""
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, init=False, repr=False)
    _per_strategy: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.scope not in ("strategy", "global"):
            raise InvalidConfiguration(
                f"throttle scope must be 'strategy' or 'global', was {self.scope!r}"
            )
        TokenBucket(rate_per_second=self.rate_per_second, burst=self.burst)  # validates
        if not self.name:
            self.name = f"{self.scope}_order_rate"
        self._per_strategy = self.scope == "strategy"

    def _bucket(self, data: RiskCheckInput) -> TokenBucket:
        key = data.strategy if self._per_strategy else ""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate_per_second=self.rate_per_second, burst=self.burst)
            self._buckets[key] = bucket
        return bucket

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        bucket = self._buckets.get(data.strategy if self._per_strategy else "")
        if bucket is None:
            return None  # a bucket not yet made is full
        if data.ts_ns >= bucket.ready_ns:  # at least one whole token
            return None
        who = f"strategy {data.strategy!r}" if self.scope == "strategy" else "the account"
        return f"{self.name}: {who} exceeded {self.rate_per_second:g} orders/s (burst {self.burst})"

    def on_approved(self, data: RiskCheckInput) -> None:
        bucket = self._buckets.get(data.strategy if self._per_strategy else "")
        if bucket is None:
            bucket = self._bucket(data)
        # TokenBucket.try_take, written out: it runs for every approved order
        ts, last, level = data.ts_ns, bucket._last_ns, bucket._level
        interval = bucket._interval_ns
        if last is None or ts > last:
            if last is not None:
                level += ts - last
                if level > bucket._capacity:
                    level = bucket._capacity
            bucket._last_ns = last = ts
        if level >= interval:
            level -= interval
        bucket._level = level
        bucket.ready_ns = _ALWAYS if level >= interval else last + (interval - level)
