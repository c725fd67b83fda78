"""The dedicated decoder of 35=W and 35=X: raw bytes → column-wise MD entries, fast.

simplefix builds a Python object per field and knows nothing of repeating groups; for bulk
market data this decoder works on the whole message with C-level bytes operations:

1. framing: BeginString, BodyLength and CheckSum are checked against the raw bytes;
2. ``body.replace(SOH, b"=").split(b"=")`` yields tags and values alternately in one call
   (a value that itself holds ``=`` is detected by the field count and split slowly);
3. the NoMDEntries (268) group is *regular* when every entry has the same tags in the
   same order — the usual case — and then each column is one slice
   (``values[j::stride]``) converted by one ``map``; irregular groups are parsed entry
   by entry;
4. numeric columns are validated in bulk (``bytes.translate`` removes the allowed
   characters; anything left is an error) before ``float``/``int`` convert them.

Every malformed message raises :class:`~emp.adapters.fix_codec.md_errors.MdDecodeError`
naming the offending tag: bad CheckSum (10), bad BodyLength (9), a missing required tag,
an unknown MDUpdateAction (279) or MDEntryType (269), a negative MDEntrySize (271), a
non-numeric MDEntryPx (270), a NoMDEntries (268) count that does not match the entries.

Entry rules: MDEntryType (269) on every entry; MDEntryPx (270) on every entry except
deletes by MDEntryID or by MDPriceLevel (actions 3, 4); MDEntrySize (271) on NEW and
CHANGE entries and every snapshot entry; in 35=X a Symbol (55) missing from an entry is
the previous entry's (or the message-level 55's). SendingTime (52) is the message time.
"""

from __future__ import annotations

from functools import lru_cache
from math import isnan

from emp.adapters.fix_codec.errors import FixDecodeError
from emp.adapters.fix_codec.md_errors import MdDecodeError
from emp.adapters.fix_codec.md_tags import ENTRY_TYPES, UPDATE_ACTIONS, MdTag
from emp.adapters.fix_codec.tags import SessionRejectReason, Tag
from emp.adapters.fix_codec.values import parse_utc_timestamp
from emp.domain.market_data import ABSENT, MdEntries, MdIncrement, MdSnapshot

R = SessionRejectReason
_HEAD = b"8=FIX.4.4\x019="
_TRAILER = b"\x0110="
_DIGITS = b"0123456789"
_DECIMAL_CHARS = b"0123456789.-"
_PREVIEW = 40

# Tags as they appear on the wire (bytes), for comparisons without int conversion.
_T35, _T34, _T49, _T56, _T52 = b"35", b"34", b"49", b"56", b"52"
_T55, _T83, _T262, _T268 = b"55", b"83", b"262", b"268"
_T269, _T270, _T271, _T278, _T279, _T1023 = b"269", b"270", b"271", b"278", b"279", b"1023"


class _Context:
    """What is known of the message so far, to make errors name it."""

    __slots__ = ("msg_type", "seq_num", "symbols")

    def __init__(self) -> None:
        self.msg_type: str | None = None
        self.seq_num: int | None = None
        self.symbols: tuple[str, ...] = ()

    def error(
        self, tag: int | None, reason: str, code: int = R.VALUE_OUT_OF_RANGE
    ) -> MdDecodeError:
        return MdDecodeError(
            tag,
            reason,
            session_reject_reason=code,
            ref_seq_num=self.seq_num,
            ref_msg_type=self.msg_type,
            symbols=self.symbols,
        )


