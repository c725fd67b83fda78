"""Whole-book recomputations for the exposure book: exact sums from the slots (to shed
the rounding that running sums pick up) and the per-symbol working quantities of an
account. O(symbols); the book calls them at a rebuild, every ``RESYNC`` syncs, and when
the betas change."""

from __future__ import annotations

import math

import numpy as np

from emp.domain.risk.account import AccountSnapshot
from emp.domain.risk.symbol_exposure import SymbolSlot

#: From this many symbols on, the beta sums use numpy (below, plain floats are faster).
VECTOR_FROM = 64


def exact_sums(slots: list[SymbolSlot]) -> tuple[float, float, float]:
    """Gross, net high side and net low side over ``slots``, summed exactly."""
    return (
        math.fsum(s.gross for s in slots),
        math.fsum(s.net_high for s in slots),
        math.fsum(s.net_low for s in slots),
    )


def group_sums(slots: list[SymbolSlot], grouping: str, groups: int) -> list[float]:
    """The gross of each of the ``groups`` groups of ``grouping``, summed exactly."""
    parts: list[list[float]] = [[] for _ in range(groups)]
    for slot in slots:
        parts[slot.groups[grouping][1]].append(slot.gross)
    return [math.fsum(values) for values in parts]


def beta_sums(
    slots: list[SymbolSlot], betas: list[float] | None, default_beta: float
) -> tuple[float, float]:
    """``(Σ max(β·high, β·low), Σ min(β·high, β·low))`` over ``slots`` (USD)."""
    count = len(slots)
    if count < VECTOR_FROM:
        high_sum = low_sum = 0.0
        for slot in slots:
            j = slot.j
            beta = default_beta if betas is None or j < 0 else betas[j]
            a, b = slot.net_high * beta, slot.net_low * beta
            if a >= b:
                high_sum += a
                low_sum += b
            else:
                high_sum += b
                low_sum += a
        return high_sum, low_sum
    highs = np.fromiter((s.net_high for s in slots), float, count)
    lows = np.fromiter((s.net_low for s in slots), float, count)
    weights = np.full(count, default_beta)
    if betas is not None:
        columns = np.fromiter((s.j for s in slots), np.intp, count)
        inside = columns >= 0
        weights[inside] = np.asarray(betas)[columns[inside]]
    high, low = highs * weights, lows * weights
    return float(np.maximum(high, low).sum()), float(np.minimum(high, low).sum())


def working_quantities(account: AccountSnapshot) -> tuple[dict[str, float], dict[str, float]]:
    """Per symbol, the leaves of the account's working buy orders and sell orders."""
    buys: dict[str, float] = {}
    sells: dict[str, float] = {}
    for order in account.working_orders:
        book = buys if order.side.sign > 0 else sells
        book[order.symbol] = book.get(order.symbol, 0.0) + order.leaves_quantity
    return buys, sells
