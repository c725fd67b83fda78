"""Drawdown braking: intraday and peak-to-trough drawdowns against thresholds, with hysteresis.

Each threshold is a trigger. It *fires* (once) when its drawdown reaches the threshold,
demanding REDUCING or HALTED, and is then disarmed; it *re-arms* only when that drawdown
has recovered to ``threshold - hysteresis`` or less. A fired trigger therefore cannot fire
again while the drawdown hovers around its level, and after an operator resumes trading
the same loss does not immediately re-trigger; a deeper threshold that has not fired still
does. The brake only ever asks for escalation: lowering the state is the operator's
explicit resume (see :mod:`emp.domain.risk.trading_state`).

Peak-to-trough drawdown is ``1 - equity / max(equity so far)``; intraday drawdown the same
against the highest equity of the current session (sessions are ``session_length_ns``
long, starting at ``session_offset_ns`` past midnight UTC by default every day).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.clock_time import NS_PER_SECOND
from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.trading_state import TradingState

NS_PER_DAY = 86_400 * NS_PER_SECOND


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawdownLimits:
    """Drawdown thresholds as fractions of equity (0.10 = 10 %); ``None`` turns one off.

    Attributes:
        reduce_at: peak-to-trough drawdown that moves trading to REDUCING.
        halt_at: peak-to-trough drawdown that moves trading to HALTED.
        intraday_reduce_at: intraday drawdown that moves trading to REDUCING.
        intraday_halt_at: intraday drawdown that moves trading to HALTED.
        hysteresis: how far below its threshold a drawdown must recover before that
            threshold can fire again.
        session_length_ns: the length of a trading session for the intraday measure.
        session_offset_ns: where sessions start, from the epoch (modulo the length).
    """

    reduce_at: float | None = None
    halt_at: float | None = None
    intraday_reduce_at: float | None = None
    intraday_halt_at: float | None = None
    hysteresis: float = 0.01
    session_length_ns: int = NS_PER_DAY
    session_offset_ns: int = 0

    def __post_init__(self) -> None:
        levels = {
            "reduce_at": self.reduce_at,
            "halt_at": self.halt_at,
            "intraday_reduce_at": self.intraday_reduce_at,
            "intraday_halt_at": self.intraday_halt_at,
        }
        for name, level in levels.items():
            if level is not None and not (math.isfinite(level) and 0 < level < 1):
                raise InvalidConfiguration(f"{name} must be in (0, 1), was {level!r}")
        for reduce, halt in (
            (self.reduce_at, self.halt_at),
            (self.intraday_reduce_at, self.intraday_halt_at),
        ):
            if reduce is not None and halt is not None and reduce >= halt:
                raise InvalidConfiguration(
                    f"a reduce threshold ({reduce}) must be below its halt threshold ({halt})"
                )
        active = [level for level in levels.values() if level is not None]
        if not (math.isfinite(self.hysteresis) and self.hysteresis >= 0):
            raise InvalidConfiguration(f"hysteresis must be >= 0, was {self.hysteresis!r}")
        if active and self.hysteresis >= min(active):
            raise InvalidConfiguration(
                f"hysteresis ({self.hysteresis}) must be below every threshold ({min(active)})"
            )
        if self.session_length_ns <= 0:
            raise InvalidConfiguration(
                f"session_length_ns must be > 0, was {self.session_length_ns!r}"
            )


@dataclass(frozen=True, slots=True)
class BrakeFired:
    """A trigger fired: ``measure`` reached ``threshold`` and demands ``target``."""

    measure: str
    drawdown: float
    threshold: float
    target: TradingState


class _Trigger:
    __slots__ = ("armed", "measure", "target", "threshold")

    def __init__(self, measure: str, threshold: float, target: TradingState) -> None:
        self.measure = measure
        self.threshold = threshold
        self.target = target
        self.armed = True


class DrawdownBrake:
    """Tracks the two drawdowns from equity updates and fires the configured triggers."""

    def __init__(self, limits: DrawdownLimits) -> None:
        self.limits = limits
        self._triggers: list[_Trigger] = []
        for measure, threshold, target in (
            ("intraday", limits.intraday_halt_at, TradingState.HALTED),
            ("peak_to_trough", limits.halt_at, TradingState.HALTED),
            ("intraday", limits.intraday_reduce_at, TradingState.REDUCING),
            ("peak_to_trough", limits.reduce_at, TradingState.REDUCING),
        ):
            if threshold is not None:
                self._triggers.append(_Trigger(measure, threshold, target))
        self.peak_equity = -math.inf
        self.session_peak_equity = -math.inf
        self._session: int | None = None
        self.drawdown = 0.0
        self.intraday_drawdown = 0.0

    def update(self, ts_ns: int, equity: float) -> list[BrakeFired]:
        """Take a new equity reading; return the triggers that fired now (deepest first)."""
        session = (ts_ns - self.limits.session_offset_ns) // self.limits.session_length_ns
        if session != self._session:
            self._session = session
            self.session_peak_equity = equity
        self.peak_equity = max(self.peak_equity, equity)
        self.session_peak_equity = max(self.session_peak_equity, equity)
        self.drawdown = _drawdown(equity, self.peak_equity)
        self.intraday_drawdown = _drawdown(equity, self.session_peak_equity)
        fired: list[BrakeFired] = []
        for trigger in self._triggers:
            level = self.drawdown if trigger.measure == "peak_to_trough" else self.intraday_drawdown
            if trigger.armed and level >= trigger.threshold:
                trigger.armed = False
                fired.append(BrakeFired(trigger.measure, level, trigger.threshold, trigger.target))
            elif not trigger.armed and level <= trigger.threshold - self.limits.hysteresis:
                trigger.armed = True
        return fired

    def to_dict(self) -> dict[str, object]:
        """The drawdowns, the peak equity (None before any) and which triggers are armed."""
        peak = self.peak_equity
        return {
            "peak_to_trough": self.drawdown,
            "intraday": self.intraday_drawdown,
            "peak_equity": peak if math.isfinite(peak) else None,
            "armed": self.armed(),
        }

    def armed(self) -> dict[str, bool]:
        """``{"peak_to_trough>=0.1": True, ...}``: which triggers may fire."""
        return {f"{t.measure}>={t.threshold:g}": t.armed for t in self._triggers}


def _drawdown(equity: float, peak: float) -> float:
    if peak <= 0 or not math.isfinite(peak):
        return 0.0 if equity >= peak else 1.0
    return max(0.0, 1.0 - equity / peak)
