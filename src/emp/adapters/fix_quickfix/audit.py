"""An append-only audit journal of every inbound and outbound FIX application message.

Rows are read from DuckDB view ``fix_audit``: the redacted raw message, its identifying tags,
and the order's lineage (the first ClOrdID of its replace chain, the strategy and the
decision that created it). The journal has no update or delete: :meth:`append` and the
read methods are the whole API, ``seq`` numbers rows gap-free in arrival order, and
:meth:`verify` proves nothing was removed.

Off the hot path: :meth:`append` only numbers the message and keeps it in memory (about a
microsecond, under a lock). A writer thread appends what is kept, redacted, to a spool
file beside the journal (``<file>.spool``, one JSON array of rows per write) every
``flush_interval_s`` (or as soon as ``flush_every`` wait): one short write, no DuckDB.
The spool goes into DuckDB — one INSERT of an Arrow table — at every read, at
:meth:`flush`, at :meth:`close`, when it passes 64 MB, and at the next :meth:`open` after a
crash. DuckDB work on a busy session's threads would hold the GIL for milliseconds and
show in the order round trip. Only the message and the lineage are stored (table
``fix_audit_messages``); the view ``fix_audit`` reads the identifying tags out of the
message when the journal is read. A clean shutdown loses nothing.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import duckdb
import pyarrow as pa

from emp.adapters.fix_quickfix.credentials import MASK, SECRET_TAGS, redact_fix
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
_BATCH = "emp_fix_audit_batch"
#: The spool is taken into DuckDB when it grows past this (and at every read and close).
_SPOOL_LIMIT = 64 * 1024 * 1024
#: One encoder for every spool line (``json.dumps`` with separators builds a new one per call).
_SPOOL_LINE = json.JSONEncoder(separators=(",", ":")).encode


def _tag(tag: int) -> str:
    """SQL: the first value of ``tag`` in a stored message (NULL when absent)."""
    return rf"nullif(regexp_extract(m, '\|{tag}=([^|]*)', 1), '')"


# What is stored: the message (redacted, SOH written as '|') and what only the writer
# knows. The identifying tags are read out of the message by the ``fix_audit`` view when
# the journal is read, not when it is written: writing stays cheap on a busy session.
_DDL = (
    """
CREATE TABLE IF NOT EXISTS fix_audit_messages (
    seq BIGINT NOT NULL,
    recorded_ns BIGINT NOT NULL,
    session VARCHAR NOT NULL,
    direction VARCHAR NOT NULL CHECK (direction IN ('in', 'out')),
    root_cl_ord_id VARCHAR,
    strategy VARCHAR,
    decision_id VARCHAR,
    raw VARCHAR NOT NULL
)
""",
    rf"""
CREATE VIEW IF NOT EXISTS fix_audit AS
SELECT seq, recorded_ns, session, direction,
    coalesce({_tag(35)}, '') AS msg_type,
    TRY_CAST({_tag(34)} AS BIGINT) AS msg_seq_num,
    coalesce({_tag(43)} = 'Y' OR {_tag(97)} = 'Y', false) AS poss_dup,
    {_tag(11)} AS cl_ord_id,
    {_tag(41)} AS orig_cl_ord_id,
    {_tag(37)} AS order_id,
    {_tag(17)} AS exec_id,
    root_cl_ord_id, strategy, decision_id, raw
FROM (SELECT *, '|' || raw AS m FROM fix_audit_messages)
""",
)
_SECRET = f"(^|\\x01)({'|'.join(str(tag) for tag in SECRET_TAGS)})="
# Redaction in SQL: DuckDB runs it in C++ without holding the GIL.
_INSERT = rf"""
INSERT INTO fix_audit_messages
SELECT seq, recorded_ns, session, direction, root_cl_ord_id, strategy, decision_id,
    replace(
        CASE WHEN regexp_matches(raw, '{_SECRET}')
            THEN regexp_replace(raw, '{_SECRET}[^\x01]*', '\1\2={MASK}', 'g')
            ELSE raw END,
        chr(1), '|')
