"""The served venue's answers beyond order reports: mass cancels (35=q → 35=r and one
cancel per working order) and status requests (35=H, 35=AF → 150=I reports).

A mixin of :class:`~.venue_worker.VenueWorker` (split off to keep modules small): it
works on the worker's exchange, sessions and sending, on the worker thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emp.adapters.fix_codec import status
from emp.adapters.fix_codec.tags import SIDE_FROM_FIX, MsgType, Tag
from emp.adapters.fix_quickfix.audit import Lineage
from emp.adapters.fix_quickfix.wire import (
    CANCEL_ALL,
    CANCEL_FOR_SECURITY,
    MASS_CANCEL_REPORT,
    MASS_CANCEL_REQUEST_TYPE,
    NOT_SUPPORTED,
    UNKNOWN_SECURITY,
    mass_cancel_report,
    no_order_report,
    status_report,
    unknown_order_report,
)
from emp.domain.commands import CancelOrder, VenueCommand
from emp.domain.matching import (
    MassStatusAnswer,
    MassStatusQuery,
    SimulatedExchange,
    StatusAnswer,
    StatusQuery,
)
from emp.domain.matching.exchange import Query

if TYPE_CHECKING:
    import quickfix as fix


class VenueAnswers:
    """Mass cancels and status answers, for :class:`~.venue_worker.VenueWorker`."""

    exchange: SimulatedExchange
    _session_of_owner: dict[str, fix.SessionID]
    _roots: dict[tuple[str, str], Lineage]
    _mass_cancels: dict[int, tuple[MassStatusQuery, str]]
    _mass_cancel_count: int
    _status_count: int
    _held: dict[str, list[VenueCommand | Query]]

    #: The worker's own: its clock reading, its route to the exchange, its sender
    #: ``(owner, session_id, msg_type, body, lineage[, header])``.
    _now: Callable[[], int]
    _to_exchange: Callable[[VenueCommand | Query, str], None]
    _send: Callable[..., None]

    def _queue_status(self, fields: Any, owner: str) -> None:
        cid, _, symbol, side, request_id = status.decode_status_request(fields)
        query = StatusQuery(
            client_order_id=cid, symbol=symbol, side=side, request_id=request_id or ""
        )
        self._to_exchange(query, owner)

    # ------------------------------------------------------------------ mass cancel
    def _queue_mass_cancel(self, fields: Any, owner: str) -> None:
        """35=q: learn the owner's working orders in turn (a mass status query through
        the exchange), then cancel each (:meth:`_cancel_working`)."""
        cid = fields.require(Tag.CL_ORD_ID)
        kind = fields.require(MASS_CANCEL_REQUEST_TYPE)
        symbol = fields.optional(Tag.SYMBOL)
        if kind not in (CANCEL_ALL, CANCEL_FOR_SECURITY) or (
            kind == CANCEL_FOR_SECURITY and not symbol
        ):
            reason = NOT_SUPPORTED if kind != CANCEL_FOR_SECURITY else UNKNOWN_SECURITY
            self._mass_cancel_report(owner, cid, kind, 0, reason)
            return
        side = SIDE_FROM_FIX.get(fields.optional(Tag.SIDE) or "")
        query = MassStatusQuery(cid, symbol if kind == CANCEL_FOR_SECURITY else None, side)
        self._mass_cancels[id(query)] = (query, kind)
        self._to_exchange(query, owner)
        self._held.setdefault(owner, [])

    def _cancel_working(self, answer: MassStatusAnswer, kind: str) -> None:
        """The 35=r, then one cancel per working order the answer lists, then what the
        owner sent after the mass cancel (held until now)."""
        owner, query, now = answer.owner, answer.query, self._now()
        self._mass_cancel_report(owner, query.request_id, kind, len(answer.states))
        for n, state in enumerate(answer.states, start=1):
            cancel = CancelOrder(
                client_order_id=f"{query.request_id}.{n}",
                orig_client_order_id=state.client_order_id,
                symbol=state.symbol,
                side=state.side,
                ts_ns=answer.ts_ns,
            )
            self.exchange.send(cancel, owner=owner, sent_ns=now)
        held = self._held.pop(owner, [])
        for k, command in enumerate(held):
            self.exchange.send(command, owner=owner, sent_ns=now)
            if id(command) in self._mass_cancels:  # another mass cancel: hold again
                self._held[owner] = held[k + 1 :]
                break

    def _mass_cancel_report(
        self, owner: str, cid: str, kind: str, affected: int, reason: str | None = None
    ) -> None:
        session_id = self._session_of_owner.get(owner)
        if session_id is None:
            return
        self._mass_cancel_count += 1
        order_id = f"{self.exchange.engine.config.order_id_prefix}MC{self._mass_cancel_count}"
        body = mass_cancel_report(
            cid, order_id, kind, affected=affected, ts_ns=self._now(), reject_reason=reason
        )
        lineage = self._roots.get((owner, cid), Lineage(cid))
        self._send(owner, session_id, MASS_CANCEL_REPORT, body, lineage)

    def _answer_status(self, answer: StatusAnswer) -> None:
        state, query = answer.state, answer.query
        if state is None:
            report = unknown_order_report(query, answer.ts_ns)
        else:
            report = status_report(state, answer.ts_ns, request_id=query.request_id or None)
        self._send_status(answer.owner, report, query.client_order_id)

    def _answer_mass_status(self, answer: MassStatusAnswer) -> None:
        """One report per working order, the last flagged; a single one if none."""
        query, total = answer.query, len(answer.states)
        if not answer.states:
            report = no_order_report(query, answer.ts_ns)
            self._send_status(answer.owner, report, "")
        for n, state in enumerate(answer.states, start=1):
            mass = (query.request_id, total, n == total)
            report = status_report(state, answer.ts_ns, mass=mass)
            self._send_status(answer.owner, report, state.client_order_id)

    def _send_status(self, owner: str, report: status.OrderStatusReport, cid: str) -> None:
        session_id = self._session_of_owner.get(owner)
        if session_id is None:
            return
        self._status_count += 1
        exec_id = f"{self.exchange.engine.config.exec_id_prefix}S{self._status_count}"
        body = status.order_status_report(report, exec_id)
        lineage = self._roots.get((owner, cid), Lineage())
        self._send(owner, session_id, MsgType.EXECUTION_REPORT, body, lineage)
