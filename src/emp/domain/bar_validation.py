"""Row-level validation of raw bars: good rows land, bad rows are quarantined with reasons.

:func:`validate_raw_bars` splits the rows of one symbol, as a source delivered them
(:class:`RawBars`), into a clean :class:`~emp.domain.bars.BarSeries` and a tuple of
:class:`QuarantinedBar` naming every rule each bad row broke. Nothing is silently dropped
or fixed: every input row is either good, unchanged, or quarantined, unchanged, and
``len(good) + len(quarantined) == rows_in`` always holds. Rows are never sorted, merged,
filled or rounded.

The rules, each a :class:`QuarantineReason`:

- value rules, row by row: a NaN or infinite value; a price <= 0; a negative volume;
  high < low; open or close outside [low, high]; zero volume on a session (when the
  instrument trades volume, :attr:`ValidationRules.require_volume`); a bar dated on a day
  that is not a session of the calendar.
- order rules, over the rows that passed the value rules, in input order: a row whose
  timestamp equals an earlier row's is a duplicate (the first one wins); a row earlier
  than a row before it is out of order (the earlier arrival wins).
- jump rules, over the rows left, each close against the previous row's close: a move
  explained by a split or dividend the source reported is expected in a *raw* series but
  means the adjustment is missing in an *adjusted* one (``unadjusted_split``,
  ``unadjusted_dividend``); a move beyond :attr:`ValidationRules.max_move` with no such
  explanation is a ``price_jump`` (typically a split the source did not adjust). Only the
  row where the level jumps is flagged; later rows are compared with their own
  predecessor. Ordinary dividends (a percent or two) cannot be told from price noise on
  prices alone and are not checked unless the source reports them.

Missing sessions (calendar sessions between the first and last good row on which the
source delivered no row at all) are not rows, so they cannot be quarantined: they are
reported in :attr:`ValidationResult.missing_sessions`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from emp.domain.bars import BAR_COLUMNS, BarSeries
from emp.domain.calendars import SessionCalendar
from emp.domain.errors import InvalidBars, InvalidConfiguration

_NS_PER_DAY = 86_400_000_000_000


class QuarantineReason(StrEnum):
    """Why a row was quarantined (the code stored with it)."""

    MISSING_VALUE = "missing_value"
    NON_POSITIVE_PRICE = "non_positive_price"
    NEGATIVE_VOLUME = "negative_volume"
    HIGH_BELOW_LOW = "high_below_low"
    OPEN_OUTSIDE_RANGE = "open_outside_range"
    CLOSE_OUTSIDE_RANGE = "close_outside_range"
    ZERO_VOLUME = "zero_volume"
    NOT_A_SESSION = "not_a_session"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"
    PRICE_JUMP = "price_jump"
    UNADJUSTED_SPLIT = "unadjusted_split"
    UNADJUSTED_DIVIDEND = "unadjusted_dividend"


@dataclass(frozen=True, slots=True, eq=False)
class RawBars:
    """One symbol's rows exactly as a source delivered them, not validated.

    ``ts_ns`` is UTC nanoseconds (int64), prices and volume float64 (NaN where the source
    had no value). Optional columns: ``session_day`` (``datetime64[D]``, the exchange
    session date of each row; default: the UTC date of ``ts_ns``, EMP's convention for
    daily bars), ``split_ratio`` (new shares per old share on the row's date, 1 where
    none) and ``dividend`` (cash per share going ex on the row's date, 0 where none).
    Build with :meth:`from_arrays`, which coerces dtypes and checks the lengths agree.
    """

    symbol: str
    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    session_day: np.ndarray | None = None
    split_ratio: np.ndarray | None = None
    dividend: np.ndarray | None = None

    @classmethod
    def from_arrays(
        cls,
        symbol: str,
        ts_ns: Iterable[int] | np.ndarray,
        open: Iterable[float] | np.ndarray,
        high: Iterable[float] | np.ndarray,
        low: Iterable[float] | np.ndarray,
        close: Iterable[float] | np.ndarray,
        volume: Iterable[float] | np.ndarray,
        *,
        session_day: Iterable[object] | np.ndarray | None = None,
        split_ratio: Iterable[float] | np.ndarray | None = None,
        dividend: Iterable[float] | np.ndarray | None = None,
    ) -> RawBars:
        if not symbol:
            raise InvalidBars("raw bars need a non-empty symbol")
        try:
            ts = np.asarray(ts_ns, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as error:
            raise InvalidBars(f"{symbol}: timestamps are not integers: {error}") from None
        raw = cls(
            symbol=symbol,
            ts_ns=ts,
            open=np.asarray(open, dtype=np.float64),
            high=np.asarray(high, dtype=np.float64),
            low=np.asarray(low, dtype=np.float64),
            close=np.asarray(close, dtype=np.float64),
            volume=np.asarray(volume, dtype=np.float64),
            session_day=None if session_day is None else np.asarray(session_day, "datetime64[D]"),
            split_ratio=None if split_ratio is None else np.asarray(split_ratio, np.float64),
            dividend=None if dividend is None else np.asarray(dividend, np.float64),
        )
        n = ts.shape[0]
        for name in ("ts_ns", *BAR_COLUMNS, "session_day", "split_ratio", "dividend"):
            column = getattr(raw, name)
            if column is not None and (column.ndim != 1 or column.shape[0] != n):
                raise InvalidBars(
                    f"{symbol}: column {name!r} has shape {column.shape}, expected ({n},)"
                )
        return raw

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def days(self) -> np.ndarray:
        """The session date of every row (``session_day`` or the UTC date of ``ts_ns``)."""
        if self.session_day is not None:
            return self.session_day
        return (self.ts_ns // _NS_PER_DAY).astype("datetime64[D]")


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationRules:
    """What counts as a bad row.

    Attributes:
        calendar: the exchange's sessions; ``None`` skips the session rules (zero volume
            on a session, bar off-session, missing sessions).
        require_volume: the instrument trades volume, so zero volume on a session is
            suspect. Set ``False`` for FX rates, yields and macro series.
        max_move: the largest close-to-close move, as a fraction, that needs no
            explanation (``0.5``: up 50% or down 33%). Bigger moves are quarantined
            unless a reported split or dividend explains them.
        adjusted: the series claims to be split- and dividend-adjusted.
        action_tolerance: how closely, as a fraction, a move must match a reported
            split/dividend to count as explained by it.
    """

    calendar: SessionCalendar | None = None
    require_volume: bool = True
    max_move: float = 0.5
    adjusted: bool = True
    action_tolerance: float = 0.1

    def __post_init__(self) -> None:
        if not self.max_move > 0:
            raise InvalidConfiguration(f"max_move expected > 0, was {self.max_move}")
        if not 0 < self.action_tolerance < 1:
            raise InvalidConfiguration(
                f"action_tolerance expected in (0, 1), was {self.action_tolerance}"
            )


@dataclass(frozen=True, slots=True)
class QuarantinedBar:
    """One input row refused, unchanged, with every rule it broke.

    ``source_row`` is the row's 0-based position among this symbol's input rows;
    ``occurrence`` counts earlier input rows with the same timestamp (0 for the first),
    so ``(symbol, ts_ns, occurrence)`` identifies the row across re-ingests of a source.
    """

    symbol: str
    source_row: int
    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    reasons: tuple[QuarantineReason, ...]
    detail: str
    occurrence: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class ValidationResult:
    """The outcome of validating one symbol's rows."""

    symbol: str
    rows_in: int
    good: BarSeries | None
    quarantined: tuple[QuarantinedBar, ...]
    missing_sessions: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="datetime64[D]"))

    @property
    def good_rows(self) -> int:
        return 0 if self.good is None else len(self.good)

    def counts_by_reason(self) -> dict[str, int]:
        """How many quarantined rows broke each rule (a row may break several)."""
        counts: Counter[str] = Counter()
        for row in self.quarantined:
            counts.update(str(reason) for reason in row.reasons)
        return dict(sorted(counts.items()))


