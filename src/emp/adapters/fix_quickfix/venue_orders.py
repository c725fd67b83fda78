"""The served venue's memory of its orders across restarts: an append-only order log.

Every report the venue sends changes one order; the worker appends that order's new state
(one Python literal per line) and writes the lines out once per batch of work. A restarted
venue reads the log back, keeps each order's last state (oldest order first), hands them
to :meth:`~emp.domain.matching.MatchingEngine.restore` and rewrites the log compacted. So
after ``emp venue serve`` restarts on the same store folder, status requests (35=H,
35=AF), cancels and replaces of orders accepted before the restart work.

A line cut short by a crash (the last one) is skipped; anything else unreadable is an
error that names the file and the line.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import TextIO

from emp.domain.matching import OrderState
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from emp.ports.venue import VenueError

#: Each enum member's value by the member's identity (``.value`` is a Python-level
#: property: four of them per line cost more than the rest of the line).
_VALUE = {id(m): m.value for kind in (OrderSide, OrderType, TimeInForce, OrderStatus) for m in kind}


def _encode(state: OrderState) -> str:
    """One line: a Python literal of strings, floats and ``None`` (``repr`` is several
    times cheaper than JSON here, and :func:`ast.literal_eval` reads it back safely)."""
    value = _VALUE.__getitem__
    return repr(
        (
            state.owner,
            state.client_order_id,
            state.order_id,
            state.symbol,
            value(id(state.side)),
            value(id(state.order_type)),
            value(id(state.time_in_force)),
            state.limit_price,
            state.quantity,
            state.filled_quantity,
            state.average_price,
            value(id(state.status)),
        )
    )


def _decode(line: str) -> OrderState:
    owner, cid, order_id, symbol, side, kind, tif, price, qty, filled, average, status = (
        ast.literal_eval(line)
    )
    return OrderState(
        owner=owner,
        client_order_id=cid,
        order_id=order_id,
        symbol=symbol,
        side=OrderSide(side),
        order_type=OrderType(kind),
        time_in_force=TimeInForce(tif),
        limit_price=price,
        quantity=qty,
        filled_quantity=filled,
        average_price=average,
        status=OrderStatus(status),
    )


class VenueOrderLog:
    """See the module docstring. Used by the venue's worker thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO | None = None
        self._pending: dict[tuple[str, str], OrderState] = {}

    def load(self) -> list[OrderState]:
        """Each order's last state, oldest order first; compacts the file and opens it."""
        latest: dict[tuple[str, str], OrderState] = {}
        if self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, start=1):
                try:
                    state = _decode(line)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as e:
                    if number == len(lines):
                        break  # the last line, cut short by a crash
                    raise VenueError(
                        f"unreadable venue order log {self.path}, line {number}: {e}"
                    ) from e
                latest[(state.owner, state.client_order_id)] = state
        states = list(latest.values())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        compacted = self.path.with_suffix(".compacting")
        compacted.write_text("".join(_encode(s) + "\n" for s in states), encoding="utf-8")
        os.replace(compacted, self.path)
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        return states

    def record(self, state: OrderState) -> None:
        """Keep ``state`` for the next :meth:`flush` (only an order's last state in a
        batch is written: a NewOrderSingle's acceptance and fill make one line)."""
        self._pending[(state.owner, state.client_order_id)] = state

    def flush(self) -> None:
        if self._pending and self._handle is not None:
            states, self._pending = self._pending, {}
            self._handle.write("".join(_encode(state) + "\n" for state in states.values()))
            self._handle.flush()

    def close(self) -> None:
        self.flush()
        if self._handle is not None:
            self._handle.close()
            self._handle = None
