"""Domain market-data messages → FIX 4.4 35=W / 35=X bytes (and their body fields).

This is the publisher side: a pure function from book changes (an
:class:`~emp.domain.market_data.MdIncrement`, e.g. from
:func:`emp.domain.books.diff_levels`) or a book image (an
:class:`~emp.domain.market_data.MdSnapshot`) to wire bytes. A quickfix session publishes
the same content from :func:`md_body_fields` (tag, value) pairs.

Field order in each entry — 35=X: 279, 269, [278], 55, 270, 271, [1023], [83];
35=W (Symbol and RptSeq at message level): 269, [278], 270, 271, [1023].
Optional columns are written for the entries that carry them (an entry without an id or a
level simply omits the tag). Numbers are written as the shortest decimal that reads back
to the same double (see :mod:`emp.adapters.fix_codec.values`).
"""

from __future__ import annotations

from emp.adapters.fix_codec.errors import FixEncodeError
from emp.adapters.fix_codec.md_tags import MdTag
from emp.adapters.fix_codec.tags import BEGIN_STRING, Tag
from emp.adapters.fix_codec.values import format_float, format_text, format_utc_timestamp
from emp.domain.market_data import ABSENT, MdEntries, MdIncrement, MdSnapshot


def format_number(tag: int, value: float) -> str:
    """Shortest exact decimal, positional (``100.0`` → ``"100"``); fast for common values."""
    text = repr(value)
    if text.endswith(".0"):
        return text[:-2]
    if "e" in text or "n" in text or "<" in text or text.isalpha():
        return format_float(tag, value)
    return text


def _check_symbols(symbols: set[str]) -> None:
    for symbol in symbols:
        format_text(Tag.SYMBOL, symbol)


def _entry_fields(entries: MdEntries, snapshot: bool) -> list[list[tuple[int, str]]]:
    n = len(entries)
    if not snapshot:
        _check_symbols(set(entries.symbols))
    ids = entries.entry_ids
    levels = entries.levels
    rpts = entries.rpt_seqs
    out: list[list[tuple[int, str]]] = []
    for i in range(n):
        action = entries.actions[i]
        fields: list[tuple[int, str]] = []
        if not snapshot:
            fields.append((MdTag.MD_UPDATE_ACTION, str(int(action))))
        fields.append((MdTag.MD_ENTRY_TYPE, str(int(entries.types[i]))))
        if ids is not None and ids[i]:
            fields.append((MdTag.MD_ENTRY_ID, format_text(MdTag.MD_ENTRY_ID, ids[i])))
        if not snapshot:
            fields.append((MdTag.SYMBOL, entries.symbols[i]))
        if action <= 2:
            fields.append((MdTag.MD_ENTRY_PX, format_number(MdTag.MD_ENTRY_PX, entries.prices[i])))
            size = entries.sizes[i]
            if size < 0:
                raise FixEncodeError(MdTag.MD_ENTRY_SIZE, f"expected a size >= 0, was {size!r}")
            fields.append((MdTag.MD_ENTRY_SIZE, format_number(MdTag.MD_ENTRY_SIZE, size)))
        if levels is not None and levels[i] != ABSENT:
            fields.append((MdTag.MD_PRICE_LEVEL, str(int(levels[i]))))
        elif action > 2:
            raise FixEncodeError(
                MdTag.MD_PRICE_LEVEL, "expected MDPriceLevel on a delete-thru/delete-from entry"
            )
        if not snapshot and rpts is not None and rpts[i] != ABSENT:
            fields.append((MdTag.RPT_SEQ, str(int(rpts[i]))))
        out.append(fields)
    return out


def md_body_fields(message: MdSnapshot | MdIncrement) -> list[tuple[int, str]]:
    """The body of a 35=W / 35=X as (tag, value) pairs in wire order (header excluded)."""
    body: list[tuple[int, str]] = []
    if message.request_id:
        body.append((MdTag.MD_REQ_ID, format_text(MdTag.MD_REQ_ID, message.request_id)))
    snapshot = isinstance(message, MdSnapshot)
    if isinstance(message, MdSnapshot):
        body.append((MdTag.SYMBOL, format_text(Tag.SYMBOL, message.symbol)))
        if message.rpt_seq is not None:
            body.append((MdTag.RPT_SEQ, str(int(message.rpt_seq))))
    entries = _entry_fields(message.entries, snapshot)
    body.append((MdTag.NO_MD_ENTRIES, str(len(entries))))
    for fields in entries:
        body.extend(fields)
    return body


def encode_md(
    message: MdSnapshot | MdIncrement,
    *,
    sender_comp_id: str,
    target_comp_id: str,
    seq_num: int | None = None,
    sending_ns: int | None = None,
) -> bytes:
    """A complete 35=W / 35=X; MsgSeqNum and SendingTime default to the message's own."""
    msg_type = "W" if isinstance(message, MdSnapshot) else "X"
    seq = message.seq_num if seq_num is None else seq_num
    if seq < 1:
        raise FixEncodeError(Tag.MSG_SEQ_NUM, f"expected a sequence number >= 1, was {seq}")
    ts = message.ts_ns if sending_ns is None else sending_ns
    parts = [
        f"35={msg_type}",
        f"49={format_text(Tag.SENDER_COMP_ID, sender_comp_id)}",
        f"56={format_text(Tag.TARGET_COMP_ID, target_comp_id)}",
        f"34={seq}",
        f"52={format_utc_timestamp(Tag.SENDING_TIME, ts)}",
    ]
    parts.extend(f"{tag}={value}" for tag, value in md_body_fields(message))
    parts.append("")
    body = "\x01".join(parts).encode("utf-8")
    head = f"8={BEGIN_STRING}\x019={len(body)}\x01".encode("ascii")
    framed = head + body
    return framed + b"10=%03d\x01" % (sum(framed) % 256)
