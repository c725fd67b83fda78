"""Several strategies in one engine: one account, each strategy with its own book of fills.

``BarEventEngine(strategy=[a, b, ...])`` runs the strategies side by side on the same
events, over one portfolio, one risk manager and one venue — as a fund runs several books
in one account. The engine drives a :class:`StrategyGroup`, which hands every event to
each member in the order given, each with its own :class:`MemberContext`:

* ``position(symbol)`` is the member's own position: the sum of its own fills (so a
  member trading in a symbol another member holds sizes from its own book, not the
  account's);
* ``equity`` and ``cash`` are the member's share of the account's (``weights``, equal by
  default): a member sizing "all equity" invests its share;
* timers are the member's own (:meth:`MemberContext.set_timer`), fired through the group.

Every order carries its member's name (``Order.strategy``, client order ids
``<member>-<n>``); the risk manager sees the member as the order's strategy (per-strategy
throttles apply per member) and checks the account as a whole. A member hears of its own
fills only. The quiet-stretch fast path is off for a group (each bar goes to every member).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration, StrategyError
from emp.domain.fills import Fill
from emp.domain.matching import MarketUpdate
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from emp.domain.timers import Timer

#: Between a member's name and its timer's name in the account's timer queue.
_TIMER_SEPARATOR = "\x1f"


class MemberContext(StrategyContext):
    """A member's view: its own positions, its share of equity and cash, its own timers."""

    __slots__ = ("_account", "_member", "_positions", "_weight")

    def __init__(self, account: StrategyContext, member: str, weight: float) -> None:
        super().__init__(account._portfolio, account._instruments)
        self._account = account
        self._member = member
        self._weight = weight
        self._positions: dict[str, float] = {}
        self.timers = account.timers  # one queue for the account: the engine fires it

    def position(self, symbol: str) -> float:
        return self._positions.get(symbol, 0.0)

    @property
    def positions(self) -> dict[str, float]:
        """The member's open positions (its own fills), symbol → signed quantity."""
        return {s: q for s, q in self._positions.items() if q != 0.0}

    @property
    def cash(self) -> float:
        return self._account.cash * self._weight

    @property
    def equity(self) -> float:
        return self._account.equity * self._weight

    def set_timer(self, ts_ns: int, name: str = "") -> Timer:
        timer = self.timers.set(ts_ns, self._member + _TIMER_SEPARATOR + name, now_ns=self.ts_ns)
        return Timer(timer.ts_ns, name)

    def cancel_timer(self, name: str) -> int:
        return self.timers.cancel(self._member + _TIMER_SEPARATOR + name)

    def book(self, fill: Fill) -> None:
        """Count one of the member's fills into its positions."""
        held = self._positions.get(fill.symbol, 0.0) + fill.signed_quantity
        self._positions[fill.symbol] = 0.0 if abs(held) < 1e-9 else held


class StrategyGroup(Strategy):
    """The strategies of one engine, run side by side (see the module doc).

    Args:
        members: the strategies, with distinct names (each names its orders).
        weights: each member's share of equity and cash (positive; normalised to sum to
            1); default equal shares.
    """

    def __init__(self, members: Sequence[Strategy], weights: Sequence[float] | None = None):
        members = list(members)
        if len(members) < 2:
            raise InvalidConfiguration(f"a strategy group needs two or more, was {len(members)}")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise InvalidConfiguration(f"strategies in one engine need distinct names: {names}")
        for name in names:
            if not name or _TIMER_SEPARATOR in name:
                raise InvalidConfiguration(f"a strategy name must be printable text, was {name!r}")
        shares = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(shares) != len(members) or not all(math.isfinite(w) and w > 0 for w in shares):
            raise InvalidConfiguration(
                f"expected one positive weight per strategy ({len(members)}), was {weights!r}"
            )
        total = math.fsum(shares)
        self.members = members
        self.weights = [w / total for w in shares]
        self.name = "+".join(names)
        self.member_names = frozenset(names)
        self._by_name = dict(zip(names, members, strict=True))
        self._contexts: dict[str, MemberContext] = {}

    def contexts(self, account: StrategyContext) -> dict[str, MemberContext]:
        """Each member's context over ``account`` (made on the first call)."""
        if not self._contexts:
            self._contexts = {
                m.name: MemberContext(account, m.name, w)
                for m, w in zip(self.members, self.weights, strict=True)
            }
        return self._contexts

    def _each(self, ctx: StrategyContext, hook: str, call) -> list[OrderIntent]:
        intents: list[OrderIntent] = []
        for member, member_ctx in zip(self.members, self.contexts(ctx).values(), strict=True):
            member_ctx.ts_ns = ctx.ts_ns
            try:
                out = call(member, member_ctx)
            except Exception as error:
                raise StrategyError(
                    f"strategy {member.name!r} raised {type(error).__name__} in {hook}: {error}"
                ) from error
            for intent in out or ():
                if not isinstance(intent, OrderIntent):
                    raise StrategyError(
                        f"strategy {member.name!r} returned {type(intent).__name__}, "
                        "expected OrderIntent"
                    )
                intents.append(dataclasses.replace(intent, tag=member.name))
        return intents

    def on_start(self, ctx: StrategyContext) -> None:
        self._each(ctx, "on_start", lambda m, c: m.on_start(c))

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        return self._each(ctx, "on_bar", lambda m, c: m.on_bar(bar, c))

    def on_book(self, update: MarketUpdate, ctx: StrategyContext) -> Sequence[OrderIntent]:
        return self._each(ctx, "on_book", lambda m, c: m.on_book(update, c))

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Sequence[OrderIntent]:
        member_name, _, name = timer.name.partition(_TIMER_SEPARATOR)
        member = self._by_name[member_name]
        member_ctx = self.contexts(ctx)[member_name]
        member_ctx.ts_ns = ctx.ts_ns
        out = member.on_timer(Timer(timer.ts_ns, name), member_ctx)
        return [dataclasses.replace(intent, tag=member.name) for intent in out or ()]

    def on_member_fill(self, member: str, fill: Fill, ctx: StrategyContext) -> None:
        """One of ``member``'s fills: into its positions, then its ``on_fill``."""
        member_ctx = self.contexts(ctx)[member]
        member_ctx.book(fill)
        member_ctx.ts_ns = ctx.ts_ns
        self._by_name[member].on_fill(fill, member_ctx)

    def on_stop(self, ctx: StrategyContext) -> None:
        self._each(ctx, "on_stop", lambda m, c: m.on_stop(c))

    def member_positions(self) -> dict[str, dict[str, float]]:
        """Each member's open positions (its own fills)."""
        return {name: ctx.positions for name, ctx in self._contexts.items()}


def as_engine_strategy(strategy: Strategy | Sequence[Strategy]) -> Strategy:
    """One strategy as it is; several as a :class:`StrategyGroup` (equal weights)."""
    if isinstance(strategy, Strategy):
        return strategy
    members = list(strategy)
    if len(members) == 1:
        return members[0]
    return StrategyGroup(members)


def owner_names(strategy: Strategy) -> frozenset[str]:
    """The ``Order.strategy`` values whose fills go to ``strategy``."""
    if isinstance(strategy, StrategyGroup):
        return strategy.member_names
    return frozenset((strategy.name,))
