"""A fake simulated venue for engine unit tests: market orders fill at the next bar's open,
no fees, no validation beyond what the test sets up. Records every command it received."""

from __future__ import annotations

from collections.abc import Sequence

from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderAccepted, OrderEvent, OrderFilled
from emp.domain.fills import Fill


class FakeNextOpenVenue:
    def __init__(self, fee_per_fill: float = 0.0) -> None:
        self.fee_per_fill = fee_per_fill
        self.submitted: list[SubmitOrder] = []
        self._working: list[SubmitOrder] = []
        self._events: list[OrderEvent] = []
        self._exec = 0

    def submit_order(self, command: SubmitOrder) -> None:
        self.submitted.append(command)
        self._working.append(command)
        self._events.append(
            OrderAccepted(
                client_order_id=command.client_order_id,
                venue_order_id=f"V{len(self.submitted)}",
                ts_ns=command.ts_ns,
            )
        )

    def cancel_order(self, command: CancelOrder) -> None:  # pragma: no cover - unused
        raise NotImplementedError("the fake venue does not cancel")

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:  # pragma: no cover
        raise NotImplementedError("the fake venue does not cancel")

    def replace_order(self, command: ReplaceOrder) -> None:  # pragma: no cover - unused
        raise NotImplementedError("the fake venue does not replace")

    def on_bar(self, bar: Bar) -> None:
        still = []
        for command in self._working:
            if command.symbol != bar.symbol:
                still.append(command)
                continue
            self._exec += 1
            self._events.append(
                OrderFilled(
                    fill=Fill(
                        exec_id=f"X{self._exec}",
                        client_order_id=command.client_order_id,
                        symbol=bar.symbol,
                        side=command.side,
                        quantity=command.quantity,
                        price=bar.open,
                        fee=self.fee_per_fill,
                        ts_ns=bar.ts_ns,
                    )
                )
            )
        self._working = still

    def drain_events(self) -> list[OrderEvent]:
        events, self._events = self._events, []
        return events
