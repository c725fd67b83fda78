"""FIX 4.4 tag numbers and the enumerations EMP uses, in one place.

Only the tags EMP reads or writes are listed. Each enumeration is a pair of maps (domain
value → wire value, wire value → domain value) so encoding and decoding cannot drift apart.
"""

from __future__ import annotations

from typing import Final

from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce

BEGIN_STRING: Final = "FIX.4.4"
SOH: Final = b"\x01"


class Tag:
    """FIX 4.4 tag numbers (standard header, trailer and the application fields EMP uses)."""

    ACCOUNT = 1
    AVG_PX = 6
    BEGIN_STRING = 8
    BODY_LENGTH = 9
    CHECKSUM = 10
    CL_ORD_ID = 11
    COMMISSION = 12
    COMM_TYPE = 13
    CUM_QTY = 14
    EXEC_ID = 17
    LAST_PX = 31
    LAST_QTY = 32
    MSG_SEQ_NUM = 34
    MSG_TYPE = 35
    ORDER_ID = 37
    ORDER_QTY = 38
    ORD_STATUS = 39
    ORD_TYPE = 40
    ORIG_CL_ORD_ID = 41
    PRICE = 44
    REF_SEQ_NUM = 45
    SENDER_COMP_ID = 49
    SENDING_TIME = 52
    SIDE = 54
    SYMBOL = 55
    TARGET_COMP_ID = 56
    TEXT = 58
    TIME_IN_FORCE = 59
    TRANSACT_TIME = 60
    CXL_REJ_REASON = 102
    ORD_REJ_REASON = 103
    EXEC_TYPE = 150
    LEAVES_QTY = 151
    REF_TAG_ID = 371
    REF_MSG_TYPE = 372
    SESSION_REJECT_REASON = 373
    CXL_REJ_RESPONSE_TO = 434


#: Human names of the tags above, used in error messages ("tag 38 (OrderQty)").
TAG_NAMES: Final[dict[int, str]] = {
    Tag.ACCOUNT: "Account",
    Tag.AVG_PX: "AvgPx",
    Tag.BEGIN_STRING: "BeginString",
    Tag.BODY_LENGTH: "BodyLength",
    Tag.CHECKSUM: "CheckSum",
    Tag.CL_ORD_ID: "ClOrdID",
    Tag.COMMISSION: "Commission",
    Tag.COMM_TYPE: "CommType",
    Tag.CUM_QTY: "CumQty",
    Tag.EXEC_ID: "ExecID",
    Tag.LAST_PX: "LastPx",
    Tag.LAST_QTY: "LastQty",
    Tag.MSG_SEQ_NUM: "MsgSeqNum",
    Tag.MSG_TYPE: "MsgType",
    Tag.ORDER_ID: "OrderID",
    Tag.ORDER_QTY: "OrderQty",
    Tag.ORD_STATUS: "OrdStatus",
    Tag.ORD_TYPE: "OrdType",
    Tag.ORIG_CL_ORD_ID: "OrigClOrdID",
    Tag.PRICE: "Price",
    Tag.REF_SEQ_NUM: "RefSeqNum",
    Tag.SENDER_COMP_ID: "SenderCompID",
    Tag.SENDING_TIME: "SendingTime",
    Tag.SIDE: "Side",
    Tag.SYMBOL: "Symbol",
    Tag.TARGET_COMP_ID: "TargetCompID",
    Tag.TEXT: "Text",
    Tag.TIME_IN_FORCE: "TimeInForce",
    Tag.TRANSACT_TIME: "TransactTime",
    Tag.CXL_REJ_REASON: "CxlRejReason",
    Tag.ORD_REJ_REASON: "OrdRejReason",
    Tag.EXEC_TYPE: "ExecType",
    Tag.LEAVES_QTY: "LeavesQty",
    Tag.REF_TAG_ID: "RefTagID",
    Tag.REF_MSG_TYPE: "RefMsgType",
    Tag.SESSION_REJECT_REASON: "SessionRejectReason",
    Tag.CXL_REJ_RESPONSE_TO: "CxlRejResponseTo",
}


def tag_label(tag: int) -> str:
    """``"38 (OrderQty)"`` for a known tag, ``"9999"`` for any other."""
    name = TAG_NAMES.get(tag)
    return f"{tag} ({name})" if name else str(tag)


class MsgType:
    """FIX 4.4 MsgType (35) values EMP sends or accepts."""

    REJECT = "3"
    EXECUTION_REPORT = "8"
    ORDER_CANCEL_REJECT = "9"
    NEW_ORDER_SINGLE = "D"
    ORDER_CANCEL_REQUEST = "F"
    ORDER_CANCEL_REPLACE_REQUEST = "G"


