"""The risk facade: one call per intent, one per bar, and the operator's commands.

::

    manager = RiskManager(rules=[...], drawdown=DrawdownLimits(...), tiers=..., ...)
    decision = manager.check(risk_input)              # per intent, in the order path
    commands = manager.on_bar(account, reference_closes=closes, returns=history)
    commands = manager.halt(ts_ns=..., reason="emp kill", account=account)
    manager.resume(ts_ns=..., reason="drawdown reviewed")
    manager.to_dict()                                 # JSON-able state and audit trail

``check`` enriches the input with the manager's :class:`RiskContext` (trading state, tier
multipliers, drawdown, regime, exposure book, market model), applies the regime policy,
runs the :class:`RiskEngine` and books an approved order into the exposure book, so the
next intent of the same bar sees it. ``on_bar`` rebuilds the book from the account,
updates the volatility tier, the regime and the drawdowns, escalates the trading state
when a threshold or (optionally) a portfolio cap is breached, and returns the commands the
kill switch wants sent (cancels and flattening orders); the app sends them through the
venue port. Nothing here reads a clock: every timestamp comes in as ``ts_ns``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from emp.domain.commands import VenueCommand
from emp.domain.errors import InvalidConfiguration
from emp.domain.regime import RegimeClassifier
from emp.domain.risk.account import AccountSnapshot
from emp.domain.risk.audit import (
    AuditEvent,
    AuditLog,
    DrawdownThresholdCrossed,
    OrderRiskRejected,
    OrderRiskResized,
)
from emp.domain.risk.conditions import OUTCOMES, MarketConditions
from emp.domain.risk.context import RiskContext
from emp.domain.risk.drawdown import DrawdownBrake, DrawdownLimits
from emp.domain.risk.engine import APPROVED, RiskDecision, RiskEngine
from emp.domain.risk.exposure import ExposureBook
from emp.domain.risk.kill_switch import KillSwitch
from emp.domain.risk.market_risk import ReturnHistory
from emp.domain.risk.regime_gate import RegimePolicy, gate_intent
from emp.domain.risk.rule import RiskCheckInput, RiskRule, reads_book
from emp.domain.risk.state_gate import TradingStateGate
from emp.domain.risk.trading_state import TradingState, TriggerSource
from emp.domain.risk.vol_tiers import VolatilityTier, VolatilityTiers

#: Builds the account snapshot of the latest bar when called (see RiskManager.on_bar_at).
AccountSource = Callable[[], AccountSnapshot]


class RiskManager:
    """Pre-trade rules, trading state, kill switch, tiers, regimes and audit, in one object.

    Args:
        rules: the pre-trade rules, run in order after the trading-state gate (which is
            added first unless ``rules`` holds one).
        drawdown: drawdown thresholds for the brake (``None``: no braking).
        tiers: the volatility tier table (``None``: multipliers stay 1).
        classifier: labels the regime from ``reference_closes`` in :meth:`on_bar`.
        regime_policy: scales or disables strategies per regime.
        groupings: grouping → symbol → group, for :class:`MaxGroupExposure` rules.
        currencies: symbol → currency (default USD); also the ``currency`` grouping.
        var_window: periods of return history the VaR and beta measures use.
        vol_window: returns of ``reference_closes`` the volatility tier is measured on.
        periods_per_year: to annualise that volatility.
        escalate_on_breach: state to move to when, at a bar, a portfolio cap (gross, net,
            leverage, group, beta, VaR) is already exceeded (``None``: never).
        cancel_increasing_on_reduce: entering REDUCING cancels risk-increasing orders.
        precompute_var: compute the exact VaR of the book at every bar, in ``on_bar``, so
            the first check after a bar does not (a matrix product per bar: sessions that
            care for the tail latency of checks want it, backtests with few orders do not).
        id_prefix: prefix of the kill switch's client order ids.
    """

    def __init__(
        self,
        *,
        rules: Iterable[RiskRule] = (),
        drawdown: DrawdownLimits | None = None,
        tiers: VolatilityTiers | None = None,
        classifier: RegimeClassifier | None = None,
        regime_policy: RegimePolicy | None = None,
        groupings: Mapping[str, Mapping[str, str]] | None = None,
        currencies: Mapping[str, str] | None = None,
        var_window: int = 250,
        vol_window: int = 20,
        periods_per_year: float = 252.0,
        escalate_on_breach: TradingState | None = None,
        cancel_increasing_on_reduce: bool = True,
        precompute_var: bool = False,
        id_prefix: str = "risk",
    ) -> None:
        rules = tuple(rules)
        if not any(isinstance(r, TradingStateGate) for r in rules):
            rules = (TradingStateGate(), *rules)
        parametric = any(getattr(r, "method", None) == "parametric" for r in rules)
        self._book = ExposureBook(
            groupings=groupings, currencies=currencies, track_variance=parametric
        )
        for rule in rules:
            grouping = getattr(rule, "grouping", None)
            if grouping is not None and grouping not in self._book.groupings:
                known = ", ".join(self._book.groupings)
                raise InvalidConfiguration(
                    f"rule {rule.name!r} caps grouping {grouping!r}, which is not configured; "
                    f"configured: {known}"
                )
        self._engine = RiskEngine(rules)
        self._audit = AuditLog()
        self._kill = KillSwitch(
            self._audit,
            id_prefix=id_prefix,
            cancel_increasing_on_reduce=cancel_increasing_on_reduce,
        )
        self._context = RiskContext(self._book)
        self._brake = DrawdownBrake(drawdown) if drawdown is not None else None
        self._conditions = MarketConditions(
            self._context,
            self._audit,
            tiers=tiers,
            classifier=classifier,
            vol_window=vol_window,
            periods_per_year=periods_per_year,
        )
        self._policy = regime_policy
        self._var_window = var_window
        self._escalate_on_breach = escalate_on_breach
        self._counts = dict.fromkeys(OUTCOMES, 0)
        #: With precompute_var, the rules that compute their exact figure at each bar.
        self._primers = (
            tuple(p for rule in rules if callable(p := getattr(rule, "prime", None)))
            if precompute_var
            else ()
        )
        #: Book syncs wait for a reader when nothing reads the book at a bar (see on_bar).
        self._sync_at_bar = bool(self._primers) or escalate_on_breach is not None
        #: Whether a check needs the book synced first (some rule reads it): else a check
        #: leaves the book to whoever reads ``book`` or ``context``, who syncs it from the
        #: latest account (which lists the orders still working).
        self._checks_read_book = any(reads_book(rule) for rule in rules)
        self._pending_account: AccountSource | None = None
        self._pending_changed: set[str] | None = set()

    # -------------------------------------------------------------- queries
    @property
    def rules(self) -> tuple[RiskRule, ...]:
        return self._engine.rules

    @property
    def context(self) -> RiskContext:
        if self._pending_account is not None:
            self._settle()
        return self._context

    @property
    def check_context(self) -> RiskContext:
        """The context to put in a :class:`RiskCheckInput`: :attr:`context`, without
        bringing the book up to date first when no rule reads it (:meth:`check` does
        that itself when one does)."""
        return self._context

    @property
    def book(self) -> ExposureBook:
        if self._pending_account is not None:
            self._settle()
        return self._book

    @property
    def state(self) -> TradingState:
        return self._kill.state

    @property
    def needs_every_bar(self) -> bool:
        """Whether each bar's equity or account must reach :meth:`on_bar_at`.

        True with a drawdown brake, breach escalation or precomputed VaR, and while a
        HALT's flatten is pending. When False, and no return history or market data is
        given, one call at the last of a run of bars without fills leaves the manager as
        one call per bar would (the exposure book only needs the latest account).
        """
        return self._brake is not None or self._sync_at_bar or self._kill.flatten_pending

    @property
    def timeline(self) -> tuple[tuple[int, TradingState], ...]:
        return self._kill.machine.timeline

    @property
    def volatility_tier(self) -> VolatilityTier | None:
        return self._conditions.tier

    @property
    def regime(self) -> str:
        return self._context.regime

    @property
    def regime_counts(self) -> dict[str, dict[str, int]]:
        """regime → ``{"bars": n, "approved": n, "resized": n, "rejected": n}``."""
        return self._conditions.regime_counts

    @property
    def audit(self) -> tuple[AuditEvent, ...]:
        return self._audit.events

    @property
    def audit_log(self) -> AuditLog:
        return self._audit

    @property
    def decision_counts(self) -> dict[str, int]:
        return dict(self._counts)

    # ----------------------------------------------------------- per intent
    def check(self, data: RiskCheckInput) -> RiskDecision:
        """Decide on one intent; an approved (or resized) order is booked as working."""
        context = self._context
        if self._pending_account is None:
            context.projected_book = self._book
        elif self._checks_read_book:
            self._settle()
            context.projected_book = self._book
        else:  # no rule reads the book: it waits for a reader, the account has the order
            context.projected_book = None
        if data.context is not context:
            data = data.with_context(context)
        if self._policy is None:  # the common case: no regime gate
            decision = self._engine.check(data)
            if decision is APPROVED:
                p = context._last_projection
                if context._last_data is not data or p is None:
                    p = context.projection(data)
                # Projection.commit(), written out: book the order from the figures the
                # check computed (this runs for every approved order)
                buy, sell = data.open_buy_quantity, data.open_sell_quantity
                if p.buy:
                    buy += data.intent.quantity
                else:
                    sell += data.intent.quantity
                if p.slot is not None:  # else the book waits for a reader (see above)
                    self._book.put(
                        p.slot,
                        data.position,
                        buy,
                        sell,
                        data.reference_price,
                        p.unit_value,
                        p.high_after,
                        p.low_after,
                        p.symbol_gross_after,
                        p.beta,
                    )
                context._last_data = context._last_projection = None  # forget(), inlined
                self._counts["approved"] += 1
                if context.regime:
                    self._conditions.count_decision("approved")
                return decision
            if decision.approved:
                context.projection(data).commit(decision.quantity)
                context.forget()
            return self._record(data, decision, data.intent.quantity)
        requested = data.intent.quantity
        gate: str | None = None
        if self._policy is not None:
            gated = gate_intent(self._policy, data, context.regime)
            if gated.refusal is not None:
                return self._record(data, RiskDecision(approved=False, reasons=(gated.refusal,)))
            data, gate = gated.data, gated.note
        decision = self._engine.check(data)
        if gate is not None:
            reasons = (gate, *decision.reasons)
            if not decision.approved:
                decision = RiskDecision(approved=False, reasons=reasons)
            elif decision.quantity is None:
                resized = f"resized from {requested:g} to {data.intent.quantity:g}"
                decision = RiskDecision(
                    approved=True, reasons=(*reasons, resized), quantity=data.intent.quantity
                )
            else:
                decision = RiskDecision(approved=True, reasons=reasons, quantity=decision.quantity)
        if decision.approved:
            context.projection(data).commit(decision.quantity)
            context.forget()
        return self._record(data, decision, requested)

    def capacity(self, data: RiskCheckInput) -> float:
        """The largest lot multiple of this intent the resizable rules accept (for sizing)."""
        if self._pending_account is not None:
            self._settle()
        if data.context is not self._context:
            data = data.with_context(self._context)
        return self._engine.capacity(data)

    def _record(
        self, data: RiskCheckInput, decision: RiskDecision, requested: float | None = None
    ) -> RiskDecision:
        if decision is APPROVED:  # the common case, without an audit event
            self._counts["approved"] += 1
            if self._context.regime:
                self._conditions.count_decision("approved")
            return decision
        requested = data.intent.quantity if requested is None else requested
        outcome = decision.outcome.value
        self._counts[outcome] += 1
        self._conditions.count_decision(outcome)
        intent = data.intent
        if not decision.approved:
            self._audit.record(
                OrderRiskRejected(
                    ts_ns=data.ts_ns,
                    strategy=data.strategy,
                    symbol=intent.symbol,
                    side=intent.side.value,
                    quantity=requested,
                    reasons=decision.reasons,
                )
            )
        elif decision.quantity is not None:
            self._audit.record(
                OrderRiskResized(
                    ts_ns=data.ts_ns,
                    strategy=data.strategy,
                    symbol=intent.symbol,
                    side=intent.side.value,
                    requested_quantity=requested,
                    approved_quantity=decision.quantity,
                    reasons=decision.reasons,
                )
            )
        return decision

    # -------------------------------------------------------------- per bar
    def on_bar(
        self,
        account: AccountSnapshot,
        *,
        reference_closes: np.ndarray | None = None,
        returns: ReturnHistory | None = None,
        realised_volatility: float | None = None,
        regime: str | None = None,
        changed: Iterable[str] | None = None,
    ) -> tuple[VenueCommand, ...]:
        """Update book, tier, regime and drawdowns at ``account.ts_ns``; return commands.

        ``reference_closes`` (a reference series, oldest first) feeds the volatility tier
        (last ``vol_window`` returns) and the regime classifier, unless
        ``realised_volatility``/``regime`` are given directly. ``returns`` updates the
        market model (VaR, betas) when given: a history that continues the model's stream
        (same ``origin``) adds only its new rows, any other replaces the model.
        ``changed`` (optional): the symbols whose position or mark may have changed since
        the previous bar; the book then visits only those (and the symbols with working
        orders) instead of comparing every symbol of the account.

        The exposure book is brought to ``account`` when something reads it: at once when
        a return history comes in, VaR is precomputed or breaches escalate; otherwise at
        the next check, capacity, :attr:`book`, :attr:`context` or :meth:`to_dict`, in one
        sync over every symbol changed since (the book is the same either way; only the
        bars where nothing reads it are skipped).
        """
        return self.on_bar_at(
            account.ts_ns,
            account.equity,
            lambda: account,
            reference_closes=reference_closes,
            returns=returns,
            realised_volatility=realised_volatility,
            regime=regime,
            changed=changed,
        )

    def on_bar_at(
        self,
        ts_ns: int,
        equity: float,
        account: AccountSource,
        *,
        reference_closes: np.ndarray | None = None,
        returns: ReturnHistory | None = None,
        realised_volatility: float | None = None,
        regime: str | None = None,
        changed: Iterable[str] | None = None,
    ) -> tuple[VenueCommand, ...]:
        """:meth:`on_bar` for a caller that builds the account snapshot only on demand.

        ``account()`` returns the snapshot at ``ts_ns`` (with ``equity``); it is called
        when something needs it — the book's sync (possibly later, at the next check: the
        callable must then still describe the latest bar, so give a new one each bar), a
        kill switch engaging or following up a HALT — and on most bars of a quiet run not
        at all.
        """
        pending = self._pending_changed
        if pending is not None:
            if changed is None:
                self._pending_changed = None
            else:
                pending.update(changed)
        self._pending_account = account
        if returns is not None or self._sync_at_bar:
            self._settle(returns)
        context = self._context
        context._last_data = context._last_projection = None  # forget(), inlined
        for prime in self._primers:
            prime(context)
        if reference_closes is not None or realised_volatility is not None or regime is not None:
            self._conditions.update(ts_ns, reference_closes, realised_volatility, regime)
        candidates = self._drawdown_candidates(ts_ns, equity) if self._brake is not None else []
        if self._escalate_on_breach is not None:
            breaches = self.portfolio_breaches(equity)
            if breaches:
                candidates.append(
                    (self._escalate_on_breach, TriggerSource.BREACH, "; ".join(breaches))
                )
        kill = self._kill
        commands: tuple[VenueCommand, ...] = ()
        if candidates:
            target, source, reason = max(candidates, key=lambda c: c[0].rank)
            was_halted = kill.state is TradingState.HALTED
            if not (was_halted and target is TradingState.HALTED):
                commands = kill.engage(
                    target, ts_ns=ts_ns, source=source, reason=reason, account=account()
                )
        if not commands and kill.flatten_pending:
            commands = kill.follow_up(account())
        context.trading_state = kill.state
        return commands

    def portfolio_breaches(self, equity: float) -> list[str]:
        """The portfolio caps the book already exceeds (market moves, tier changes)."""
        if self._pending_account is not None:
            self._settle()
        found = []
        for rule in self._engine.rules:
            measure = getattr(rule, "portfolio_breach", None)
            if measure is not None:
                reason = measure(self._context, equity)
                if reason is not None:
                    found.append(reason)
        return found

    def _settle(self, returns: ReturnHistory | None = None) -> None:
        """Sync the book to the latest account on_bar gave, over the symbols changed since."""
        source, changed = self._pending_account, self._pending_changed
        assert source is not None  # callers check
        self._pending_account, self._pending_changed = None, set()
        self._book.sync(source(), returns, window=self._var_window, changed=changed)
        self._context.projected_book = self._book

    def _drawdown_candidates(
        self, ts: int, equity: float
    ) -> list[tuple[TradingState, TriggerSource, str]]:
        if self._brake is None:
            return []
        fired = self._brake.update(ts, equity)
        self._context.drawdown = self._brake.drawdown
        self._context.intraday_drawdown = self._brake.intraday_drawdown
        candidates = []
        for f in fired:
            self._audit.record(
                DrawdownThresholdCrossed(
                    ts_ns=ts,
                    measure=f.measure,
                    drawdown=f.drawdown,
                    threshold=f.threshold,
                    target=f.target.value,
                )
            )
            reason = f"{f.measure} drawdown {f.drawdown:.2%} reached {f.threshold:.2%}"
            candidates.append((f.target, TriggerSource.DRAWDOWN, reason))
        return candidates

    # ------------------------------------------------------------- commands
    def halt(
        self,
        *,
        ts_ns: int,
        reason: str,
        account: AccountSnapshot | None = None,
        source: TriggerSource = TriggerSource.COMMAND,
    ) -> tuple[VenueCommand, ...]:
        """Kill switch: HALT, and (given the account) cancel everything and flatten."""
        return self._engage(TradingState.HALTED, ts_ns, source, reason, account)

    def reduce(
        self,
        *,
        ts_ns: int,
        reason: str,
        account: AccountSnapshot | None = None,
        source: TriggerSource = TriggerSource.COMMAND,
    ) -> tuple[VenueCommand, ...]:
        """Move to REDUCING (no-op if already REDUCING or HALTED)."""
        return self._engage(TradingState.REDUCING, ts_ns, source, reason, account)

    def signal(
        self,
        *,
        ts_ns: int,
        reason: str,
        account: AccountSnapshot | None = None,
        target: TradingState = TradingState.HALTED,
    ) -> tuple[VenueCommand, ...]:
        """An external signal (a file, a metrics alert hook) escalates to ``target``."""
        return self._engage(target, ts_ns, TriggerSource.SIGNAL, reason, account)

    def resume(self, *, ts_ns: int, reason: str, to: TradingState = TradingState.ACTIVE) -> None:
        """The operator lowers the trading state; ``reason`` is mandatory and logged."""
        self._kill.resume(ts_ns=ts_ns, reason=reason, to=to)
        self._context.trading_state = self._kill.state

    def _engage(
        self,
        target: TradingState,
        ts_ns: int,
        source: TriggerSource,
        reason: str,
        account: AccountSnapshot | None,
    ) -> tuple[VenueCommand, ...]:
        if not reason or not reason.strip():
            raise InvalidConfiguration("a trading-state command needs a reason, in words")
        commands = self._kill.engage(
            target, ts_ns=ts_ns, source=source, reason=reason, account=account
        )
        self._context.trading_state = self._kill.state
        return commands

    # --------------------------------------------------------------- export
    def to_dict(self) -> dict[str, Any]:
        """The risk state and the audit trail, JSON-able (non-finite numbers are None)."""
        return {
            "trading_state": self.state.value,
            "timeline": [{"ts_ns": ts, "state": s.value} for ts, s in self.timeline],
            "flatten_pending": self._kill.flatten_pending,
            "volatility_tier": self._conditions.tier_dict(),
            "regime": self.regime or None,
            "regime_counts": self.regime_counts,
            "drawdown": None if self._brake is None else self._brake.to_dict(),
            "exposure": self.book.to_dict(),
            "decisions": self.decision_counts,
            "rules": [rule.name for rule in self.rules],
            "audit": self._audit.to_dicts(),
        }
