"""A FIX 4.4 codec on simplefix: EMP commands and events ⇄ raw FIX bytes.

Modules: :mod:`.tags` (tag numbers and enumerations), :mod:`.values` (exact floats,
UTCTimestamps), :mod:`.framing` (BodyLength, CheckSum, typed field reads), :mod:`.encode`
and :mod:`.decode` (message bodies), :mod:`.codec` (:class:`FixCodec`, one session side).
"""

from emp.adapters.fix_codec.codec import FixCodec
from emp.adapters.fix_codec.errors import FixDecodeError, FixEncodeError
from emp.adapters.fix_codec.records import NO_ORDER_ID, OrderReportState, SessionReject
from emp.adapters.fix_codec.tags import CxlRejReason, MsgType, SessionRejectReason, Tag

__all__ = [
    "NO_ORDER_ID",
    "CxlRejReason",
    "FixCodec",
    "FixDecodeError",
    "FixEncodeError",
    "MsgType",
    "OrderReportState",
    "SessionReject",
    "SessionRejectReason",
    "Tag",
]
