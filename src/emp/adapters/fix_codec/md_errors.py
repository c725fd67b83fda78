"""The market-data decoder's error: a FIX decode error that is also the MD port's."""

from __future__ import annotations

from emp.adapters.fix_codec.errors import FixDecodeError
from emp.adapters.fix_codec.md_tags import md_tag_label
from emp.adapters.fix_codec.tags import SessionRejectReason
from emp.ports.market_data import MalformedMarketData


class MdDecodeError(FixDecodeError, MalformedMarketData):
    """A 35=V/W/X/Y message is malformed; ``tag`` names the offending field.

    Besides :class:`FixDecodeError`'s attributes it carries ``symbols``: the instruments
    the message named before decoding failed (empty when none could be read), so the
    books they may have touched can be marked stale.
    """

    def __init__(
        self,
        tag: int | None,
        reason: str,
        *,
        session_reject_reason: int = SessionRejectReason.VALUE_OUT_OF_RANGE,
        ref_seq_num: int | None = None,
        ref_msg_type: str | None = None,
        symbols: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            tag,
            reason,
            session_reject_reason=session_reject_reason,
            ref_seq_num=ref_seq_num,
            ref_msg_type=ref_msg_type,
        )
        where = f"FIX tag {md_tag_label(tag)}" if tag is not None else "FIX message"
        self.args = (f"{where}: {reason}",)
        self.symbols = symbols