def decode_md(raw: bytes, *, verify_checksum: bool = True) -> MdSnapshot | MdIncrement:
    """Decode one 35=W or 35=X message; raise :class:`MdDecodeError` if it is malformed.

    ``verify_checksum=False`` skips only the CheckSum sum (a caller that verified a whole
    chunk at once, as the replay adapter does with numpy); its format is still checked.
    """
    ctx = _Context()
    body = _frame(raw, ctx, verify_checksum)
    tags, values = _split(body, ctx)
    if not tags or tags[0] != _T35:
        raise ctx.error(Tag.MSG_TYPE, "expected MsgType(35) as the third field", R.TAG_OUT_OF_ORDER)
    msg_type = values[0]
    ctx.msg_type = msg_type.decode("ascii", "replace")
    if msg_type == b"X":
        delimiter = _T279
    elif msg_type == b"W":
        delimiter = _T269
    else:
        raise ctx.error(
            Tag.MSG_TYPE,
            f"expected MsgType 'W' or 'X', was {ctx.msg_type!r}",
            R.INVALID_MSG_TYPE,
        )
    try:
        g = tags.index(_T268)
    except ValueError:
        g = -1
    head = dict(zip(tags[1:g], values[1:g], strict=True)) if g > 0 else {}
    seq_text = head.get(_T34)
    if seq_text is not None and seq_text.isdigit():
        ctx.seq_num = int(seq_text)
    if g < 0:
        raise ctx.error(MdTag.NO_MD_ENTRIES, "required tag is missing", R.REQUIRED_TAG_MISSING)
    if len(head) != g - 1:
        raise ctx.error(
            _duplicate(tags[1:g]), "tag appears more than once", R.TAG_APPEARS_MORE_THAN_ONCE
        )
    symbol_text = head.get(_T55)
    if symbol_text:
        ctx.symbols = (symbol_text.decode("utf-8", "replace"),)
    seq_num, ts_ns = _header(head, ctx)
    count = _count(values[g], ctx)
    columns = _group(tags[g + 1 :], values[g + 1 :], delimiter, count, ctx)
    request_id = head.get(_T262, b"").decode("utf-8", "replace")
    if msg_type == b"W":
        if symbol_text is None:
            raise ctx.error(MdTag.SYMBOL, "required tag is missing", R.REQUIRED_TAG_MISSING)
        entries = _entries(columns, count, ctx, snapshot=True, default_symbol=symbol_text)
        rpt_text = head.get(_T83)
        return MdSnapshot(
            symbol=ctx.symbols[0],
            entries=entries,
            seq_num=seq_num,
            ts_ns=ts_ns,
            rpt_seq=None if rpt_text is None else _ints([rpt_text], MdTag.RPT_SEQ, ctx)[0],
            request_id=request_id,
        )
    entries = _entries(columns, count, ctx, snapshot=False, default_symbol=symbol_text)
    return MdIncrement(entries=entries, seq_num=seq_num, ts_ns=ts_ns, request_id=request_id)


# ----------------------------------------------------------------------------- framing
def _frame(raw: bytes, ctx: _Context, verify_checksum: bool) -> bytes:
    """Check BeginString, BodyLength and CheckSum; return the body (MsgType .. last SOH)."""
    if type(raw) is not bytes:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise ctx.error(None, f"expected bytes, was {type(raw).__name__}")
        raw = bytes(raw)
    if not raw.startswith(_HEAD):
        if not raw:
            raise ctx.error(None, "empty message")
        if raw.startswith(b"8="):
            value = raw[2:].split(b"\x01", 1)[0]
            raise ctx.error(
                Tag.BEGIN_STRING, f"expected BeginString 'FIX.4.4', was {value!r}", R.OTHER
            )
        raise ctx.error(
            None, f"not a FIX message: expected it to begin with '8=', was {raw[:_PREVIEW]!r}"
        )
    if not raw.endswith(b"\x01"):
        raise ctx.error(
            None, "truncated message: it does not end with a SOH-terminated CheckSum(10) field"
        )
    end9 = raw.find(b"\x01", len(_HEAD))
    trailer = raw.rfind(_TRAILER)
    if trailer < 0 or trailer < end9:
        raise ctx.error(
            Tag.CHECKSUM, "expected CheckSum(10) as the last field", R.REQUIRED_TAG_MISSING
        )
    checksum = raw[trailer + 4 : -1]
    length_text = raw[len(_HEAD) : end9]
    if not (length_text.isdigit() and length_text.isascii()):
        raise ctx.error(
            Tag.BODY_LENGTH,
            f"expected a non-negative integer, was {length_text!r}",
            R.INCORRECT_DATA_FORMAT,
        )
    actual_length = trailer + 1 - (end9 + 1)
    if int(length_text) != actual_length:
        raise ctx.error(
            Tag.BODY_LENGTH, f"expected BodyLength {actual_length}, was {int(length_text)}"
        )
    if len(checksum) != 3 or not checksum.isdigit():
        raise ctx.error(
            Tag.CHECKSUM, f"expected three digits, was {checksum!r}", R.INCORRECT_DATA_FORMAT
        )
    if verify_checksum:
        expected = sum(raw[: trailer + 1]) % 256
        if int(checksum) != expected:
            raise ctx.error(
                Tag.CHECKSUM, f"expected CheckSum {expected:03d}, was {checksum.decode()}", R.OTHER
            )
    return raw[end9 + 1 : trailer + 1]


