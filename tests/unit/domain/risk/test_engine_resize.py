"""The engine's three outcomes: approve, reject, resize to the largest lot that fits."""

from __future__ import annotations

from dataclasses import dataclass, field

from emp.domain.risk import (
    BreachAction,
    MaxOrderNotional,
    MaxOrderQuantity,
    MaxPosition,
    PriceCollar,
    RiskCheckInput,
    RiskDecision,
    RiskEngine,
    RiskOutcome,
)
from tests.unit.domain.risk.builders import BUY, SELL, check_input

RESIZE = BreachAction.RESIZE


@dataclass
class CountingRule:
    """Passes everything and counts the approvals it is told of."""

    name: str = "counting"
    approved: list[float] = field(default_factory=list)

    def check(self, data: RiskCheckInput) -> str | None:
        return None

    def on_approved(self, data: RiskCheckInput) -> None:
        self.approved.append(data.intent.quantity)


class TestResize:
    def test_breach_of_a_resizing_rule_cuts_the_order_to_its_capacity(self) -> None:
        engine = RiskEngine([MaxPosition(100, action=RESIZE)])
        decision = engine.check(check_input(BUY, 150, position=30))
        assert decision.approved
        assert decision.outcome is RiskOutcome.RESIZED
        assert decision.quantity == 70
        assert decision.reasons == (
            "max_position: AAPL position would reach 180, limit is 100",
            "resized from 150 to 70",
        )

    def test_resized_quantity_is_rounded_down_to_the_lot(self) -> None:
        engine = RiskEngine([MaxOrderNotional(1_000.0, action=RESIZE)])
        decision = engine.check(check_input(BUY, 200, price=7.0, lot_size=25))
        assert decision.quantity == 125  # 142.8 units fit; 5 lots of 25

    def test_tightest_of_several_breached_rules_wins(self) -> None:
        engine = RiskEngine([MaxPosition(100, action=RESIZE), MaxOrderQuantity(40, action=RESIZE)])
        decision = engine.check(check_input(BUY, 150))
        assert decision.quantity == 40
        assert len(decision.reasons) == 3

    def test_a_rejecting_breach_refuses_even_when_others_would_resize(self) -> None:
        engine = RiskEngine(
            [MaxPosition(100, action=RESIZE), MaxOrderQuantity(40)]  # the second rejects
        )
        decision = engine.check(check_input(BUY, 150))
        assert not decision.approved
        assert decision.quantity is None
        assert decision.quantity_for(150) == 0.0

    def test_no_lot_fitting_refuses_with_the_reason(self) -> None:
        engine = RiskEngine([MaxPosition(100, action=RESIZE)])
        decision = engine.check(check_input(BUY, 50, position=95, lot_size=10))
        assert not decision.approved
        assert decision.reasons[-1] == "no multiple of lot 10 fits every limit"

    def test_the_smaller_order_is_checked_against_every_rule_again(self) -> None:
        # the collar does not care about size, so the resized order still breaches it
        engine = RiskEngine([MaxPosition(100, action=RESIZE), PriceCollar(0.01)])
        decision = engine.check(check_input(BUY, 150, limit_price=120.0))
        assert not decision.approved

    def test_quantity_for_returns_the_resized_or_requested_quantity(self) -> None:
        assert RiskDecision(approved=True).quantity_for(7) == 7
        assert RiskDecision(approved=True, quantity=3.0).quantity_for(7) == 3.0

    def test_a_sell_is_resized_on_the_short_side(self) -> None:
        engine = RiskEngine([MaxPosition(100, action=RESIZE)])
        decision = engine.check(check_input(SELL, 300, position=50, open_sell=20))
        assert decision.quantity == 130


class TestStatefulRules:
    def test_stateful_rules_hear_of_approvals_with_the_final_quantity(self) -> None:
        counter = CountingRule()
        engine = RiskEngine([MaxOrderQuantity(40, action=RESIZE), counter])
        engine.check(check_input(BUY, 10))
        engine.check(check_input(BUY, 100))
        assert counter.approved == [10, 40]

    def test_stateful_rules_hear_nothing_of_rejections(self) -> None:
        counter = CountingRule()
        engine = RiskEngine([MaxOrderQuantity(40), counter])
        engine.check(check_input(BUY, 100))
        assert counter.approved == []


class TestCapacity:
    def test_engine_capacity_is_the_tightest_resizable_bound_in_lots(self) -> None:
        engine = RiskEngine([MaxPosition(100, action=RESIZE), MaxOrderQuantity(64, action=RESIZE)])
        assert engine.capacity(check_input(BUY, 1, lot_size=5)) == 60
