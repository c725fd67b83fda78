"""Runs every rule on an intent and says yes, or no with all the reasons."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from emp.domain.risk.rule import RiskCheckInput, RiskRule


@dataclass(frozen=True, slots=True)
class RiskDecision:
    approved: bool
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


class RiskEngine:
    """Composes rules; an intent passes only if every rule passes."""

    def __init__(self, rules: Iterable[RiskRule] = ()) -> None:
        self._rules: tuple[RiskRule, ...] = tuple(rules)

    @property
    def rules(self) -> tuple[RiskRule, ...]:
        return self._rules

    def check(self, data: RiskCheckInput) -> RiskDecision:
        reasons = tuple(r for r in (rule.check(data) for rule in self._rules) if r is not None)
        return RiskDecision(approved=not reasons, reasons=reasons)