def _split(body: bytes, ctx: _Context) -> tuple[list[bytes], list[bytes]]:
    """Tags and values of the body, in wire order."""
    parts = body.replace(b"\x01", b"=").split(b"=")
    fields = body.count(b"\x01")
    if len(parts) == 2 * fields + 1:
        tags = parts[0:-1:2]
        values = parts[1::2]
    else:  # a value holds '=' (or a field has none): split field by field
        tags, values = [], []
        for field in body[:-1].split(b"\x01"):
            tag, sep, value = field.partition(b"=")
            if not sep:
                raise ctx.error(None, f"garbled field {field[:_PREVIEW]!r}: expected tag=value")
            tags.append(tag)
            values.append(value)
    joined = b"".join(tags)
    if not (joined.isdigit() and joined.isascii()) or b"" in tags:
        for tag in tags:
            _tag_number(tag, ctx)
    if b"" in values:
        tag = tags[values.index(b"")]
        raise ctx.error(_tag_number(tag, ctx), "empty value", R.OTHER)
    return tags, values


def _tag_number(tag: bytes, ctx: _Context) -> int:
    if not (tag.isdigit() and tag.isascii()) or tag.startswith(b"0"):
        raise ctx.error(None, f"garbled tag {tag[:_PREVIEW]!r}: expected a positive integer")
    return int(tag)


def _duplicate(tags: list[bytes]) -> int:
    seen: set[bytes] = set()
    for tag in tags:
        if tag in seen:
            return int(tag)
        seen.add(tag)
    raise AssertionError("no duplicate")  # pragma: no cover - caller saw one


def _header(head: dict[bytes, bytes], ctx: _Context) -> tuple[int, int]:
    for tag, number in (
        (_T49, Tag.SENDER_COMP_ID),
        (_T56, Tag.TARGET_COMP_ID),
        (_T34, Tag.MSG_SEQ_NUM),
        (_T52, Tag.SENDING_TIME),
    ):
        if tag not in head:
            raise ctx.error(number, "required tag is missing", R.REQUIRED_TAG_MISSING)
    if ctx.seq_num is None or ctx.seq_num < 1:
        raise ctx.error(
            Tag.MSG_SEQ_NUM,
            f"expected a sequence number >= 1, was {head[_T34]!r}",
            R.INCORRECT_DATA_FORMAT,
        )
    return ctx.seq_num, _sending_ns(head[_T52], ctx)


@lru_cache(maxsize=4096)
def _second_ns(head: bytes) -> int:
    return parse_utc_timestamp(Tag.SENDING_TIME, head.decode("ascii"))


def _sending_ns(text: bytes, ctx: _Context) -> int:
    """SendingTime (52) in UTC ns; whole seconds are parsed once and cached."""
    fraction = text[17:]
    try:
        if not text.isascii():
            raise FixDecodeError(Tag.SENDING_TIME, "")
        base = _second_ns(text[:17])
    except FixDecodeError:
        raise ctx.error(
            Tag.SENDING_TIME,
            f"expected a UTCTimestamp YYYYMMDD-HH:MM:SS.sss, was {text!r}",
            R.INCORRECT_DATA_FORMAT,
        ) from None
    if not fraction:
        return base
    digits = fraction[1:]
    if fraction[:1] != b"." or len(digits) not in (3, 6, 9) or not digits.isdigit():
        raise ctx.error(
            Tag.SENDING_TIME,
            f"expected a UTCTimestamp YYYYMMDD-HH:MM:SS.sss, was {text!r}",
            R.INCORRECT_DATA_FORMAT,
        )
    return base + int(digits) * 10 ** (9 - len(digits))


def _count(text: bytes, ctx: _Context) -> int:
    if not (text.isdigit() and text.isascii()):
        raise ctx.error(
            MdTag.NO_MD_ENTRIES, f"expected a count, was {text!r}", R.INCORRECT_DATA_FORMAT
        )
    return int(text)


# ------------------------------------------------------------------------------ groups
_REQUIRED_COLUMNS = {
    _T279: frozenset((_T279, _T269, _T270, _T271)),
    _T269: frozenset((_T269, _T270, _T271)),
}


