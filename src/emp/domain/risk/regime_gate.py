"""Regime gating: per regime (and per strategy), a strategy trades at full size, a scaled
size, or not at all. Orders that reduce a position are never gated."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.headroom import round_down_to_lot
from emp.domain.risk.rule import RiskCheckInput


@dataclass(frozen=True, slots=True, kw_only=True)
class RegimePolicy:
    """Size scale per regime: 1 = full size, 0.5 = half, 0 = disabled.

    Attributes:
        scales: regime → scale for every strategy.
        per_strategy: strategy → regime → scale, overriding ``scales``.
        default_scale: the scale of a regime neither map names.
    """

    scales: Mapping[str, float] = field(default_factory=dict)
    per_strategy: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    default_scale: float = 1.0

    def __post_init__(self) -> None:
        def check(where: str, value: float) -> None:
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
                raise InvalidConfiguration(f"regime scale {where} must be in [0, 1], was {value!r}")

        check("default", self.default_scale)
        for regime, value in self.scales.items():
            check(f"for {regime!r}", value)
        for strategy, scales in self.per_strategy.items():
            for regime, value in scales.items():
                check(f"for strategy {strategy!r} in {regime!r}", value)

    def scale_for(self, strategy: str, regime: str) -> float:
        own = self.per_strategy.get(strategy)
        if own is not None and regime in own:
            return float(own[regime])
        return float(self.scales.get(regime, self.default_scale))


@dataclass(frozen=True, slots=True)
class GateResult:
    """What the policy did to one intent: ``data`` to check next (maybe scaled down),
    ``note`` when it was scaled, ``refusal`` when the strategy may not trade at all."""

    data: RiskCheckInput
    note: str | None = None
    refusal: str | None = None


def gate_intent(policy: RegimePolicy, data: RiskCheckInput, regime: str) -> GateResult:
    """Apply ``policy`` in ``regime``; reducing orders and an unknown regime pass as they are."""
    if not regime or data.is_reducing:
        return GateResult(data)
    scale = policy.scale_for(data.strategy, regime)
    if scale >= 1.0:
        return GateResult(data)
    requested = data.intent.quantity
    scaled = round_down_to_lot(requested * scale, data.lot_size)
    if scaled <= 0:
        what = "disables" if scale == 0 else f"scales to {scale:.0%}, below one lot,"
        return GateResult(
            data, refusal=f"regime_gate: regime {regime!r} {what} strategy {data.strategy!r}"
        )
    if scaled >= requested:
        return GateResult(data)
    note = f"regime_gate: regime {regime!r} scales strategy {data.strategy!r} to {scale:.0%}"
    return GateResult(data.with_quantity(scaled), note=note)
