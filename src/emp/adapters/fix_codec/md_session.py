"""simplefix paths of the market-data messages: 35=V and 35=Y, and a reference W/X decoder.

Requests (35=V) and rejects (35=Y) are few, so they go through simplefix like every other
general message. :func:`decode_md_simplefix` decodes 35=W/X the straightforward way —
simplefix's parser, then a walk over its (tag, value) pairs — into the very same domain
messages as the dedicated :func:`~emp.adapters.fix_codec.md_decode.decode_md`; tests use
it as an independent oracle and the benchmark as the baseline.
"""

from __future__ import annotations

import simplefix

from emp.adapters.fix_codec.errors import FixEncodeError
from emp.adapters.fix_codec.framing import read_message, write_message
from emp.adapters.fix_codec.md_decode import _Context, _frame, _sending_ns, decode_md
from emp.adapters.fix_codec.md_errors import MdDecodeError
from emp.adapters.fix_codec.md_tags import (
    ENTRY_TYPES,
    MD_UPDATE_TYPE_INCREMENTAL,
    UPDATE_ACTIONS,
    MdMsgType,
    MdTag,
    SubscriptionRequestType,
)
from emp.adapters.fix_codec.tags import SessionRejectReason, Tag
from emp.adapters.fix_codec.values import format_int, format_text
from emp.domain.market_data import (
    ABSENT,
    MarketDataMessage,
    MdEntries,
    MdIncrement,
    MdMessageQuarantined,
    MdOtherMessage,
    MdRequestRejected,
    MdSnapshot,
    SubscribeMarketData,
    UnsubscribeMarketData,
)

R = SessionRejectReason


# --------------------------------------------------------------------------- 35=V / 35=Y
def encode_market_data_request(
    command: SubscribeMarketData | UnsubscribeMarketData,
    *,
    sender_comp_id: str,
    target_comp_id: str,
    seq_num: int,
    sending_ns: int,
) -> bytes:
    """35=V: subscribe (263=1), one snapshot (263=0) or unsubscribe (263=2); bids and offers."""
    if not command.symbols:
        raise FixEncodeError(MdTag.NO_RELATED_SYM, "expected at least one symbol, was none")
    if isinstance(command, SubscribeMarketData):
        kind = (
            SubscriptionRequestType.SNAPSHOT
            if command.snapshot_only
            else SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES
        )
        depth = command.depth
    else:
        kind, depth = SubscriptionRequestType.UNSUBSCRIBE, 0
    body: list[tuple[int, str]] = [
        (MdTag.MD_REQ_ID, format_text(MdTag.MD_REQ_ID, command.request_id)),
        (MdTag.SUBSCRIPTION_REQUEST_TYPE, kind),
        (MdTag.MARKET_DEPTH, format_int(MdTag.MARKET_DEPTH, depth)),
    ]
    if kind == SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES:
        body.append((MdTag.MD_UPDATE_TYPE, MD_UPDATE_TYPE_INCREMENTAL))
    body += [(MdTag.NO_MD_ENTRY_TYPES, "2"), (MdTag.MD_ENTRY_TYPE, "0"), (MdTag.MD_ENTRY_TYPE, "1")]
    body.append((MdTag.NO_RELATED_SYM, str(len(command.symbols))))
    body += [(MdTag.SYMBOL, format_text(Tag.SYMBOL, s)) for s in command.symbols]
    return write_message(
        MdMsgType.MARKET_DATA_REQUEST,
        sender_comp_id=sender_comp_id,
        target_comp_id=target_comp_id,
        seq_num=seq_num,
        sending_ns=sending_ns,
        body=body,
    )


def _pairs(raw: bytes, ctx: _Context) -> list[tuple[int, bytes]]:
    """Framing checked by the MD decoder's rules, fields split by simplefix."""
    _frame(raw, ctx, True)
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    try:
        message = parser.get_message()
    except Exception as e:  # simplefix raises several unrelated types for garbage
        raise ctx.error(None, f"garbled tag=value pairs ({e!r})") from e
    if message is None:
        raise ctx.error(None, "truncated message")
    return [(int(tag), value) for tag, value in message]