def _group(
    tags: list[bytes], values: list[bytes], delimiter: bytes, count: int, ctx: _Context
) -> dict[bytes, list[bytes | None]]:
    """Columns of the NoMDEntries group: wire tag → one value (or None) per entry."""
    m = len(tags)
    if count == 0 or m == 0:
        if count or m:
            raise ctx.error(
                MdTag.NO_MD_ENTRIES, f"expected {count} entries, was {0 if m == 0 else 'more'}"
            )
        return {}
    stride, rest = divmod(m, count)
    if rest == 0 and tags[0] == delimiter:
        template = tags[:stride]
        present = set(template)
        if (
            len(present) == stride
            and _REQUIRED_COLUMNS[delimiter] <= present
            and (count == 1 or tags == template * count)
        ):
            return {tag: values[j::stride] for j, tag in enumerate(template)}
    return _irregular_group(tags, values, delimiter, count, ctx)


def _irregular_group(
    tags: list[bytes], values: list[bytes], delimiter: bytes, count: int, ctx: _Context
) -> dict[bytes, list[bytes | None]]:
    if tags[0] != delimiter:
        raise ctx.error(
            int(delimiter),
            f"expected the first field of each entry, was tag {tags[0].decode()}",
            R.TAG_OUT_OF_ORDER,
        )
    starts = [i for i, tag in enumerate(tags) if tag == delimiter]
    if len(starts) != count:
        raise ctx.error(MdTag.NO_MD_ENTRIES, f"expected {count} entries, was {len(starts)}")
    columns: dict[bytes, list[bytes | None]] = {}
    bounds = [*starts, len(tags)]
    for e in range(count):
        seen: set[bytes] = set()
        for i in range(bounds[e], bounds[e + 1]):
            tag = tags[i]
            if tag in seen:
                raise ctx.error(
                    _tag_number(tag, ctx),
                    "tag appears more than once in an entry",
                    R.TAG_APPEARS_MORE_THAN_ONCE,
                )
            seen.add(tag)
            column = columns.get(tag)
            if column is None:
                column = columns[tag] = [None] * count
            column[e] = values[i]
    return columns


def _entries(
    columns: dict[bytes, list[bytes | None]],
    count: int,
    ctx: _Context,
    *,
    snapshot: bool,
    default_symbol: bytes | None,
) -> MdEntries:
    if count == 0:
        return MdEntries(actions=[], types=[], prices=[], sizes=[], symbols=[])
    if snapshot:
        actions = [0] * count
    else:
        actions = _enum(
            columns[_T279], UPDATE_ACTIONS, MdTag.MD_UPDATE_ACTION, "MDUpdateAction", ctx
        )
    types_column = columns.get(_T269)
    if types_column is None or None in types_column:
        raise ctx.error(
            MdTag.MD_ENTRY_TYPE, "required tag is missing from an entry", R.REQUIRED_TAG_MISSING
        )
    types = _enum(types_column, ENTRY_TYPES, MdTag.MD_ENTRY_TYPE, "MDEntryType", ctx)
    symbols = _symbols(columns.get(_T55), count, default_symbol, ctx)
    ids_column = columns.get(_T278)
    entry_ids = (
        None
        if ids_column is None
        else [b.decode("utf-8", "replace") if b else "" for b in ids_column]
    )
    prices = _optional_floats(columns.get(_T270), MdTag.MD_ENTRY_PX, ctx)
    sizes = _optional_floats(columns.get(_T271), MdTag.MD_ENTRY_SIZE, ctx)
    if prices is None or sizes is None or isnan(sum(prices)) or isnan(sum(sizes)):
        _check_required(actions, prices, sizes, entry_ids, ctx, snapshot)
    if sizes and min(sizes) < 0:
        bad = next(s for s in sizes if s < 0)
        raise ctx.error(MdTag.MD_ENTRY_SIZE, f"expected a size >= 0, was {bad!r}")
    rpt_column = columns.get(_T83)
    level_column = columns.get(_T1023)
    return MdEntries(
        actions=actions,
        types=types,
        prices=prices if prices else [0.0] * count,
        sizes=sizes if sizes else [0.0] * count,
        symbols=symbols,
        rpt_seqs=None if rpt_column is None else _optional_ints(rpt_column, MdTag.RPT_SEQ, ctx),
        levels=None
        if level_column is None
        else _optional_ints(level_column, MdTag.MD_PRICE_LEVEL, ctx),
        entry_ids=entry_ids,
    )