FROM {_BATCH}
"""
_BATCH_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("recorded_ns", pa.int64()),
        ("session", pa.string()),
        ("direction", pa.string()),
        ("root_cl_ord_id", pa.string()),
        ("strategy", pa.string()),
        ("decision_id", pa.string()),
        ("raw", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where an order came from: its replace chain's first ClOrdID, strategy, decision."""

    root_client_order_id: str = ""
    strategy: str = ""
    decision_id: str = ""


_NO_LINEAGE = Lineage()


#: One kept message: (seq, recorded_ns, session, direction, root ClOrdID, strategy,
#: decision id, raw): the batch's columns are then one ``zip`` away (little Python, so
#: little GIL, on the writer thread).
_Kept = tuple[int, int, str, str, str | None, str | None, str | None, str]


def _batch(kept: list[_Kept]) -> pa.Table:
    columns = zip(*kept, strict=True)
    return pa.Table.from_arrays(
        [pa.array(column, type=f.type) for column, f in zip(columns, _BATCH_SCHEMA, strict=True)],
        schema=_BATCH_SCHEMA,
    )


class DuckDBAuditJournal:
    """The audit journal in a DuckDB file (thread-safe; one writer per file).

    Args:
        path: the DuckDB file (``":memory:"`` for tests).
        flush_every: wake the writer as soon as this many messages wait.
        flush_interval_s: the writer's period otherwise.
    """

    def __init__(
        self, path: Path | str, *, flush_every: int = 4096, flush_interval_s: float = 0.02
    ) -> None:
        self._path = str(path)
        self._flush_every = flush_every
        self._flush_interval_s = flush_interval_s
        self._lock = threading.Lock()  # the kept messages and the sequence
        self._write_lock = threading.Lock()  # the spool and the connection
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._spool_path = None if self._path == ":memory:" else Path(self._path + ".spool")
        self._spool: TextIO | None = None
        self._kept: list[_Kept] = []
        self._next_seq = 1
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._writer: threading.Thread | None = None
        self._failure: StoreUnavailable | None = None

    def open(self) -> None:
        """Open the file (and take in a spool a crash left behind); start the writer."""
        with self._write_lock:
            if self._connection is not None:
                return
            try:
                if self._spool_path is not None:
                    self._spool_path.parent.mkdir(parents=True, exist_ok=True)
                # one DuckDB thread: batches are small and the cores belong to the session
                connection = duckdb.connect(self._path, config={"threads": 1})
                for statement in _DDL:
                    connection.execute(statement).fetchall()
                self._connection = connection
                if self._spool_path is not None:
                    self._spool = open(self._spool_path, "a+", encoding="utf-8")  # noqa: SIM115
                    self._import_spool()
                ((last,),) = connection.execute(
                    "SELECT coalesce(max(seq), 0) FROM fix_audit_messages"
                ).fetchall()
            except (duckdb.Error, OSError) as e:
                self._connection = None
                raise StoreUnavailable(
                    f"cannot open the FIX audit journal at {self._path}: {e}"
                ) from e
            with self._lock:
                self._next_seq = int(last) + 1
            self._stopping.clear()
            self._writer = threading.Thread(
                target=self._write_periodically, name="emp-fix-audit", daemon=True
            )
            self._writer.start()

    def close(self) -> None:
        """Stop the writer, write every kept message, close the file. Idempotent."""
        writer, self._writer = self._writer, None
        if writer is not None:
            self._stopping.set()
            self._wake.set()
            writer.join(timeout=30)
        try:
            self.flush()
        finally:
            with self._write_lock:
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None
                if self._spool is not None:
                    self._spool.close()
                    self._spool = None

    @property
    def pending(self) -> int:
        """Messages appended but not yet written to disk."""
        with self._lock:
            return len(self._kept)

    def append(
        self,
        *,
        recorded_ns: int,
        session: str,
        direction: str,
        raw: str,
        lineage: Lineage | None = None,
    ) -> None:
        """Record one application message (credentials are redacted when written)."""
        if direction != "in" and direction != "out":
            raise ValueError(f"direction must be 'in' or 'out', was {direction!r}")
        lineage = lineage or _NO_LINEAGE
        root, strategy = lineage.root_client_order_id or None, lineage.strategy or None
        decision = lineage.decision_id or None
        with self._lock:  # the writer swaps the list under it: read it here
            kept = self._kept
            seq = self._next_seq
            self._next_seq = seq + 1
            kept.append((seq, recorded_ns, session, direction, root, strategy, decision, raw))
            full = len(kept) >= self._flush_every
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Write every kept message into the DuckDB file now (reads do this first)."""
        with self._write_lock:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            if self._connection is None:
                return  # not open: kept for when it is
            if self._spool is None:  # in memory: straight in
                with self._lock:
                    batch, self._kept = self._kept, []
                self._insert(batch)
                return
            self._write_spool()
            self._import_spool()

    # ------------------------------------------------------------------ writing
    # Called with the write lock held.
    def _write_spool(self) -> None:
        """Kept messages → the spool file: one short write, redacted, no DuckDB."""
        assert self._spool is not None
        with self._lock:
            batch, self._kept = self._kept, []
        if batch:
            # One JSON array of rows per write: one encoder call, not one per message.
            line = _SPOOL_LINE([[*row[:7], redact_fix(row[7])] for row in batch])
            try:
                self._spool.write(line + "\n")
                self._spool.flush()
            except OSError as e:
                with self._lock:
                    self._kept[:0] = batch
                raise StoreUnavailable(f"cannot write the FIX audit spool: {e}") from e

    def _import_spool(self) -> None:
        """The spool's messages → the DuckDB table, then an empty spool. A last line cut
        short by a crash is dropped (it was never acknowledged anywhere)."""
        assert self._spool is not None
        self._spool.seek(0)
        rows: list[_Kept] = []
        for line in self._spool.read().splitlines():
            try:
                written = json.loads(line)
            except ValueError:
                continue
            if written and isinstance(written[0], list):  # a batch of rows
                rows.extend(tuple(row) for row in written)
            else:  # one row (spools written before batches)
                rows.append(tuple(written))
        self._insert(rows)
        self._spool.seek(0)
        self._spool.truncate()

    def _insert(self, batch: list[_Kept]) -> None:
        if not batch or self._connection is None:
            return
        table = _batch(batch)
        try:
            self._connection.register(_BATCH, table)
            try:
                self._connection.execute(_INSERT).fetchall()
            finally:
                self._connection.unregister(_BATCH)
        except duckdb.Error as e:
            raise StoreUnavailable(f"cannot write the FIX audit journal: {e}") from e

    def _write_periodically(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._flush_interval_s)
            self._wake.clear()
            try:
                with self._write_lock:
                    if self._spool is None:
                        continue
                    self._write_spool()
                    if self._spool.tell() > _SPOOL_LIMIT:
                        self._import_spool()
            except StoreUnavailable as error:  # surfaced by the next flush() or close()
                with self._write_lock:
                    self._failure = error
                return

    # ------------------------------------------------------------------ reading
    def rows(self, where: str = "", params: list[object] | None = None) -> list[dict[str, object]]:
        """Rows in journal order (``where`` is a SQL condition with ``?`` parameters)."""
        self.flush()
        with self._write_lock:
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
        with self._write_lock:
            if self._connection is None:
                raise StoreUnavailable("the FIX audit journal is not open")
            ((count, distinct, low, high),) = self._connection.execute(
                "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 1), "
                "coalesce(max(seq), 0) FROM fix_audit"
            ).fetchall()
        if count and (low != 1 or high != count or distinct != count):
            raise StoreUnavailable(
                f"the FIX audit journal has gaps or repeats: expected seq 1..{count} once "
                f"each, was {low}..{high} with {distinct} distinct"
            )
        return int(count)
