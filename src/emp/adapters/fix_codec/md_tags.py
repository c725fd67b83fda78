"""FIX 4.4 market-data tags, MsgTypes and enumerations (35=V, W, X, Y).

Tag 1023 (MDPriceLevel) is a FIX 5.0 tag that many FIX 4.4 feeds carry; quickfix's stock
FIX44.xml does not define it, EMP's own decoder does.
"""

from __future__ import annotations

from typing import Final

from emp.adapters.fix_codec.tags import Tag, tag_label


class MdTag:
    """Tag numbers of the market-data messages (header tags are in :class:`Tag`)."""

    MD_REQ_ID = 262
    SUBSCRIPTION_REQUEST_TYPE = 263
    MARKET_DEPTH = 264
    MD_UPDATE_TYPE = 265
    NO_MD_ENTRY_TYPES = 267
    NO_MD_ENTRIES = 268
    MD_ENTRY_TYPE = 269
    MD_ENTRY_PX = 270
    MD_ENTRY_SIZE = 271
    MD_ENTRY_ID = 278
    MD_UPDATE_ACTION = 279
    MD_REQ_REJ_REASON = 281
    RPT_SEQ = 83
    NO_RELATED_SYM = 146
    SYMBOL = Tag.SYMBOL
    TEXT = Tag.TEXT
    MD_PRICE_LEVEL = 1023


#: Names of the market-data tags, for error messages (header tags: ``tags.TAG_NAMES``).
MD_TAG_NAMES: Final[dict[int, str]] = {
    MdTag.MD_REQ_ID: "MDReqID",
    MdTag.SUBSCRIPTION_REQUEST_TYPE: "SubscriptionRequestType",
    MdTag.MARKET_DEPTH: "MarketDepth",
    MdTag.MD_UPDATE_TYPE: "MDUpdateType",
    MdTag.NO_MD_ENTRY_TYPES: "NoMDEntryTypes",
    MdTag.NO_MD_ENTRIES: "NoMDEntries",
    MdTag.MD_ENTRY_TYPE: "MDEntryType",
    MdTag.MD_ENTRY_PX: "MDEntryPx",
    MdTag.MD_ENTRY_SIZE: "MDEntrySize",
    MdTag.MD_ENTRY_ID: "MDEntryID",
    MdTag.MD_UPDATE_ACTION: "MDUpdateAction",
    MdTag.MD_REQ_REJ_REASON: "MDReqRejReason",
    MdTag.RPT_SEQ: "RptSeq",
    MdTag.NO_RELATED_SYM: "NoRelatedSym",
    MdTag.MD_PRICE_LEVEL: "MDPriceLevel",
}


def md_tag_label(tag: int) -> str:
    """``"270 (MDEntryPx)"``; header tags as :func:`~emp.adapters.fix_codec.tags.tag_label`."""
    name = MD_TAG_NAMES.get(tag)
    return f"{tag} ({name})" if name else tag_label(tag)


class MdMsgType:
    """MsgType (35) values of the market-data messages."""

    MARKET_DATA_REQUEST = "V"
    SNAPSHOT_FULL_REFRESH = "W"
    INCREMENTAL_REFRESH = "X"
    REQUEST_REJECT = "Y"


class SubscriptionRequestType:
    """SubscriptionRequestType (263)."""

    SNAPSHOT = "0"
    SNAPSHOT_PLUS_UPDATES = "1"
    UNSUBSCRIBE = "2"


#: MDUpdateType (265) 1: incremental refresh (the only kind EMP asks for).
MD_UPDATE_TYPE_INCREMENTAL: Final = "1"

#: The wire codes of MDUpdateAction (279) and MDEntryType (269) EMP accepts; they equal the
#: domain's :class:`~emp.domain.market_data.UpdateAction` / ``EntryType`` codes.
UPDATE_ACTIONS: Final[dict[bytes, int]] = {b"0": 0, b"1": 1, b"2": 2, b"3": 3, b"4": 4}
ENTRY_TYPES: Final[dict[bytes, int]] = {b"0": 0, b"1": 1, b"2": 2}