def _check_required(
    actions: list[int],
    prices: list[float] | None,
    sizes: list[float] | None,
    entry_ids: list[str] | None,
    ctx: _Context,
    snapshot: bool,
) -> None:
    """Entries missing a price or size they need (marked NaN by _optional_floats)."""
    for i, action in enumerate(actions):
        needs_price = action <= 1 or (action == 2 and not (entry_ids and entry_ids[i]))
        if needs_price and (prices is None or prices[i] != prices[i]):
            raise ctx.error(
                MdTag.MD_ENTRY_PX,
                f"required tag is missing from entry {i + 1}",
                R.REQUIRED_TAG_MISSING,
            )
        if (action <= 1 or snapshot) and (sizes is None or sizes[i] != sizes[i]):
            raise ctx.error(
                MdTag.MD_ENTRY_SIZE,
                f"required tag is missing from entry {i + 1}",
                R.REQUIRED_TAG_MISSING,
            )
    if prices is not None:
        for i, price in enumerate(prices):
            if price != price:
                prices[i] = 0.0
    if sizes is not None:
        for i, size in enumerate(sizes):
            if size != size:
                sizes[i] = 0.0


# ------------------------------------------------------------------------- conversions
def _enum(
    column: list[bytes | None], mapping: dict[bytes, int], tag: int, name: str, ctx: _Context
) -> list[int]:
    try:
        return list(map(mapping.__getitem__, column))  # type: ignore[arg-type]
    except KeyError:
        bad = next(v for v in column if v not in mapping)
        if bad is None:
            raise ctx.error(
                tag, "required tag is missing from an entry", R.REQUIRED_TAG_MISSING
            ) from None
        allowed = ", ".join(k.decode() for k in mapping)
        raise ctx.error(
            tag,
            f"unknown {name}: expected one of {allowed}, was {bad.decode('utf-8', 'replace')!r}",
        ) from None


def _symbols(
    column: list[bytes | None] | None, count: int, default: bytes | None, ctx: _Context
) -> list[str]:
    if column is not None and None not in column and column.count(column[0]) == count:
        values: list[bytes | None] = column
    else:
        values = []
        current = default
        for value in column or [None] * count:
            current = value if value is not None else current
            values.append(current)
        if values[0] is None:
            raise ctx.error(
                MdTag.SYMBOL, "required tag is missing from the first entry", R.REQUIRED_TAG_MISSING
            )
    first = values[0]
    assert first is not None
    if values.count(first) == count:
        symbol = first.decode("utf-8", "replace")
        ctx.symbols = (symbol,)
        return [symbol] * count
    symbols = [v.decode("utf-8", "replace") for v in values]  # type: ignore[union-attr]
    ctx.symbols = tuple(dict.fromkeys(symbols))
    return symbols


def _optional_floats(
    column: list[bytes | None] | None, tag: int, ctx: _Context
) -> list[float] | None:
    """Decimal values; a missing one (irregular groups) becomes NaN for _check_required."""
    if column is None:
        return None
    if None in column:
        return [float("nan") if v is None else _floats([v], tag, ctx)[0] for v in column]
    return _floats(column, tag, ctx)  # type: ignore[arg-type]


def _floats(column: list[bytes], tag: int, ctx: _Context) -> list[float]:
    if not b"".join(column).translate(None, _DECIMAL_CHARS):
        try:
            return list(map(float, column))
        except ValueError:
            pass
    for value in column:
        try:
            if value.translate(None, _DECIMAL_CHARS):
                raise ValueError
            float(value)
        except ValueError:
            raise ctx.error(
                tag,
                f"expected a decimal number, was {value.decode('utf-8', 'replace')!r}",
                R.INCORRECT_DATA_FORMAT,
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _optional_ints(column: list[bytes | None], tag: int, ctx: _Context) -> list[int]:
    if None in column:
        return [ABSENT if v is None else _ints([v], tag, ctx)[0] for v in column]
    return _ints(column, tag, ctx)  # type: ignore[arg-type]


def _ints(column: list[bytes], tag: int, ctx: _Context) -> list[int]:
    joined = b"".join(column)
    if joined.isdigit() and joined.isascii():
        return list(map(int, column))
    bad = next(v for v in column if not (v.isdigit() and v.isascii()))
    raise ctx.error(
        tag,
        f"expected a non-negative integer, was {bad.decode('utf-8', 'replace')!r}",
        R.INCORRECT_DATA_FORMAT,
    )
