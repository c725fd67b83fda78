"""Cross-asset caps by group: the gross exposure of each sector, currency, ... is capped.

The grouping (symbol → group) is configuration held by the exposure book; the
``currency`` grouping is built from the symbol → currency map. Symbols a grouping does
not name belong to the group ``other`` (``USD`` for currency).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from emp.domain.risk.context import Projection, RiskContext, projection_of
from emp.domain.risk.exposure_caps import gross_capacity
from emp.domain.risk.rule import BreachAction, RiskCheckInput, check_action, check_positive


@dataclass(frozen=True, slots=True)
class MaxGroupExposure:
    """The worst-case gross exposure (USD) of every group in ``grouping`` is capped.

    ``limits`` maps a group to its cap; groups without one use ``default_limit``
    (``None``: uncapped). Without a context (no exposure book) the rule cannot group and
    counts the intent's symbol alone against the default limit.
    """

    grouping: str
    limits: Mapping[str, float] = field(default_factory=dict)
    default_limit: float | None = None
    name: str = ""
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        for group, limit in self.limits.items():
            check_positive(f"{self.grouping} cap for {group!r}", limit)
        if self.default_limit is not None:
            check_positive(f"default {self.grouping} cap", self.default_limit)
        if not self.name:
            object.__setattr__(self, "name", f"max_{self.grouping}_exposure")
        object.__setattr__(self, "action", check_action(self.action))

    def _limit(self, group: str) -> float:
        limit = self.limits.get(group, self.default_limit)
        return math.inf if limit is None else limit

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        slot = p.slot
        if slot is None:
            group, rest = "", 0.0
        else:
            sums, i, group = slot.groups[self.grouping]
            rest = sums[i] - slot.gross
        limit = self.limits.get(group, self.default_limit)
        if limit is None:
            return None
        after = rest + p.symbol_gross_after
        if after <= limit or after <= rest + p.symbol_gross_before:
            return None
        return (
            f"{self.name}: {self.grouping} {group!r} exposure would reach {after:,.2f}, "
            f"limit is {limit:,.2f}"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        p = projection_of(data)
        group, rest = p.rest_group(self.grouping)
        limit = self._limit(group)
        if math.isinf(limit):
            return math.inf
        return gross_capacity(data, p, limit, rest)

    def portfolio_breach(self, context: RiskContext, equity: float) -> str | None:
        book = context.book
        groups = {book.group_of(self.grouping, s) for s in book.entries()}
        for group in sorted(groups):
            gross = book.group_gross(self.grouping, group)
            if gross > self._limit(group):
                return (
                    f"{self.name}: {self.grouping} {group!r} exposure is {gross:,.2f}, "
                    f"limit is {self._limit(group):,.2f}"
                )
        return None
