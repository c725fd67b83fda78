"""What the simulated venue refuses in a new order or a replace: the domain venue's rules
(:mod:`emp.domain.matching.validation`), with the bar venue's quantity tolerance."""

from __future__ import annotations

from emp.adapters.fix_sim.working_order import QTY_TOLERANCE
from emp.domain.instruments import Instrument
from emp.domain.matching.validation import price_presence_refusal, price_refusal
from emp.domain.matching.validation import quantity_refusal as _quantity_refusal

__all__ = ["price_presence_refusal", "price_refusal", "quantity_refusal"]


def quantity_refusal(instrument: Instrument, quantity: float, *, floor: float) -> str | None:
    """Above ``floor`` (the filled quantity; 0 for a new order) by more than the bar
    venue's rounding tolerance, and a lot multiple."""
    return _quantity_refusal(instrument, quantity, floor, QTY_TOLERANCE)
