"""NewOrderSingles the venue never acknowledged: ask after them, send again if unknown.

A NewOrderSingle sent right after a Logon can vanish in the session layer: when the venue
then asks for a resend of messages from before it (it missed our last Logout, say), EMP's
side gap-fills its application messages (``PersistMessages=N``, so no password ever
reaches a store file), and the venue skips the order without seeing it. Nothing tells us.
So an order still PENDING_NEW after ``timeout_s`` is asked after with an
OrderStatusRequest (35=H); if the venue answers "unknown order" (39=8, 103=5) it is sent
again, same ClOrdID (the venue has confirmed it never took it, so this cannot double it),
up to ``max_resends`` times and only while the order is younger than ``max_age_s`` (a
stale order must not reach a market long after its decision); after that the answer goes
to the tracker, which rejects the order as unknown. An order the venue does know is
answered with its state, which the reconciler applies. Owner's thread only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from emp.adapters.fix_codec import status
from emp.adapters.fix_codec.tags import MsgType
from emp.adapters.fix_quickfix.audit import Lineage
from emp.adapters.fix_quickfix.order_tracker import OrderTracker
from emp.domain.orders import OrderStatus

#: Sends one application message: (MsgType, body pairs or body text, lineage).
Send = Callable[[str, list[tuple[int, str]] | str, Lineage], None]


@dataclass(slots=True)
class _Unacked:
    body: list[tuple[int, str]] | str
    lineage: Lineage
    since_s: float
    first_s: float
    resends: int = 0
    asked: bool = False


class AckWatch:
    """See the module docstring. ``send`` sends one application message."""

    def __init__(
        self,
        send: Send,
        note: Callable[[str], None],
        *,
        timeout_s: float = 2.0,
        max_resends: int = 3,
        max_age_s: float = 10.0,
    ) -> None:
        self._send = send
        self._note = note
        self._timeout_s = timeout_s
        self._max_resends = max_resends
        self._max_age_s = max_age_s
        #: Oldest ``since_s`` first (O(1) to take from the front or move to the back).
        self._orders: OrderedDict[str, _Unacked] = OrderedDict()
        self._requests = 0
        self.resent = 0

    @property
    def pending(self) -> bool:
        return bool(self._orders)

    def sent(
        self,
        client_order_id: str,
        body: list[tuple[int, str]] | str,
        lineage: Lineage,
        now_s: float,
    ) -> None:
        """A NewOrderSingle went out."""
        self._orders.pop(client_order_id, None)  # to the back, even when sent before
        self._orders[client_order_id] = _Unacked(body, lineage, now_s, now_s)

    def check(self, tracker: OrderTracker, now_s: float) -> None:
        """Forget acknowledged orders; ask after those unanswered for ``timeout_s``.

        Watched orders are kept oldest ``since_s`` first (an order asked after or sent
        again moves to the back), so the scan stops at the first unacknowledged order
        still inside its timeout: a drain costs the orders acknowledged since the last
        one, not every order in flight.
        """
        orders = self._orders
        while orders:
            cid = next(iter(orders))
            watched = orders[cid]
            order = tracker.orders.get(cid)
            if order is None or order.status is not OrderStatus.PENDING_NEW:
                del orders[cid]
                continue
            if now_s - watched.since_s <= self._timeout_s:
                break
            self._requests += 1
            body = status.order_status_request(
                client_order_id=cid,
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                request_id=f"A{self._requests}",
            )
            watched.asked, watched.since_s = True, now_s
            orders.move_to_end(cid)  # the newest since_s now
            self._note(f"order {cid} unacknowledged for {self._timeout_s:g} s: asking (35=H)")
            self._send(status.ORDER_STATUS_REQUEST, body, watched.lineage)

    def resend_if_unknown(self, report: status.OrderStatusReport, now_s: float) -> bool:
        """Whether ``report`` ("unknown order" about a watched order) made us send the
        order again — then it is not the order's end and must not reach the tracker."""
        watched = self._orders.get(report.client_order_id)
        if report.known or watched is None or not watched.asked:
            return False
        if watched.resends >= self._max_resends or now_s - watched.first_s > self._max_age_s:
            del self._orders[report.client_order_id]
            return False
        watched.resends += 1
        watched.asked, watched.since_s = False, now_s
        self._orders.move_to_end(report.client_order_id)  # the newest since_s now
        self.resent += 1
        self._note(
            f"the venue does not know order {report.client_order_id}: sending it again "
            f"({watched.resends} of at most {self._max_resends})"
        )
        self._send(MsgType.NEW_ORDER_SINGLE, watched.body, watched.lineage)
        return True
