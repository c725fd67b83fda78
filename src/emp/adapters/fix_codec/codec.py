"""FixCodec: one side of a FIX 4.4 conversation, domain objects ⇄ raw bytes."""

from __future__ import annotations

from emp.adapters.fix_codec import decode, encode
from emp.adapters.fix_codec.errors import FixEncodeError
from emp.adapters.fix_codec.framing import read_message, write_message
from emp.adapters.fix_codec.records import OrderReportState, SessionReject
from emp.adapters.fix_codec.tags import CxlRejReason, CxlRejResponseTo, MsgType, Tag
from emp.adapters.fix_codec.values import format_text
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder, VenueCommand
from emp.domain.events import OrderCancelRejected, OrderEvent


class FixCodec:
    """Encodes EMP commands and events as FIX 4.4 messages and decodes them back.

    One codec is one side of a session: it stamps every outbound message with its own
    SenderCompID (49), the peer's TargetCompID (56), the next MsgSeqNum (34, from 1) and a
    SendingTime (52) taken from the ``sending_ns`` argument, never from the wall clock.
    Decoding is stateless: it checks framing and fields, not sequence numbers or CompIDs.

    Numbers round-trip exactly; timestamps are truncated to the millisecond (FIX 4.4
    UTCTimestamp), see :mod:`emp.adapters.fix_codec.values`. Decoding failures raise
    :class:`~emp.adapters.fix_codec.errors.FixDecodeError`; domain values FIX cannot carry
    (NaN, empty ids) raise :class:`~emp.adapters.fix_codec.errors.FixEncodeError`.
    """

    def __init__(self, sender_comp_id: str, target_comp_id: str) -> None:
        self.sender_comp_id = format_text(Tag.SENDER_COMP_ID, sender_comp_id)
        self.target_comp_id = format_text(Tag.TARGET_COMP_ID, target_comp_id)
        self._next_seq_num = 1

    @property
    def next_seq_num(self) -> int:
        """The MsgSeqNum (34) the next outbound message will carry."""
        return self._next_seq_num

    def _write(self, msg_type: str, body: encode.Body, sending_ns: int) -> bytes:
        raw = write_message(
            msg_type,
            sender_comp_id=self.sender_comp_id,
            target_comp_id=self.target_comp_id,
            seq_num=self._next_seq_num,
            sending_ns=sending_ns,
            body=body,
        )
        self._next_seq_num += 1
        return raw

    # --------------------------------------------------------------------- commands
    def encode_command(self, command: VenueCommand, *, sending_ns: int) -> bytes:
        """35=D, F or G for a :class:`SubmitOrder`, :class:`CancelOrder`, :class:`ReplaceOrder`."""
        match command:
            case SubmitOrder():
                body, msg_type = encode.new_order_single(command), MsgType.NEW_ORDER_SINGLE
            case CancelOrder():
                body, msg_type = encode.order_cancel_request(command), MsgType.ORDER_CANCEL_REQUEST
            case ReplaceOrder():
                body = encode.order_cancel_replace_request(command)
                msg_type = MsgType.ORDER_CANCEL_REPLACE_REQUEST
            case _:
                raise FixEncodeError(
                    Tag.MSG_TYPE, f"expected a venue command, was {type(command).__name__}"
                )
        return self._write(msg_type, body, sending_ns)

    def decode_command(self, raw: bytes) -> SubmitOrder | CancelOrder | ReplaceOrder:
        return decode.decode_command(read_message(raw))

    # ----------------------------------------------------------------------- events
    def encode_execution_report(
        self, event: OrderEvent, state: OrderReportState, *, sending_ns: int
    ) -> bytes:
        """35=8 for any event but a cancel reject; non-fill ExecIDs are ``<sender>-<seq>``."""
        exec_id = f"{self.sender_comp_id}-{self._next_seq_num}"
        body = encode.execution_report(event, state, exec_id)
        return self._write(MsgType.EXECUTION_REPORT, body, sending_ns)

    def encode_order_cancel_reject(
        self,
        event: OrderCancelRejected,
        state: OrderReportState,
        *,
        replace: bool,
        reason_code: int = CxlRejReason.OTHER,
        sending_ns: int,
    ) -> bytes:
        """35=9; ``replace`` picks CxlRejResponseTo (434) 2 (replace) over 1 (cancel)."""
        response_to = CxlRejResponseTo.REPLACE if replace else CxlRejResponseTo.CANCEL
        body = encode.order_cancel_reject(
            event, state, response_to=response_to, reason_code=reason_code
        )
        return self._write(MsgType.ORDER_CANCEL_REJECT, body, sending_ns)

    def decode_event(self, raw: bytes) -> OrderEvent:
        return decode.decode_event(read_message(raw))

    # ---------------------------------------------------------------- session level
    def encode_session_reject(self, reject: SessionReject, *, sending_ns: int) -> bytes:
        return self._write(MsgType.REJECT, encode.session_reject(reject), sending_ns)

    def decode_session_reject(self, raw: bytes) -> SessionReject:
        return decode.decode_session_reject(read_message(raw))

    @staticmethod
    def msg_type_of(raw: bytes) -> str:
        """The MsgType (35) of a valid message; raises FixDecodeError for a bad one."""
        return read_message(raw).msg_type
