"""The codec's errors: both are :class:`~emp.ports.venue.VenueProtocolError`."""

from __future__ import annotations

from emp.adapters.fix_codec.tags import SessionRejectReason, tag_label
from emp.ports.venue import VenueProtocolError


class FixDecodeError(VenueProtocolError):
    """Raw bytes are not a valid FIX 4.4 message of the kind expected.

    Attributes:
        tag: the offending tag, or ``None`` when the bytes are not FIX at all
            (garbage, truncated).
        reason: what is wrong, in words ("expected a decimal number, was 'abc'").
        session_reject_reason: the FIX SessionRejectReason (373) code a session-level
            Reject (35=3) answering this message should carry.
        ref_seq_num: the MsgSeqNum (34) of the bad message when it could be read, else None.
        ref_msg_type: the MsgType (35) of the bad message when it could be read, else None.
    """

    def __init__(
        self,
        tag: int | None,
        reason: str,
        *,
        session_reject_reason: int = SessionRejectReason.OTHER,
        ref_seq_num: int | None = None,
        ref_msg_type: str | None = None,
    ) -> None:
        where = f"FIX tag {tag_label(tag)}" if tag is not None else "FIX message"
        super().__init__(f"{where}: {reason}")
        self.tag = tag
        self.reason = reason
        self.session_reject_reason = session_reject_reason
        self.ref_seq_num = ref_seq_num
        self.ref_msg_type = ref_msg_type

    def with_reference(self, ref_seq_num: int | None, ref_msg_type: str | None) -> FixDecodeError:
        """A copy that also names the message it is about (for a 35=3 reply)."""
        return FixDecodeError(
            self.tag,
            self.reason,
            session_reject_reason=self.session_reject_reason,
            ref_seq_num=ref_seq_num,
            ref_msg_type=ref_msg_type,
        )


class FixEncodeError(VenueProtocolError):
    """A domain value cannot be written as FIX (NaN quantity, empty ClOrdID, SOH in text).

    Attributes:
        tag: the field that could not be written.
        reason: why, in words.
    """

    def __init__(self, tag: int, reason: str) -> None:
        super().__init__(f"cannot encode FIX tag {tag_label(tag)}: {reason}")
        self.tag = tag
        self.reason = reason