def decode_market_data_request(raw: bytes) -> SubscribeMarketData | UnsubscribeMarketData:
    """35=V → a subscribe (263=0 or 1) or unsubscribe (263=2) command."""
    ctx = _Context()
    pairs = _pairs(raw, ctx)
    values: dict[int, bytes] = {}
    symbols: list[str] = []
    for tag, value in pairs:
        if tag == MdTag.SYMBOL:
            symbols.append(value.decode("utf-8", "replace"))
        else:
            values.setdefault(tag, value)
    ctx.msg_type = values.get(Tag.MSG_TYPE, b"").decode("ascii", "replace")
    if ctx.msg_type != MdMsgType.MARKET_DATA_REQUEST:
        raise ctx.error(
            Tag.MSG_TYPE, f"expected MsgType 'V', was {ctx.msg_type!r}", R.INVALID_MSG_TYPE
        )
    for tag in (
        MdTag.MD_REQ_ID,
        MdTag.SUBSCRIPTION_REQUEST_TYPE,
        MdTag.MARKET_DEPTH,
        MdTag.NO_RELATED_SYM,
    ):
        if tag not in values:
            raise ctx.error(tag, "required tag is missing", R.REQUIRED_TAG_MISSING)
    declared = values[MdTag.NO_RELATED_SYM]
    if not declared.isdigit() or int(declared) != len(symbols) or not symbols:
        raise ctx.error(MdTag.NO_RELATED_SYM, f"expected {len(symbols)} symbols, was {declared!r}")
    depth_text = values[MdTag.MARKET_DEPTH]
    if not depth_text.isdigit():
        raise ctx.error(
            MdTag.MARKET_DEPTH,
            f"expected a depth >= 0, was {depth_text!r}",
            R.INCORRECT_DATA_FORMAT,
        )
    request_id = values[MdTag.MD_REQ_ID].decode("utf-8", "replace")
    kind = values[MdTag.SUBSCRIPTION_REQUEST_TYPE].decode("ascii", "replace")
    if kind == SubscriptionRequestType.UNSUBSCRIBE:
        return UnsubscribeMarketData(request_id=request_id, symbols=tuple(symbols))
    if kind not in (
        SubscriptionRequestType.SNAPSHOT,
        SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES,
    ):
        raise ctx.error(
            MdTag.SUBSCRIPTION_REQUEST_TYPE, f"expected one of '0', '1', '2', was {kind!r}"
        )
    return SubscribeMarketData(
        request_id=request_id,
        symbols=tuple(symbols),
        depth=int(depth_text),
        snapshot_only=kind == SubscriptionRequestType.SNAPSHOT,
    )


def encode_request_reject(
    reject: MdRequestRejected, *, sender_comp_id: str, target_comp_id: str
) -> bytes:
    """35=Y for a refused request (reason code 281 and Text 58 when given)."""
    body = [(MdTag.MD_REQ_ID, format_text(MdTag.MD_REQ_ID, reject.request_id))]
    if reject.reason_code is not None:
        body.append((MdTag.MD_REQ_REJ_REASON, str(reject.reason_code)))
    if reject.text:
        body.append((Tag.TEXT, format_text(Tag.TEXT, reject.text)))
    return write_message(
        MdMsgType.REQUEST_REJECT,
        sender_comp_id=sender_comp_id,
        target_comp_id=target_comp_id,
        seq_num=reject.seq_num,
        sending_ns=reject.ts_ns,
        body=body,
    )


def decode_request_reject(raw: bytes) -> MdRequestRejected:
    """35=Y → :class:`MdRequestRejected` (through the general simplefix path)."""
    try:
        fields = read_message(raw)
    except MdDecodeError:
        raise
    except Exception as e:
        tag = getattr(e, "tag", None)
        raise MdDecodeError(tag, getattr(e, "reason", str(e))) from e
    if fields.msg_type != MdMsgType.REQUEST_REJECT:
        raise MdDecodeError(
            Tag.MSG_TYPE,
            f"expected MsgType 'Y', was {fields.msg_type!r}",
            session_reject_reason=R.INVALID_MSG_TYPE,
        )
    reason = fields.optional(MdTag.MD_REQ_REJ_REASON)
    try:
        return MdRequestRejected(
            request_id=fields.require(MdTag.MD_REQ_ID),
            reason_code=None if reason is None else fields.require_int(MdTag.MD_REQ_REJ_REASON),
            text=fields.optional(Tag.TEXT) or "",
            seq_num=fields.seq_num,
            ts_ns=fields.require_timestamp(Tag.SENDING_TIME),
        )
    except MdDecodeError:
        raise
    except Exception as e:
        raise MdDecodeError(getattr(e, "tag", None), getattr(e, "reason", str(e))) from e


