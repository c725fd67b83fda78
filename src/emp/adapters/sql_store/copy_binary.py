"""Postgres binary ``COPY`` of fixed-width numeric columns, encoded and decoded with numpy.

The binary COPY format is a 19-byte header, one record per row (an int16 field count,
then per field an int32 byte length and the big-endian value) and an int16 ``-1``
trailer. For rows of BIGINT and DOUBLE PRECISION columns without NULLs every record has
the same layout, so a whole batch is one numpy structured array: no Python loop per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from psycopg import sql

from emp.ports.store_errors import StoreError

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)

#: numpy kinds of the supported Postgres types, big-endian as COPY wants them.
_TYPES = {"int8": ">i8", "float8": ">f8"}


def record_dtype(columns: Sequence[tuple[str, str]]) -> np.dtype:
    """The packed record layout of ``(name, "int8" | "float8")`` columns."""
    fields: list[tuple[str, str]] = [("_count", ">i2")]
    for name, kind in columns:
        fields += [(f"_len_{name}", ">i4"), (name, _TYPES[kind])]
    return np.dtype(fields)


def encode(columns: Sequence[tuple[str, str]], values: Mapping[str, np.ndarray]) -> bytes:
    """The binary COPY payload (header, records, trailer) of equally long arrays."""
    dtype = record_dtype(columns)
    n = len(values[columns[0][0]])
    records = np.empty(n, dtype=dtype)
    records["_count"] = len(columns)
    for name, _ in columns:
        records[f"_len_{name}"] = 8
        records[name] = values[name]
    return HEADER + records.tobytes() + TRAILER


def decode(columns: Sequence[tuple[str, str]], payload: bytes) -> dict[str, np.ndarray]:
    """Native-endian column arrays of a binary COPY payload written by ``COPY ... TO``."""
    dtype = record_dtype(columns)
    if not payload.startswith(HEADER[:11]):
        raise StoreError("binary COPY payload has no PGCOPY signature")
    extension = int.from_bytes(payload[15:19], "big")
    start = 19 + extension
    body = payload[start : len(payload) - len(TRAILER)]
    if len(body) % dtype.itemsize or payload[-2:] != TRAILER:
        raise StoreError(
            f"binary COPY payload of {len(body)} bytes is not whole records of "
            f"{dtype.itemsize} bytes (a NULL or an unexpected column type?)"
        )
    records = np.frombuffer(body, dtype=dtype)
    return {
        name: records[name].astype(np.dtype(_TYPES[kind]).newbyteorder("="))
        for name, kind in columns
    }


def copy_in(driver: Any, table: str, columns: Sequence[tuple[str, str]], values: Mapping) -> None:
    """``COPY table FROM STDIN`` of ``values`` (arrays by column name) on a psycopg connection."""
    payload = encode(columns, {name: values[name] for name, _ in columns})
    with driver.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
        copy.write(payload)


def copy_out_window(
    driver: Any,
    schema: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    keys: Mapping[str, str],
    start_ns: int | None,
    end_ns: int | None,
) -> dict[str, np.ndarray]:
    """``columns`` of the rows of ``schema.table`` whose ``keys`` match, with
    ``start_ns <= ts_ns < end_ns`` (either bound optional), in ``ts_ns`` order."""
    conditions = [
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in keys.items()
    ]
    if start_ns is not None:
        conditions.append(sql.SQL("ts_ns >= {}").format(sql.Literal(int(start_ns))))
    if end_ns is not None:
        conditions.append(sql.SQL("ts_ns < {}").format(sql.Literal(int(end_ns))))
    query = sql.SQL(
        "COPY (SELECT {} FROM {}.{} WHERE {} ORDER BY ts_ns) TO STDOUT (FORMAT binary)"
    ).format(
        sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns),
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(" AND ").join(conditions),
    )
    with driver.cursor() as cursor, cursor.copy(query) as copy:
        payload = b"".join(bytes(chunk) for chunk in copy)
    return decode(columns, payload)