#: MsgTypes that carry a command from a client to a venue.
COMMAND_MSG_TYPES: Final = frozenset(
    {MsgType.NEW_ORDER_SINGLE, MsgType.ORDER_CANCEL_REQUEST, MsgType.ORDER_CANCEL_REPLACE_REQUEST}
)
#: MsgTypes that carry an order event from a venue to a client.
EVENT_MSG_TYPES: Final = frozenset({MsgType.EXECUTION_REPORT, MsgType.ORDER_CANCEL_REJECT})


class ExecType:
    """FIX 4.4 ExecType (150) values, one per domain event kind."""

    NEW = "0"
    CANCELED = "4"
    REPLACED = "5"
    REJECTED = "8"
    EXPIRED = "C"
    TRADE = "F"


EXEC_TYPES: Final = frozenset(
    {
        ExecType.NEW,
        ExecType.CANCELED,
        ExecType.REPLACED,
        ExecType.REJECTED,
        ExecType.EXPIRED,
        ExecType.TRADE,
    }
)


class CxlRejResponseTo:
    """FIX CxlRejResponseTo (434): which request an OrderCancelReject answers."""

    CANCEL = "1"
    REPLACE = "2"


class CxlRejReason:
    """FIX CxlRejReason (102) codes."""

    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    BROKER_OPTION = 2
    ALREADY_PENDING = 3
    DUPLICATE_CL_ORD_ID = 6
    OTHER = 99


class SessionRejectReason:
    """FIX SessionRejectReason (373) codes used for session-level Rejects (35=3)."""

    INVALID_TAG_NUMBER = 0
    REQUIRED_TAG_MISSING = 1
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE = 2
    VALUE_OUT_OF_RANGE = 5
    INCORRECT_DATA_FORMAT = 6
    INVALID_MSG_TYPE = 11
    TAG_APPEARS_MORE_THAN_ONCE = 13
    TAG_OUT_OF_ORDER = 14
    OTHER = 99


#: CommType (13) "absolute": Commission (12) is the total fee in the order currency.
COMM_TYPE_ABSOLUTE: Final = "3"

SIDE_TO_FIX: Final = {OrderSide.BUY: "1", OrderSide.SELL: "2"}
SIDE_FROM_FIX: Final = {v: k for k, v in SIDE_TO_FIX.items()}

ORD_TYPE_TO_FIX: Final = {OrderType.MARKET: "1", OrderType.LIMIT: "2"}
ORD_TYPE_FROM_FIX: Final = {v: k for k, v in ORD_TYPE_TO_FIX.items()}

TIF_TO_FIX: Final = {
    TimeInForce.DAY: "0",
    TimeInForce.GTC: "1",
    TimeInForce.IOC: "3",
    TimeInForce.FOK: "4",
}
TIF_FROM_FIX: Final = {v: k for k, v in TIF_TO_FIX.items()}

#: OrdStatus (39) as FIX 4.4 sends it. 4.4 dropped 5 (Replaced): a replace is reported
#: with ExecType 5 and the order's *current* status (0 or 1), and a ClOrdID that was
#: replaced is done, so a status report about it says 4 (Canceled).
ORD_STATUS_TO_FIX: Final = {
    OrderStatus.NEW: "0",
    OrderStatus.PARTIALLY_FILLED: "1",
    OrderStatus.FILLED: "2",
    OrderStatus.CANCELED: "4",
    OrderStatus.REPLACED: "4",
    OrderStatus.PENDING_CANCEL: "6",
    OrderStatus.REJECTED: "8",
    OrderStatus.PENDING_NEW: "A",
    OrderStatus.EXPIRED: "C",
    OrderStatus.PENDING_REPLACE: "E",
}
#: Inbound, "5" (Replaced, FIX 4.2/4.3 venues) is still understood.
ORD_STATUS_FROM_FIX: Final = {
    **{v: k for k, v in ORD_STATUS_TO_FIX.items() if k is not OrderStatus.REPLACED},
    "5": OrderStatus.REPLACED,
}

#: OrdRejReason (103) values FIX 4.4 defines. A domain code outside them (18, invalid
#: price increment, is FIX 5.0) is sent as 99 (Other), the reason in Text (58).
FIX44_ORD_REJ_REASONS: Final = frozenset({*range(12), 13, 14, 15, 16, 99})
ORD_REJ_REASON_OTHER: Final = 99
