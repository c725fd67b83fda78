"""An append-only audit journal of every inbound and outbound FIX application message.

Rows live in DuckDB table ``fix_audit``: the redacted raw message, its identifying tags,
and the order's lineage (the first ClOrdID of its replace chain, the strategy and the
decision that created it). The journal has no update or delete: :meth:`append` and the
read methods are the whole API, ``seq`` numbers rows gap-free in arrival order, and
:meth:`verify` proves nothing was removed. Rows are buffered and written in batches
(DuckDB inserts one row at a time slowly); :meth:`flush` and :meth:`close` write the rest.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from emp.adapters.fix_quickfix.credentials import redact_fix
from emp.ports.store_errors import StoreUnavailable

_COLUMNS = (
    "seq",
    "recorded_ns",
    "session",
    "direction",
    "msg_type",
    "msg_seq_num",
    "poss_dup",
    "cl_ord_id",
    "orig_cl_ord_id",
    "order_id",
    "exec_id",
    "root_cl_ord_id",
    "strategy",
    "decision_id",
    "raw",
)
_DDL = """
CREATE TABLE IF NOT EXISTS fix_audit (
    seq BIGINT PRIMARY KEY,
    recorded_ns BIGINT NOT NULL,
    session VARCHAR NOT NULL,
    direction VARCHAR NOT NULL CHECK (direction IN ('in', 'out')),
    msg_type VARCHAR NOT NULL,
    msg_seq_num BIGINT,
    poss_dup BOOLEAN NOT NULL,
    cl_ord_id VARCHAR,
    orig_cl_ord_id VARCHAR,
    order_id VARCHAR,
    exec_id VARCHAR,
    root_cl_ord_id VARCHAR,
    strategy VARCHAR,
    decision_id VARCHAR,
    raw VARCHAR NOT NULL
)
"""
_INSERT = "INSERT INTO fix_audit SELECT " + ", ".join(f"unnest(${name})" for name in _COLUMNS)


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where an order came from: its replace chain's first ClOrdID, strategy, decision."""

    root_client_order_id: str = ""
    strategy: str = ""
    decision_id: str = ""


def _tags(raw: str) -> dict[int, str]:
    wanted = {11, 17, 34, 35, 37, 41, 43, 97}
    found: dict[int, str] = {}
    for pair in raw.split("\x01"):
        tag, _, value = pair.partition("=")
        if tag.isdigit() and int(tag) in wanted and int(tag) not in found:
            found[int(tag)] = value
    return found


class DuckDBAuditJournal:
    """The audit journal in a DuckDB file (thread-safe; one writer per file)."""

    def __init__(self, path: Path | str, *, flush_every: int = 512) -> None:
        self._path = str(path)
        self._flush_every = flush_every
        self._lock = threading.Lock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._buffer: dict[str, list[object]] = {name: [] for name in _COLUMNS}
        self._next_seq = 1

    def open(self) -> None:
        with self._lock:
            if self._connection is not None:
                return
            try:
                if self._path != ":memory:":
                    Path(self._path).parent.mkdir(parents=True, exist_ok=True)
                connection = duckdb.connect(self._path)
                connection.execute(_DDL)
                (last,) = connection.execute(
                    "SELECT coalesce(max(seq), 0) FROM fix_audit"
                ).fetchone()
            except duckdb.Error as e:
                raise StoreUnavailable(
                    f"cannot open the FIX audit journal at {self._path}: {e}"
                ) from e
            self._connection = connection
            self._next_seq = int(last) + 1

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def append(
        self,
        *,
        recorded_ns: int,
        session: str,
        direction: str,
        raw: str,
        lineage: Lineage | None = None,
    ) -> None:
        """Record one application message (credentials redacted)."""
        tags = _tags(raw)
        lineage = lineage or Lineage()
        seq_text = tags.get(34, "")
        row = {
            "recorded_ns": recorded_ns,
            "session": session,
            "direction": direction,
            "msg_type": tags.get(35, ""),
            "msg_seq_num": int(seq_text) if seq_text.isdigit() else None,
            "poss_dup": tags.get(43) == "Y" or tags.get(97) == "Y",
            "cl_ord_id": tags.get(11),
            "orig_cl_ord_id": tags.get(41),
            "order_id": tags.get(37),
            "exec_id": tags.get(17),
            "root_cl_ord_id": lineage.root_client_order_id or None,
            "strategy": lineage.strategy or None,
            "decision_id": lineage.decision_id or None,
            "raw": redact_fix(raw).replace("\x01", "|"),
        }
        with self._lock:
            row["seq"] = self._next_seq
            self._next_seq += 1
            for name in _COLUMNS:
                self._buffer[name].append(row[name])
            full = len(self._buffer["seq"]) >= self._flush_every
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._connection is None or not self._buffer["seq"]:
                return
            batch, self._buffer = self._buffer, {name: [] for name in _COLUMNS}
            try:
                self._connection.execute(_INSERT, batch)
            except duckdb.Error as e:
                raise StoreUnavailable(f"cannot write the FIX audit journal: {e}") from e

    # ------------------------------------------------------------------ reading
    def rows(self, where: str = "", params: list[object] | None = None) -> list[dict[str, object]]:
        """Rows in journal order (``where`` is a SQL condition with ``?`` parameters)."""
        self.flush()
        with self._lock:
            if self._connection is None:
                raise StoreUnavailable("the FIX audit journal is not open")
            sql = f"SELECT {', '.join(_COLUMNS)} FROM fix_audit"
            if where:
                sql += f" WHERE {where}"
            cursor = self._connection.execute(sql + " ORDER BY seq", params or [])
            return [dict(zip(_COLUMNS, values, strict=True)) for values in cursor.fetchall()]

    def for_order(self, root_client_order_id: str) -> list[dict[str, object]]:
        """Every message of one order's lineage (all ClOrdIDs of its replace chain)."""
        return self.rows("root_cl_ord_id = ?", [root_client_order_id])

    def verify(self) -> int:
        """The row count, after checking ``seq`` runs 1..n without gaps (nothing deleted)."""
        self.flush()
        with self._lock:
            if self._connection is None:
                raise StoreUnavailable("the FIX audit journal is not open")
            count, low, high = self._connection.execute(
                "SELECT count(*), coalesce(min(seq), 1), coalesce(max(seq), 0) FROM fix_audit"
            ).fetchone()
        if count and (low != 1 or high != count):
            raise StoreUnavailable(
                f"the FIX audit journal has gaps: expected seq 1..{count}, was {low}..{high}"
            )
        return int(count)
