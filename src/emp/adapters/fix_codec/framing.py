"""Raw bytes ⇄ FIX fields: framing (BeginString, BodyLength, CheckSum) and typed reads.

Splitting into tag=value pairs is simplefix's ``FixParser``; simplefix does not check
BodyLength or CheckSum, so :func:`read_message` does, against the raw bytes. Session-level
sequencing (gaps, resends) and CompID matching are a FIX engine's job and not checked here;
the header fields must merely be present and well formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import simplefix
from simplefix import errors as simplefix_errors

from emp.adapters.fix_codec.errors import FixDecodeError
from emp.adapters.fix_codec.tags import BEGIN_STRING, SOH, SessionRejectReason, Tag
from emp.adapters.fix_codec.values import (
    format_int,
    format_utc_timestamp,
    parse_float,
    parse_int,
    parse_utc_timestamp,
)

E = TypeVar("E")
R = SessionRejectReason
_PREVIEW = 40


@dataclass(frozen=True, slots=True)
class FixFields:
    """The fields of one framed, checked FIX message, with typed accessors.

    Every accessor raises :class:`FixDecodeError` naming the tag and referring to this
    message (its MsgSeqNum and MsgType), ready to become a session-level Reject.
    """

    msg_type: str
    seq_num: int
    values: Mapping[int, str]

    def error(
        self, tag: int | None, reason: str, code: int = R.VALUE_OUT_OF_RANGE
    ) -> FixDecodeError:
        return FixDecodeError(
            tag,
            reason,
            session_reject_reason=code,
            ref_seq_num=self.seq_num,
            ref_msg_type=self.msg_type,
        )

    def _checked(self, error: FixDecodeError) -> FixDecodeError:
        return error.with_reference(self.seq_num, self.msg_type)

    def optional(self, tag: int) -> str | None:
        return self.values.get(tag)

    def require(self, tag: int) -> str:
        value = self.values.get(tag)
        if value is None:
            raise self.error(
                tag,
                f"required tag is missing from MsgType {self.msg_type!r}",
                R.REQUIRED_TAG_MISSING,
            )
        return value

    def require_float(self, tag: int) -> float:
        try:
            return parse_float(tag, self.require(tag))
        except FixDecodeError as e:
            raise self._checked(e) from None

    def optional_float(self, tag: int) -> float | None:
        text = self.values.get(tag)
        return None if text is None else self.require_float(tag)

    def require_int(self, tag: int) -> int:
        try:
            return parse_int(tag, self.require(tag))
        except FixDecodeError as e:
            raise self._checked(e) from None

    def require_timestamp(self, tag: int) -> int:
        try:
            return parse_utc_timestamp(tag, self.require(tag))
        except FixDecodeError as e:
            raise self._checked(e) from None

    def require_enum(self, tag: int, mapping: Mapping[str, E]) -> E:
        text = self.require(tag)
        try:
            return mapping[text]
        except KeyError:
            allowed = ", ".join(repr(k) for k in mapping)
            raise self.error(tag, f"expected one of {allowed}, was {text!r}") from None

    def optional_enum(self, tag: int, mapping: Mapping[str, E], default: E) -> E:
        return default if tag not in self.values else self.require_enum(tag, mapping)


def write_message(
    msg_type: str,
    *,
    sender_comp_id: str,
    target_comp_id: str,
    seq_num: int,
    sending_ns: int,
    body: list[tuple[int, str]],
) -> bytes:
    """A complete FIX 4.4 message; simplefix computes BodyLength and CheckSum."""
    message = simplefix.FixMessage()
    message.append_pair(Tag.BEGIN_STRING, BEGIN_STRING, header=True)
    message.append_pair(Tag.MSG_TYPE, msg_type, header=True)
    message.append_pair(Tag.SENDER_COMP_ID, sender_comp_id, header=True)
    message.append_pair(Tag.TARGET_COMP_ID, target_comp_id, header=True)
    message.append_pair(Tag.MSG_SEQ_NUM, format_int(Tag.MSG_SEQ_NUM, seq_num), header=True)
    message.append_pair(
        Tag.SENDING_TIME, format_utc_timestamp(Tag.SENDING_TIME, sending_ns), header=True
    )
    for tag, value in body:
        message.append_pair(tag, value)
    return bytes(message.encode())


def _split(raw: bytes) -> list[tuple[int, bytes]]:
    """tag=value pairs of exactly one message, or FixDecodeError for garbage/truncation."""
    if not raw:
        raise FixDecodeError(None, "empty message")
    if not raw.startswith(b"8="):
        raise FixDecodeError(
            None, f"not a FIX message: expected it to begin with '8=', was {raw[:_PREVIEW]!r}"
        )
    if not raw.endswith(SOH):
        raise FixDecodeError(
            None, "truncated message: it does not end with a SOH-terminated CheckSum(10) field"
        )
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    try:
        message = parser.get_message()
    except simplefix_errors.EmptyValueError as e:
        tag = int(e.args[0]) if e.args and _is_digits(str(e.args[0])) else None
        raise FixDecodeError(tag, "empty value", session_reject_reason=R.OTHER) from e
    except (simplefix_errors.ParsingError, ValueError) as e:
        raise FixDecodeError(None, f"garbled tag=value pairs ({e!r})") from e
    if message is None:
        raise FixDecodeError(None, "truncated message: no CheckSum(10) field found")
    if parser.get_buffer():
        raise FixDecodeError(
            Tag.CHECKSUM, "bytes follow the CheckSum(10) field", session_reject_reason=R.OTHER
        )
    return [(tag, value) for tag, value in message]


def read_message(raw: bytes) -> FixFields:
    """Frame and check one raw FIX 4.4 message; raise :class:`FixDecodeError` if it is bad."""
    if not isinstance(raw, bytes | bytearray):
        raise FixDecodeError(None, f"expected bytes, was {type(raw).__name__}")
    raw = bytes(raw)
    pairs = _split(raw)
    texts: list[tuple[int, str]] = []
    for tag, value in pairs:
        try:
            texts.append((tag, value.decode("utf-8")))
        except UnicodeDecodeError as e:
            raise FixDecodeError(tag, "value is not valid UTF-8") from e
    first = dict(reversed(texts))
    seq_text = first.get(Tag.MSG_SEQ_NUM, "")
    ref = FixFields(
        msg_type=first.get(Tag.MSG_TYPE, ""),
        seq_num=int(seq_text) if _is_digits(seq_text) else 0,
        values=first,
    )
    _check_framing(raw, texts, ref)
    values: dict[int, str] = {}
    for tag, value in texts[3:-1]:
        if tag in values:
            raise ref.error(tag, "tag appears more than once", R.TAG_APPEARS_MORE_THAN_ONCE)
        values[tag] = value
    fields = FixFields(msg_type=texts[2][1], seq_num=ref.seq_num, values=values)
    for tag in (Tag.SENDER_COMP_ID, Tag.TARGET_COMP_ID):
        fields.require(tag)
    seq_num = fields.require_int(Tag.MSG_SEQ_NUM)
    if seq_num < 1:
        raise fields.error(Tag.MSG_SEQ_NUM, f"expected a sequence number >= 1, was {seq_num}")
    fields.require_timestamp(Tag.SENDING_TIME)
    return fields


def _check_framing(raw: bytes, texts: list[tuple[int, str]], ref: FixFields) -> None:
    """BeginString, BodyLength, MsgType in place, and a CheckSum that matches the bytes."""
    (tag0, begin), *_ = texts
    if tag0 != Tag.BEGIN_STRING or begin != BEGIN_STRING:
        raise ref.error(
            Tag.BEGIN_STRING, f"expected BeginString {BEGIN_STRING!r}, was {begin!r}", R.OTHER
        )
    if len(texts) < 4 or texts[1][0] != Tag.BODY_LENGTH:
        raise ref.error(
            Tag.BODY_LENGTH, "expected BodyLength(9) as the second field", R.TAG_OUT_OF_ORDER
        )
    if texts[2][0] != Tag.MSG_TYPE:
        raise ref.error(Tag.MSG_TYPE, "expected MsgType(35) as the third field", R.TAG_OUT_OF_ORDER)
    last_tag, checksum_text = texts[-1]
    if last_tag != Tag.CHECKSUM:
        raise ref.error(Tag.CHECKSUM, "expected CheckSum(10) as the last field", R.OTHER)
    declared = _parse_length(ref, Tag.BODY_LENGTH, texts[1][1])
    head = len(b"8=") + len(texts[0][1].encode()) + 1 + len(b"9=") + len(texts[1][1].encode()) + 1
    trailer_start = len(raw) - len(b"10=") - len(checksum_text.encode()) - 1
    if declared != trailer_start - head:
        raise ref.error(
            Tag.BODY_LENGTH,
            f"expected BodyLength {trailer_start - head}, was {declared}",
            R.VALUE_OUT_OF_RANGE,
        )
    actual = sum(raw[:trailer_start]) % 256
    if len(checksum_text) != 3 or not _is_digits(checksum_text):
        raise ref.error(
            Tag.CHECKSUM,
            f"expected three digits, was {checksum_text!r}",
            R.INCORRECT_DATA_FORMAT,
        )
    if int(checksum_text) != actual:
        raise ref.error(
            Tag.CHECKSUM, f"expected CheckSum {actual:03d}, was {checksum_text}", R.OTHER
        )


def _parse_length(ref: FixFields, tag: int, text: str) -> int:
    """A non-negative integer framing field (BodyLength)."""
    if not _is_digits(text):
        raise ref.error(
            tag, f"expected a non-negative integer, was {text!r}", R.INCORRECT_DATA_FORMAT
        )
    return int(text)


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
