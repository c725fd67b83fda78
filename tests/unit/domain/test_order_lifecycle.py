"""The order state machine: every (source, target) pair, fills, requests and validation."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from emp.domain.errors import IllegalOrderTransition, InvalidFill, InvalidOrder
from emp.domain.orders import (
    ALLOWED_TRANSITIONS,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    is_legal_transition,
)

S = OrderStatus
QUANTITY = 100.0
FIRST_PARTIAL = 40.0
PRICE = 10.0

# Written out by hand from the lifecycle in the module docstring (FIX 4.4 OrdStatus),
# deliberately not derived from ALLOWED_TRANSITIONS.
EXPECTED_LEGAL: frozenset[tuple[str, str]] = frozenset(
    {
        ("PENDING_NEW", "NEW"),
        ("PENDING_NEW", "REJECTED"),
        ("PENDING_NEW", "PARTIALLY_FILLED"),
        ("PENDING_NEW", "FILLED"),
        ("NEW", "PARTIALLY_FILLED"),
        ("NEW", "FILLED"),
        ("NEW", "PENDING_CANCEL"),
        ("NEW", "PENDING_REPLACE"),
        ("NEW", "CANCELED"),
        ("NEW", "EXPIRED"),
        ("PARTIALLY_FILLED", "PARTIALLY_FILLED"),
        ("PARTIALLY_FILLED", "FILLED"),
        ("PARTIALLY_FILLED", "PENDING_CANCEL"),
        ("PARTIALLY_FILLED", "PENDING_REPLACE"),
        ("PARTIALLY_FILLED", "CANCELED"),
        ("PARTIALLY_FILLED", "EXPIRED"),
        ("PENDING_CANCEL", "CANCELED"),
        ("PENDING_CANCEL", "NEW"),
        ("PENDING_CANCEL", "PARTIALLY_FILLED"),
        ("PENDING_CANCEL", "FILLED"),
        ("PENDING_CANCEL", "EXPIRED"),
        ("PENDING_REPLACE", "REPLACED"),
        ("PENDING_REPLACE", "NEW"),
        ("PENDING_REPLACE", "PARTIALLY_FILLED"),
        ("PENDING_REPLACE", "FILLED"),
        ("PENDING_REPLACE", "EXPIRED"),
    }
)
TERMINAL = ("FILLED", "CANCELED", "REPLACED", "REJECTED", "EXPIRED")
ALL_PAIRS = [(source, target) for source in S for target in S]


def new_order(
    *,
    quantity: float = QUANTITY,
    order_type: OrderType = OrderType.MARKET,
    limit_price: float | None = None,
    client_order_id: str = "C-1",
) -> Order:
    return Order(
        client_order_id=client_order_id,
        symbol="AAPL",
        side=OrderSide.BUY,
        quantity=quantity,
        order_type=order_type,
        limit_price=limit_price,
    )


# How to reach each status with public calls only, starting from PENDING_NEW.
_PATHS: dict[OrderStatus, Callable[[Order], None]] = {
    S.PENDING_NEW: lambda o: None,
    S.NEW: lambda o: o.accept("V-1"),
    S.PARTIALLY_FILLED: lambda o: (o.accept("V-1"), o.fill(FIRST_PARTIAL, PRICE)),
    S.FILLED: lambda o: (o.accept("V-1"), o.fill(QUANTITY, PRICE)),
    S.PENDING_CANCEL: lambda o: (o.accept("V-1"), o.request_cancel()),
    S.PENDING_REPLACE: lambda o: (o.accept("V-1"), o.request_replace()),
    S.CANCELED: lambda o: (o.accept("V-1"), o.cancel()),
    S.REPLACED: lambda o: (o.accept("V-1"), o.request_replace(), o.mark_replaced()),
    S.REJECTED: lambda o: o.reject("no liquidity"),
    S.EXPIRED: lambda o: (o.accept("V-1"), o.expire()),
}


def order_in(status: OrderStatus) -> Order:
    order = new_order()
    _PATHS[status](order)
    assert order.status is status, f"helper failed to reach {status}"
    return order


def _partial_fill(order: Order) -> None:
    order.fill(10.0, PRICE)


def _complete_fill(order: Order) -> None:
    remaining = order.quantity - order.filled_quantity
    order.fill(remaining if remaining > 0 else 1.0, PRICE)


# The canonical public method that moves an order to each target status.
# PENDING_NEW has none: an order is born there and never returns.
_METHOD_FOR_TARGET: dict[OrderStatus, Callable[[Order], None]] = {
    # NEW is reached by an acknowledgement from PENDING_NEW, or by the venue refusing a
    # pending cancel/replace (back to where the order was).
    S.NEW: lambda o: (
        o.reject_request() if o.status in (S.PENDING_CANCEL, S.PENDING_REPLACE) else o.accept("V-2")
    ),
    S.PARTIALLY_FILLED: _partial_fill,
    S.FILLED: _complete_fill,
    S.PENDING_CANCEL: lambda o: o.request_cancel(),
    S.PENDING_REPLACE: lambda o: o.request_replace(),
    S.CANCELED: lambda o: o.cancel(),
    S.REPLACED: lambda o: o.mark_replaced(),
    S.REJECTED: lambda o: o.reject("refused"),
    S.EXPIRED: lambda o: o.expire(),
}
METHOD_PAIRS = [(source, target) for source in S for target in _METHOD_FOR_TARGET]


def _pair_id(pair: tuple[OrderStatus, OrderStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


class TestTransitionTable:
    @pytest.mark.parametrize("pair", ALL_PAIRS, ids=_pair_id)
    def test_is_legal_transition_matches_the_documented_lifecycle(
        self, pair: tuple[OrderStatus, OrderStatus]
    ) -> None:
        source, target = pair
        expected = (source.value, target.value) in EXPECTED_LEGAL
        assert is_legal_transition(source, target) is expected

    def test_every_status_has_an_entry_in_the_table(self) -> None:
        assert set(ALLOWED_TRANSITIONS) == set(S)

    def test_no_status_leads_back_to_pending_new(self) -> None:
        assert not any(is_legal_transition(source, S.PENDING_NEW) for source in S)

    def test_terminal_statuses_are_exactly_the_documented_ones(self) -> None:
        assert {s.value for s in S if s.is_terminal} == set(TERMINAL)


class TestTransitionsThroughPublicMethods:
    @pytest.mark.parametrize("pair", METHOD_PAIRS, ids=_pair_id)
    def test_move_succeeds_iff_the_lifecycle_allows_it(
        self, pair: tuple[OrderStatus, OrderStatus]
    ) -> None:
        source, target = pair
        order = order_in(source)
        move = _METHOD_FOR_TARGET[target]
        if (source.value, target.value) in EXPECTED_LEGAL:
            move(order)
            assert order.status is target
        else:
            with pytest.raises(IllegalOrderTransition):
                move(order)
            assert order.status is source

    @pytest.mark.parametrize("source", list(S), ids=lambda s: s.value)
    def test_no_public_call_returns_an_order_to_pending_new(self, source: OrderStatus) -> None:
        for move in (*_METHOD_FOR_TARGET.values(), lambda o: o.reject_request()):
            order = order_in(source)
            try:
                move(order)
            except (IllegalOrderTransition, InvalidFill):
                continue
            assert order.status is not S.PENDING_NEW

    def test_illegal_move_message_names_the_order_and_both_statuses(self) -> None:
        order = order_in(S.CANCELED)
        with pytest.raises(IllegalOrderTransition, match=r"C-1.*CANCELED.*EXPIRED"):
            order.expire()


class TestTerminalStatuses:
    @pytest.mark.parametrize("terminal", TERMINAL)
    def test_terminal_status_accepts_no_lifecycle_call(self, terminal: str) -> None:
        calls: dict[str, Callable[[Order], None]] = {
            "accept": lambda o: o.accept("V-9"),
            "reject": lambda o: o.reject("late"),
            "partial fill": _partial_fill,
            "complete fill": _complete_fill,
            "request_cancel": lambda o: o.request_cancel(),
            "request_replace": lambda o: o.request_replace(),
            "reject_request": lambda o: o.reject_request(),
            "cancel": lambda o: o.cancel(),
            "mark_replaced": lambda o: o.mark_replaced(),
            "expire": lambda o: o.expire(),
        }
        for name, call in calls.items():
            order = order_in(S[terminal])
            with pytest.raises(IllegalOrderTransition):
                call(order)
            assert order.status is S[terminal], name

    @pytest.mark.parametrize("terminal", TERMINAL)
    def test_terminal_order_has_no_leaves_and_is_not_open(self, terminal: str) -> None:
        order = order_in(S[terminal])
        assert order.leaves_quantity == 0.0
        assert not order.is_open


class TestPendingRequests:
    @pytest.mark.parametrize("request_name", ["request_cancel", "request_replace"])
    def test_rejected_request_returns_a_new_order_to_new(self, request_name: str) -> None:
        order = order_in(S.NEW)
        getattr(order, request_name)()
        order.reject_request()
        assert order.status is S.NEW

    @pytest.mark.parametrize("request_name", ["request_cancel", "request_replace"])
    def test_rejected_request_returns_a_partial_order_to_partially_filled(
        self, request_name: str
    ) -> None:
        order = order_in(S.PARTIALLY_FILLED)
        getattr(order, request_name)()
        order.reject_request()
        assert order.status is S.PARTIALLY_FILLED
        assert order.filled_quantity == FIRST_PARTIAL
        assert order.leaves_quantity == QUANTITY - FIRST_PARTIAL

    def test_second_cancel_request_after_a_rejected_one_is_allowed(self) -> None:
        order = order_in(S.PARTIALLY_FILLED)
        order.request_cancel()
        order.reject_request()
        order.request_cancel()
        order.reject_request()
        assert order.status is S.PARTIALLY_FILLED

    @pytest.mark.parametrize(
        "source", [s for s in S if s not in (S.PENDING_CANCEL, S.PENDING_REPLACE)]
    )
    def test_reject_request_without_a_pending_request_is_illegal(self, source: OrderStatus) -> None:
        order = order_in(source)
        with pytest.raises(IllegalOrderTransition, match="no pending"):
            order.reject_request()
        assert order.status is source

    def test_pending_cancel_can_be_filled_before_the_venue_acts(self) -> None:
        order = order_in(S.NEW)
        order.request_cancel()
        order.fill(QUANTITY, PRICE)
        assert order.status is S.FILLED
        assert order.leaves_quantity == 0.0

    def test_pending_replace_partially_filled_keeps_the_fill(self) -> None:
        order = order_in(S.NEW)
        order.request_replace()
        order.fill(25.0, PRICE)
        assert order.status is S.PARTIALLY_FILLED
        assert order.leaves_quantity == 75.0


class TestFills:
    def test_partial_then_complete_fill(self) -> None:
        order = order_in(S.NEW)
        order.fill(30.0, 10.0)
        assert order.status is S.PARTIALLY_FILLED
        assert order.filled_quantity == 30.0
        assert order.leaves_quantity == 70.0
        assert order.is_open
        order.fill(70.0, 11.0)
        assert order.status is S.FILLED
        assert order.filled_quantity == QUANTITY
        assert order.leaves_quantity == 0.0
        assert not order.is_open

    def test_immediate_fill_from_pending_new(self) -> None:
        order = new_order()
        order.fill(QUANTITY, PRICE)
        assert order.status is S.FILLED

    def test_average_price_is_the_quantity_weighted_mean(self) -> None:
        order = order_in(S.NEW)
        legs = [(10.0, 100.0), (30.0, 101.0), (60.0, 99.5)]
        for quantity, price in legs:
            order.fill(quantity, price)
        expected = sum(q * p for q, p in legs) / sum(q for q, _ in legs)
        assert order.average_fill_price == pytest.approx(expected, rel=1e-12)
        assert order.status is S.FILLED

    def test_overfill_raises_and_leaves_the_order_unchanged(self) -> None:
        order = order_in(S.PARTIALLY_FILLED)
        with pytest.raises(InvalidFill, match="exceeds leaves"):
            order.fill(QUANTITY - FIRST_PARTIAL + 1.0, PRICE)
        assert order.status is S.PARTIALLY_FILLED
        assert order.filled_quantity == FIRST_PARTIAL
        assert order.average_fill_price == PRICE

    def test_fill_within_float_tolerance_of_leaves_completes_the_order(self) -> None:
        order = new_order(quantity=0.3)
        order.accept()
        order.fill(0.1, PRICE)
        order.fill(0.2, PRICE)  # 0.3 - 0.1 is 0.19999999999999998
        assert order.status is S.FILLED
        assert order.filled_quantity == 0.3

    @pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan, math.inf])
    def test_non_positive_or_non_finite_fill_quantity_is_invalid(self, quantity: float) -> None:
        order = order_in(S.NEW)
        with pytest.raises(InvalidFill, match="quantity"):
            order.fill(quantity, PRICE)
        assert order.status is S.NEW

    @pytest.mark.parametrize("price", [0.0, -1.0, math.nan, math.inf])
    def test_non_positive_or_non_finite_fill_price_is_invalid(self, price: float) -> None:
        order = order_in(S.NEW)
        with pytest.raises(InvalidFill, match="price"):
            order.fill(10.0, price)
        assert order.status is S.NEW

    def test_canceled_partial_order_keeps_its_fills_but_has_no_leaves(self) -> None:
        order = order_in(S.PARTIALLY_FILLED)
        order.cancel()
        assert order.filled_quantity == FIRST_PARTIAL
        assert order.leaves_quantity == 0.0

    def test_accept_records_the_venue_order_id(self) -> None:
        order = new_order()
        order.accept("V-77")
        assert order.venue_order_id == "V-77"

    def test_reject_records_the_reason(self) -> None:
        order = new_order()
        order.reject("unknown symbol")
        assert order.reject_reason == "unknown symbol"


class TestConstruction:
    @pytest.mark.parametrize("quantity", [0.0, -5.0, math.nan, math.inf, -math.inf])
    def test_non_positive_or_non_finite_quantity_is_invalid(self, quantity: float) -> None:
        with pytest.raises(InvalidOrder, match="quantity"):
            new_order(quantity=quantity)

    def test_limit_order_without_a_price_is_invalid(self) -> None:
        with pytest.raises(InvalidOrder, match="limit price"):
            new_order(order_type=OrderType.LIMIT)

    def test_market_order_with_a_price_is_invalid(self) -> None:
        with pytest.raises(InvalidOrder, match="no limit price"):
            new_order(order_type=OrderType.MARKET, limit_price=10.0)

    def test_empty_client_order_id_is_invalid(self) -> None:
        with pytest.raises(InvalidOrder, match="client_order_id"):
            new_order(client_order_id="")

    @pytest.mark.parametrize("price", [0.0, -10.0, math.nan, math.inf])
    def test_limit_order_with_a_non_positive_or_non_finite_price_is_invalid(
        self, price: float
    ) -> None:
        with pytest.raises(InvalidOrder, match="limit price"):
            new_order(order_type=OrderType.LIMIT, limit_price=price)

    def test_valid_limit_order_starts_pending_new_with_full_leaves(self) -> None:
        order = new_order(order_type=OrderType.LIMIT, limit_price=101.15)
        assert order.status is S.PENDING_NEW
        assert order.leaves_quantity == QUANTITY
        assert order.filled_quantity == 0.0
        assert order.is_open


class TestOrderSide:
    def test_sign_and_opposite(self) -> None:
        assert OrderSide.BUY.sign == 1
        assert OrderSide.SELL.sign == -1
        assert OrderSide.BUY.opposite is OrderSide.SELL
        assert OrderSide.SELL.opposite is OrderSide.BUY


class TestAcknowledgement:
    @pytest.mark.parametrize("source", [S.PENDING_CANCEL, S.PENDING_REPLACE, S.NEW])
    def test_only_a_pending_new_order_can_be_accepted(self, source: OrderStatus) -> None:
        order = order_in(source)
        with pytest.raises(IllegalOrderTransition, match="only PENDING_NEW orders are accepted"):
            order.accept("V-9")
        assert order.status is source
        assert order.venue_order_id == "V-1"
