"""Account terms: what an account may hold and what holding it costs.

* **kind** — ``unchecked`` (the default: any order goes to the venue, as before this
  module existed), ``cash`` (no short sales, buys limited to the cash not yet committed to
  working buys) or ``margin`` (an order that raises gross exposure needs
  ``initial_margin × gross exposure after the order ≤ equity``; at every bar
  ``equity < maintenance_margin × gross exposure`` is a maintenance breach, recorded and,
  unless ``liquidation`` is ``none``, met by liquidation orders).
* **liquidation** — what a margin account does about a maintenance breach, as a broker
  does: ``reduce`` (the default) sells longs and buys back shorts at market, the largest
  requirement first, until ``maintenance_margin × gross exposure ≤ equity`` holds again at
  the current marks (:func:`liquidation_quantities`); ``all`` closes every position;
  ``none`` only records the breach.
* **borrow cost** — a short position pays ``borrow_bps / 10,000`` a year on its notional,
  accrued at each timestamp for the calendar time since the previous one (ACT/365) on the
  notional at the previous marks, in the base currency; it is paid from cash and kept
  apart from commissions (``Portfolio.carry_paid``).
* **base currency** — equity, cash and PnL totals are reported in it; instruments in
  other currencies are converted with an FX rate series (:class:`FxSeries`).

Orders are checked at the engine's reference price (the last close) before they are sent;
a refusal is a REJECTED order whose reason starts with ``account:``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emp.domain.errors import InvalidConfiguration

ACCOUNT_KINDS: tuple[str, ...] = ("unchecked", "cash", "margin")
LIQUIDATION_POLICIES: tuple[str, ...] = ("none", "reduce", "all")
YEAR_NS = 365 * 86_400 * 10**9
_EPS = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountTerms:
    """How an account is financed (see the module doc).

    Attributes:
        kind: ``unchecked``, ``cash`` or ``margin``.
        initial_margin: margin accounts: the fraction of gross exposure equity must cover
            after an order that raises it (0.5 = Reg T, 2× leverage), in (0, 1].
        maintenance_margin: margin accounts: below ``maintenance_margin × gross`` equity
            is in breach, in (0, initial_margin].
        borrow_bps: annual cost of short positions in bps of their notional (>= 0).
        base_currency: the currency equity is kept in.
        liquidation: margin accounts: ``reduce`` (liquidate the largest requirements
            first until the maintenance requirement is met), ``all`` (close every
            position) or ``none`` (only record the breach).
        liquidation_cushion: margin accounts, ``reduce``: liquidate until equity covers
            ``maintenance_margin × (1 + cushion)`` of gross, not just maintenance (a
            broker's buffer against the next move), >= 0.
    """

    kind: str = "unchecked"
    initial_margin: float = 0.5
    maintenance_margin: float = 0.25
    borrow_bps: float = 0.0
    base_currency: str = "USD"
    liquidation: str = "reduce"
    liquidation_cushion: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ACCOUNT_KINDS:
            raise InvalidConfiguration(
                f"account kind must be one of {', '.join(ACCOUNT_KINDS)}, was {self.kind!r}"
            )
        if not 0 < self.initial_margin <= 1:
            raise InvalidConfiguration(
                f"initial_margin must be in (0, 1], was {self.initial_margin!r}"
            )
        if not 0 < self.maintenance_margin <= self.initial_margin:
            raise InvalidConfiguration(
                "maintenance_margin must be in (0, initial_margin], was "
                f"{self.maintenance_margin!r} (initial {self.initial_margin!r})"
            )
        if not (math.isfinite(self.borrow_bps) and self.borrow_bps >= 0):
            raise InvalidConfiguration(f"borrow_bps must be >= 0, was {self.borrow_bps!r}")
        if not self.base_currency:
            raise InvalidConfiguration("base_currency must be a currency code")
        if not (math.isfinite(self.liquidation_cushion) and self.liquidation_cushion >= 0):
            raise InvalidConfiguration(
                f"liquidation_cushion must be >= 0, was {self.liquidation_cushion!r}"
            )
        if self.liquidation not in LIQUIDATION_POLICIES:
            raise InvalidConfiguration(
                f"liquidation must be one of {', '.join(LIQUIDATION_POLICIES)}, was "
                f"{self.liquidation!r}"
            )

    @property
    def checks_orders(self) -> bool:
        return self.kind != "unchecked"

    @property
    def liquidates(self) -> bool:
        """True when a maintenance breach is met by liquidation orders."""
        return self.kind == "margin" and self.liquidation != "none"


def borrow_cost(short_notional: float, borrow_bps: float, elapsed_ns: int) -> float:
    """What ``short_notional`` (>= 0, base currency) costs to borrow for ``elapsed_ns``."""
    return short_notional * borrow_bps / 10_000.0 * elapsed_ns / YEAR_NS


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExposure:
    """What an account check needs to know about one order and its symbol (base currency).

    ``position`` and the open quantities are in units; ``price`` converts units to base
    currency (the reference price × the FX rate).
    """

    signed_quantity: float
    price: float
    position: float
    open_buy: float
    open_sell: float
    cash: float
    equity: float
    gross_exposure: float


def account_refusal(terms: AccountTerms, order: OrderExposure) -> str | None:
    """Why ``terms`` refuse the order, in words; ``None`` when it may go."""
    if terms.kind == "cash":
        return _cash_refusal(order)
    if terms.kind == "margin":
        return _margin_refusal(terms, order)
    return None


def _cash_refusal(o: OrderExposure) -> str | None:
    if o.signed_quantity < 0:
        held = o.position - o.open_sell
        if -o.signed_quantity > held + _EPS * max(1.0, abs(held)):
            return (
                f"account: a cash account cannot sell short: selling {-o.signed_quantity:g} "
                f"with {held:g} held and not already being sold"
            )
        return None
    cost = o.signed_quantity * o.price
    available = o.cash - o.open_buy * o.price
    if cost > available + _EPS * max(1.0, abs(available)):
        return (
            f"account: a cash account cannot spend more than its cash: buying "
            f"{o.signed_quantity:g} costs {cost:,.2f}, cash available {available:,.2f}"
        )
    return None


def _margin_refusal(terms: AccountTerms, o: OrderExposure) -> str | None:
    working = o.position + o.open_buy - o.open_sell
    before = abs(working * o.price)
    after = abs((working + o.signed_quantity) * o.price)
    if after <= before:
        return None  # reducing exposure is always allowed
    gross_after = o.gross_exposure - abs(o.position * o.price) + after
    required = terms.initial_margin * gross_after
    if required > o.equity:
        return (
            f"account: the order needs initial margin {required:,.2f} "
            f"({terms.initial_margin:.0%} of gross exposure {gross_after:,.2f} after it), "
            f"equity is {o.equity:,.2f}"
        )
    return None


@dataclass(frozen=True, slots=True)
class MarginBreach:
    """Equity fell below the maintenance requirement at ``ts_ns`` (first bar of a breach)."""

    ts_ns: int
    equity: float
    requirement: float
    gross_exposure: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldPosition:
    """An open position as liquidation sees it.

    ``unit_value`` is the base-currency value of one unit at the mark (mark × FX rate,
    > 0); liquidation quantities are whole multiples of ``lot_size`` (or the whole
    position).
    """

    symbol: str
    quantity: float
    unit_value: float
    lot_size: float = 1.0

    @property
    def requirement_value(self) -> float:
        """The position's gross exposure (its requirement is a fixed fraction of it)."""
        return abs(self.quantity) * self.unit_value


def liquidation_quantities(
    policy: str,
    maintenance_margin: float,
    equity: float,
    positions: list[HeldPosition],
    cushion: float = 0.0,
) -> list[tuple[str, float]]:
    """``(symbol, signed quantity)`` to trade so the account meets maintenance again.

    ``all`` closes every position. ``reduce`` needs the gross exposure down to
    ``equity / (maintenance_margin × (1 + cushion))`` (a sale at the mark leaves equity
    unchanged), so it takes ``excess = gross − that`` off the positions with the largest
    requirement first (ties by symbol), each by whole lots rounded up, at most the whole
    position; with ``equity ≤ 0`` that is everything. ``none`` trades nothing.

    ``positions`` are the positions as they will be once the working orders that reduce
    them have filled (those quantities count as already gone), so ``gross`` is theirs.
    """
    if policy == "none" or not positions:
        return []
    ordered = sorted(positions, key=lambda p: (-p.requirement_value, p.symbol))
    if policy == "all" or equity <= 0:
        return [(p.symbol, -p.quantity) for p in ordered]
    gross = math.fsum(p.requirement_value for p in ordered)
    excess = gross - equity / (maintenance_margin * (1.0 + cushion))
    out: list[tuple[str, float]] = []
    for p in ordered:
        if excess <= _EPS * max(1.0, gross):
            break
        held = abs(p.quantity)
        lots = math.ceil(excess / p.unit_value / p.lot_size - _EPS)
        quantity = min(held, round(lots * p.lot_size, 12))
        out.append((p.symbol, -math.copysign(quantity, p.quantity)))
        excess -= quantity * p.unit_value
    return out


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A liquidation order the account issued at ``ts_ns`` (filled at the venue's next price).

    ``quantity`` is signed: negative sells (part of) a long, positive buys back a short.
    """

    ts_ns: int
    symbol: str
    quantity: float
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class FxSeries:
    """Units of the base currency per unit of ``currency``, from ``ts_ns`` on (a step series).

    The rate at time ``t`` is the last one stamped at or before ``t``.
    """

    currency: str
    ts_ns: np.ndarray
    rate: np.ndarray

    @classmethod
    def of(cls, currency: str, ts_ns: np.ndarray, rate: np.ndarray) -> FxSeries:
        ts = np.asarray(ts_ns, dtype=np.int64)
        rates = np.asarray(rate, dtype=np.float64)
        if ts.ndim != 1 or ts.shape != rates.shape or ts.shape[0] == 0:
            raise InvalidConfiguration(
                f"FX series {currency}: expected equal, non-empty timestamp and rate arrays"
            )
        if np.any(ts[1:] <= ts[:-1]):
            raise InvalidConfiguration(f"FX series {currency}: timestamps must increase")
        if not np.all(np.isfinite(rates)) or np.any(rates <= 0):
            raise InvalidConfiguration(f"FX series {currency}: every rate must be > 0")
        return cls(currency, ts, rates)

    def rate_at(self, ts_ns: int) -> float:
        i = int(np.searchsorted(self.ts_ns, ts_ns, side="right")) - 1
        if i < 0:
            raise InvalidConfiguration(
                f"no {self.currency} rate at or before ts_ns={ts_ns}: the FX series starts "
                f"at {int(self.ts_ns[0])}"
            )
        return float(self.rate[i])