def _occurrences(ts: np.ndarray) -> np.ndarray:
    """For each row, how many earlier rows have the same timestamp."""
    n = ts.shape[0]
    order = np.argsort(ts, kind="stable")
    sorted_ts = ts[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = sorted_ts[1:] != sorted_ts[:-1]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    result = np.empty(n, dtype=np.int64)
    result[order] = np.arange(n) - group_start
    return result


def _value_rules(raw: RawBars, rules: ValidationRules, days: np.ndarray) -> list[np.ndarray]:
    """One boolean mask per reason (index = reason position in the returned order)."""
    o, h, lo, c, v = raw.open, raw.high, raw.low, raw.close, raw.volume
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
        finite &= np.isfinite(v)
        masks = {
            QuarantineReason.MISSING_VALUE: ~finite,
            QuarantineReason.NON_POSITIVE_PRICE: (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0),
            QuarantineReason.NEGATIVE_VOLUME: v < 0,
            QuarantineReason.HIGH_BELOW_LOW: h < lo,
            QuarantineReason.OPEN_OUTSIDE_RANGE: (o > h) | (o < lo),
            QuarantineReason.CLOSE_OUTSIDE_RANGE: (c > h) | (c < lo),
        }
    n = len(raw)
    if rules.calendar is not None:
        session = rules.calendar.is_session(days)
        masks[QuarantineReason.ZERO_VOLUME] = (
            (v == 0) & session if rules.require_volume else np.zeros(n, bool)
        )
        masks[QuarantineReason.NOT_A_SESSION] = ~session
    return [masks.get(reason, np.zeros(n, bool)) for reason in QuarantineReason]


def _order_rules(ts: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Duplicate and out-of-order masks over the candidate rows (others are False)."""
    n = ts.shape[0]
    duplicate = np.zeros(n, bool)
    out_of_order = np.zeros(n, bool)
    idx = np.flatnonzero(candidates)
    if idx.size == 0:
        return duplicate, out_of_order
    cts = ts[idx]
    _, first = np.unique(cts, return_index=True)
    is_dup = np.ones(idx.size, bool)
    is_dup[first] = False
    previous_max = np.empty(idx.size, dtype=np.int64)
    previous_max[0] = np.iinfo(np.int64).min
    previous_max[1:] = np.maximum.accumulate(cts)[:-1]
    duplicate[idx] = is_dup
    out_of_order[idx] = ~is_dup & (cts < previous_max)
    return duplicate, out_of_order


def _jump_rules(
    raw: RawBars, rules: ValidationRules, kept: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """price_jump, unadjusted_split, unadjusted_dividend masks and a detail per row."""
    n = len(raw)
    jump, split, dividend = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    details = [""] * n
    idx = np.flatnonzero(kept)
    if idx.size < 2:
        return jump, split, dividend, details
    cur, prev = idx[1:], idx[:-1]
    ratio = raw.close[cur] / raw.close[prev]
    ratios = np.ones(n) if raw.split_ratio is None else raw.split_ratio
    cash = np.zeros(n) if raw.dividend is None else raw.dividend
    s, d = ratios[cur], cash[cur]
    has_split = np.isfinite(s) & (s > 0) & (s != 1)
    has_dividend = np.isfinite(d) & (d > 0)
    expected = np.where(has_split, 1 / np.where(has_split, s, 1), 1.0)
    expected = expected * np.where(has_dividend, 1 - d / raw.close[prev], 1.0)
    tolerance = np.log1p(rules.action_tolerance)
    with np.errstate(invalid="ignore", divide="ignore"):
        explained = (has_split | has_dividend) & (np.abs(np.log(ratio / expected)) <= tolerance)
        visible_action = np.abs(np.log(expected)) > tolerance
    big = np.abs(np.log(ratio)) > np.log1p(rules.max_move)
    if rules.adjusted:
        missing = explained & visible_action
        split[cur] = missing & has_split
        dividend[cur] = missing & ~has_split
        jump[cur] = big & ~missing
    else:
        jump[cur] = big & ~explained
    for k in np.flatnonzero(jump[cur] | split[cur] | dividend[cur]):
        row, before = int(cur[k]), int(prev[k])
        text = (
            f"close {raw.close[row]:g} is {ratio[k] - 1:+.1%} from the previous close "
            f"{raw.close[before]:g} (row {before})"
        )
        if split[row] or dividend[row]:
            action = f"split ratio {s[k]:g}" if has_split[k] else f"dividend {d[k]:g}"
            text += f", matching the {action} the source reported: the series claims to be "
            text += "adjusted but this move was not adjusted away"
        else:
            text += f", beyond the {rules.max_move:.0%} allowed with no split or dividend "
            text += "reported to explain it (an unadjusted corporate action?)"
        details[row] = text
    return jump, split, dividend, details


_VALUE_WORDS: dict[QuarantineReason, str] = {
    QuarantineReason.MISSING_VALUE: "a price or the volume is NaN or infinite",
    QuarantineReason.NON_POSITIVE_PRICE: "a price is zero or negative",
    QuarantineReason.NEGATIVE_VOLUME: "volume is negative",
    QuarantineReason.HIGH_BELOW_LOW: "high is below low",
    QuarantineReason.OPEN_OUTSIDE_RANGE: "open is outside [low, high]",
    QuarantineReason.CLOSE_OUTSIDE_RANGE: "close is outside [low, high]",
    QuarantineReason.ZERO_VOLUME: "volume is zero on a trading session",
    QuarantineReason.NOT_A_SESSION: "the date is not a session of the calendar",
    QuarantineReason.DUPLICATE: "the timestamp repeats an earlier row's",
    QuarantineReason.OUT_OF_ORDER: "the timestamp is earlier than a previous row's",
}


def validate_raw_bars(raw: RawBars, rules: ValidationRules | None = None) -> ValidationResult:
    """Split ``raw`` into good rows and quarantined rows (see the module docstring)."""
    rules = rules or ValidationRules()
    n = len(raw)
    days = raw.days()
    masks = _value_rules(raw, rules, days)
    value_bad = np.logical_or.reduce(masks) if n else np.zeros(0, bool)
    reasons = list(QuarantineReason)
    duplicate, out_of_order = _order_rules(raw.ts_ns, ~value_bad)
    masks[reasons.index(QuarantineReason.DUPLICATE)] = duplicate
    masks[reasons.index(QuarantineReason.OUT_OF_ORDER)] = out_of_order
    kept = ~value_bad & ~duplicate & ~out_of_order
    jump, split, dividend, jump_details = _jump_rules(raw, rules, kept)
    masks[reasons.index(QuarantineReason.PRICE_JUMP)] = jump
    masks[reasons.index(QuarantineReason.UNADJUSTED_SPLIT)] = split
    masks[reasons.index(QuarantineReason.UNADJUSTED_DIVIDEND)] = dividend
    stacked = np.vstack(masks) if n else np.zeros((len(reasons), 0), bool)
    bad = stacked.any(axis=0)
    good_idx = np.flatnonzero(~bad)
    good = None
    if good_idx.size:
        good = BarSeries.from_arrays(
            raw.symbol,
            raw.ts_ns[good_idx],
            *(getattr(raw, name)[good_idx] for name in BAR_COLUMNS),
        )
    occurrence = _occurrences(raw.ts_ns) if n else np.zeros(0, np.int64)
    quarantined = []
    for row in np.flatnonzero(bad):
        broken = tuple(reason for k, reason in enumerate(reasons) if stacked[k, row])
        words = [_VALUE_WORDS[r] for r in broken if r in _VALUE_WORDS]
        if jump_details[row]:
            words.append(jump_details[row])
        quarantined.append(
            QuarantinedBar(
                symbol=raw.symbol,
                source_row=int(row),
                ts_ns=int(raw.ts_ns[row]),
                open=float(raw.open[row]),
                high=float(raw.high[row]),
                low=float(raw.low[row]),
                close=float(raw.close[row]),
                volume=float(raw.volume[row]),
                reasons=broken,
                detail="; ".join(words),
                occurrence=int(occurrence[row]),
            )
        )
    missing = np.empty(0, dtype="datetime64[D]")
    if rules.calendar is not None and good_idx.size:
        good_days = days[good_idx]
        expected = rules.calendar.sessions(good_days.min(), good_days.max())
        missing = np.setdiff1d(expected, np.unique(days), assume_unique=True)
    return ValidationResult(
        symbol=raw.symbol,
        rows_in=n,
        good=good,
        quarantined=tuple(quarantined),
        missing_sessions=missing,
    )