# ------------------------------------------------------------- reference W/X (simplefix)
def decode_md_simplefix(raw: bytes) -> MdSnapshot | MdIncrement:
    """35=W/X through simplefix, one pair at a time: the baseline and the test oracle.

    Handles the messages :mod:`.md_encode` writes (every entry starts with its delimiter
    and carries 269, 270, 271); errors are :class:`MdDecodeError` but less specific than
    the dedicated decoder's.
    """
    ctx = _Context()
    pairs = _pairs(raw, ctx)
    msg_type = pairs[2][1]
    delimiter = MdTag.MD_UPDATE_ACTION if msg_type == b"X" else MdTag.MD_ENTRY_TYPE
    head: dict[int, bytes] = {}
    rows: list[dict[int, bytes]] = []
    in_group = False
    for tag, value in pairs[3:-1]:
        if tag == MdTag.NO_MD_ENTRIES:
            in_group = True
        elif not in_group:
            head[tag] = value
        else:
            if tag == delimiter:
                rows.append({})
            if not rows:
                raise ctx.error(
                    delimiter, "expected the first field of each entry", R.TAG_OUT_OF_ORDER
                )
            rows[-1][tag] = value
    seq_num = int(head[Tag.MSG_SEQ_NUM])
    ts_ns = _sending_ns(head[Tag.SENDING_TIME], ctx)
    symbol = head.get(Tag.SYMBOL, b"").decode()
    try:
        actions = [
            0 if msg_type == b"W" else UPDATE_ACTIONS[r[MdTag.MD_UPDATE_ACTION]] for r in rows
        ]
        types = [ENTRY_TYPES[r[MdTag.MD_ENTRY_TYPE]] for r in rows]
        prices = [float(r.get(MdTag.MD_ENTRY_PX, b"0")) for r in rows]
        sizes = [float(r.get(MdTag.MD_ENTRY_SIZE, b"0")) for r in rows]
    except (KeyError, ValueError) as e:
        raise ctx.error(None, f"bad entry ({e!r})") from e
    symbols = []
    for r in rows:
        symbol = r.get(Tag.SYMBOL, b"").decode() or symbol
        symbols.append(symbol)
    has = {tag for r in rows for tag in r}
    rpts = [int(r.get(MdTag.RPT_SEQ, ABSENT)) for r in rows] if MdTag.RPT_SEQ in has else None
    levels = (
        [int(r.get(MdTag.MD_PRICE_LEVEL, ABSENT)) for r in rows]
        if MdTag.MD_PRICE_LEVEL in has
        else None
    )
    ids = (
        [r.get(MdTag.MD_ENTRY_ID, b"").decode() for r in rows] if MdTag.MD_ENTRY_ID in has else None
    )
    entries = MdEntries(
        actions=actions,
        types=types,
        prices=prices,
        sizes=sizes,
        symbols=symbols,
        rpt_seqs=rpts,
        levels=levels,
        entry_ids=ids,
    )
    request_id = head.get(MdTag.MD_REQ_ID, b"").decode()
    if msg_type == b"W":
        rpt = head.get(MdTag.RPT_SEQ)
        return MdSnapshot(
            symbol=head.get(Tag.SYMBOL, b"").decode(),
            entries=entries,
            seq_num=seq_num,
            ts_ns=ts_ns,
            rpt_seq=None if rpt is None else int(rpt),
            request_id=request_id,
        )
    return MdIncrement(entries=entries, seq_num=seq_num, ts_ns=ts_ns, request_id=request_id)


__all__ = [
    "decode_market_data",
    "decode_market_data_request",
    "decode_md_simplefix",
    "decode_request_reject",
    "encode_market_data_request",
    "encode_request_reject",
]


# ----------------------------------------------------------------------------- dispatch
def _peek(raw: bytes, tag: bytes) -> bytes | None:
    start = raw.find(b"\x01" + tag + b"=")
    if start < 0:
        return None
    start += len(tag) + 2
    end = raw.find(b"\x01", start)
    return raw[start:end] if end > start else None


def decode_market_data(raw: bytes, *, verify_checksum: bool = True) -> MarketDataMessage:
    """Any message of a market-data stream → a domain message; never raises.

    35=W/X go through the dedicated decoder, 35=Y through simplefix; any other well-framed
    message becomes an :class:`MdOtherMessage` (it still consumes a MsgSeqNum). A
    malformed message becomes an :class:`MdMessageQuarantined` naming the offending tag,
    its MsgSeqNum and the symbols it named, when those could be read.
    """
    msg_type = _peek(raw, b"35")
    try:
        if msg_type in (b"W", b"X"):
            return decode_md(raw, verify_checksum=verify_checksum)
        if msg_type == b"Y":
            return decode_request_reject(raw)
        ctx = _Context()
        _frame(raw, ctx, verify_checksum)
        seq = _peek(raw, b"34")
        if msg_type is None or seq is None or not seq.isdigit() or int(seq) < 1:
            raise ctx.error(
                Tag.MSG_SEQ_NUM if msg_type else Tag.MSG_TYPE,
                "required tag is missing or malformed",
            )
        return MdOtherMessage(seq_num=int(seq), msg_type=msg_type.decode("ascii", "replace"))
    except MdDecodeError as e:
        seq_num = e.ref_seq_num
        if seq_num is None:
            seq = _peek(raw, b"34")
            seq_num = int(seq) if seq is not None and seq.isdigit() else None
        return MdMessageQuarantined(
            raw=bytes(raw), reason=str(e), tag=e.tag, seq_num=seq_num, symbols=e.symbols
        )
