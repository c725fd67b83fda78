"""Small parts of the quickfix adapter: redaction, secrets, backoff, the audit journal."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from emp.adapters.fix_quickfix import Backoff, DuckDBAuditJournal, Lineage, Secret, redact_fix
from emp.adapters.fix_quickfix.credentials import SECRET_TAGS
from emp.domain.errors import InvalidConfiguration
from emp.ports.store_errors import StoreUnavailable

LOGON = "8=FIX.4.4\x019=80\x0135=A\x01553=bob\x01554=hunter2\x01925=next-pw\x0110=055\x01"


class TestRedaction:
    def test_passwords_are_masked_in_soh_and_pipe_text(self):
        assert "hunter2" not in redact_fix(LOGON)
        assert "next-pw" not in redact_fix(LOGON)
        assert "554=***" in redact_fix(LOGON)
        piped = LOGON.replace("\x01", "|")
        assert redact_fix(piped).count("***") == 2
        assert "553=bob" in redact_fix(LOGON)

    @pytest.mark.parametrize("tag", SECRET_TAGS)
    def test_every_secret_tag_is_masked_wherever_it_stands(self, tag):
        for text in (f"{tag}=s3cret\x01", f"8=FIX.4.4\x0135=A\x01{tag}=s3cret\x0110=1\x01"):
            assert "s3cret" not in redact_fix(text)
            assert f"{tag}=***" in redact_fix(text)

    def test_a_tag_ending_in_554_is_left_alone(self):
        assert redact_fix("8=FIX.4.4\x011554=keep\x01") == "8=FIX.4.4\x011554=keep\x01"

    def test_a_secret_never_prints(self):
        secret = Secret("hunter2")
        assert "hunter2" not in f"{secret} {secret!r} {secret!s}"
        assert secret.reveal() == "hunter2"


class TestBackoff:
    def test_delays_double_up_to_the_cap(self):
        backoff = Backoff(initial_s=0.5, factor=2, max_s=3)
        assert [backoff.delay_s(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]

    def test_jitter_is_seeded_and_only_shortens(self):
        backoff = Backoff(initial_s=1, factor=2, max_s=8, jitter=0.5)
        plain = Backoff(initial_s=1, factor=2, max_s=8)

        def draws(seed: int) -> list[float]:
            rng = np.random.default_rng(seed)
            return [backoff.delay_s(n, rng) for n in range(1, 6)]

        assert draws(3) == draws(3)
        assert draws(3) != draws(4)
        for n, delay in enumerate(draws(3), start=1):
            assert plain.delay_s(n) * 0.5 <= delay <= plain.delay_s(n)

    @pytest.mark.parametrize("kwargs", [{"factor": 0.5}, {"jitter": 1.0}, {"initial_s": -1}])
    def test_a_nonsense_policy_is_refused(self, kwargs):
        with pytest.raises(InvalidConfiguration):
            Backoff(**kwargs)


class TestAuditJournal:
    def test_rows_keep_order_lineage_and_redact_credentials(self, tmp_path):
        journal = DuckDBAuditJournal(tmp_path / "audit.duckdb", flush_every=2)
        journal.open()
        raw = "8=FIX.4.4\x0135=D\x0134=2\x0111=o1\x011=s\x01554=pw\x0110=000\x01"
        for i in range(3):
            journal.append(
                recorded_ns=i,
                session="S",
                direction="out",
                raw=raw,
                lineage=Lineage("o1", "s", f"d{i}"),
            )
        rows = journal.for_order("o1")
        assert [r["seq"] for r in rows] == [1, 2, 3]
        assert [r["decision_id"] for r in rows] == ["d0", "d1", "d2"]
        assert rows[0]["msg_type"] == "D" and rows[0]["msg_seq_num"] == 2
        assert "pw" not in rows[0]["raw"]
        assert journal.verify() == 3
        journal.close()

    def test_a_reopened_journal_appends_after_its_last_row(self, tmp_path):
        path = tmp_path / "audit.duckdb"
        for _ in range(2):
            journal = DuckDBAuditJournal(path)
            journal.open()
            journal.append(recorded_ns=1, session="S", direction="in", raw="35=8\x01")
            journal.close()
        journal = DuckDBAuditJournal(path)
        journal.open()
        assert [r["seq"] for r in journal.rows()] == [1, 2]
        assert journal.verify() == 2
        journal.close()

    def test_the_journal_offers_no_way_to_change_a_row(self):
        public = {name for name in dir(DuckDBAuditJournal) if not name.startswith("_")}
        assert public == {
            *("open", "close", "append", "flush", "rows", "for_order", "verify", "pending")
        }

    def test_an_unopenable_journal_says_where(self, tmp_path):
        (tmp_path / "dir.duckdb").mkdir()
        with pytest.raises(StoreUnavailable, match="dir.duckdb"):
            DuckDBAuditJournal(tmp_path / "dir.duckdb").open()


class TestAuditJournalColumns:
    def test_tags_are_the_first_occurrence_and_absent_ones_are_null(self, tmp_path):
        journal = DuckDBAuditJournal(tmp_path / "audit.duckdb")
        journal.open()
        raw = "8=FIX.4.4\x0135=8\x0134=7\x0197=Y\x0137=O1\x0111=a\x0117=E1\x0111=b\x01"
        journal.append(recorded_ns=5, session="S", direction="in", raw=raw)
        (row,) = journal.rows()
        journal.close()
        assert (row["msg_type"], row["msg_seq_num"], row["poss_dup"]) == ("8", 7, True)
        assert (row["cl_ord_id"], row["order_id"], row["exec_id"]) == ("a", "O1", "E1")
        assert row["orig_cl_ord_id"] is None and row["strategy"] is None

    def test_every_credential_tag_is_masked_wherever_it_stands(self, tmp_path):
        journal = DuckDBAuditJournal(tmp_path / "audit.duckdb")
        journal.open()
        raw = "554=first\x0135=A\x01925=second\x0196=third\x011554=kept\x011404=fourth\x01"
        journal.append(recorded_ns=1, session="S", direction="out", raw=raw)
        (row,) = journal.rows()
        journal.close()
        assert row["raw"] == "554=***|35=A|925=***|96=***|1554=kept|1404=***|"
        assert row["raw"] == redact_fix(raw).replace("\x01", "|")
        assert row["poss_dup"] is False and row["msg_seq_num"] is None


class TestAuditJournalWriter:
    def test_append_only_keeps_the_message_and_a_clean_close_writes_it(self, tmp_path):
        path = tmp_path / "audit.duckdb"
        journal = DuckDBAuditJournal(path, flush_every=10_000, flush_interval_s=60)
        journal.open()
        for i in range(5):
            journal.append(recorded_ns=i, session="S", direction="in", raw=f"35=8\x0111=o{i}\x01")
        assert journal.pending == 5  # nothing written on the caller's thread
        journal.close()
        reopened = DuckDBAuditJournal(path)
        reopened.open()
        assert [r["cl_ord_id"] for r in reopened.rows()] == [f"o{i}" for i in range(5)]
        reopened.close()

    def test_the_writer_thread_writes_kept_messages_within_its_interval(self, tmp_path):
        journal = DuckDBAuditJournal(tmp_path / "audit.duckdb", flush_interval_s=0.02)
        journal.open()
        try:
            journal.append(recorded_ns=1, session="S", direction="out", raw="35=D\x0111=a\x01")
            deadline = time.monotonic() + 5
            while journal.pending and time.monotonic() < deadline:
                time.sleep(0.01)
            assert journal.pending == 0
        finally:
            journal.close()

    def test_appends_from_many_threads_are_each_written_once(self, tmp_path):
        path = tmp_path / "audit.duckdb"
        journal = DuckDBAuditJournal(path, flush_every=64, flush_interval_s=0.01)
        journal.open()

        def write(n: int) -> None:
            for i in range(300):
                raw = f"35=8\x0111=t{n}-{i}\x01"
                journal.append(recorded_ns=i, session="S", direction="in", raw=raw)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        journal.close()
        reopened = DuckDBAuditJournal(path)
        reopened.open()
        assert reopened.verify() == 1200
        assert len({r["cl_ord_id"] for r in reopened.rows()}) == 1200
        reopened.close()

    def test_spooled_batches_are_taken_in_and_a_batch_cut_short_is_dropped(self, tmp_path):
        path = tmp_path / "audit.duckdb"
        writer = DuckDBAuditJournal(path, flush_interval_s=0.005)
        for n in range(3):  # kept until the writer starts: one batch
            writer.append(recorded_ns=n, session="S", direction="in", raw=f"35=8\x0111=b{n}\x01")
        writer.open()
        deadline = time.monotonic() + 5
        while writer.pending and time.monotonic() < deadline:
            time.sleep(0.005)
        spool = (tmp_path / "audit.duckdb.spool").read_text()
        writer._connection.close()  # a crash: the spool stays, not taken in
        writer._connection = None
        writer._stopping.set()
        assert spool.count("\n") == 1, "three messages, one batch line"
        (tmp_path / "audit.duckdb.spool").write_text(spool + '[[4, 9, "S", "in"')
        journal = DuckDBAuditJournal(path)
        journal.open()
        try:
            assert [r["cl_ord_id"] for r in journal.rows()] == ["b0", "b1", "b2"]
        finally:
            journal.close()

    def test_a_spool_left_by_a_crash_is_taken_in_at_the_next_open(self, tmp_path):
        path = tmp_path / "audit.duckdb"
        spooled = [[1, 5, "S", "in", "o1", None, None, "35=8|11=o1|"]]
        spooled.append([2, 6, "S", "out", "o1", None, None, "35=F|11=c1|41=o1|"])
        lines = [json.dumps(row) for row in spooled]
        (tmp_path / "audit.duckdb.spool").write_text("\n".join(lines) + '\n[3, 7, "S"')
        journal = DuckDBAuditJournal(path)
        journal.open()
        try:
            assert [(r["seq"], r["cl_ord_id"]) for r in journal.rows()] == [(1, "o1"), (2, "c1")]
            journal.append(recorded_ns=8, session="S", direction="in", raw="35=8\x0111=o2\x01")
            assert journal.verify() == 3
        finally:
            journal.close()
        assert (tmp_path / "audit.duckdb.spool").read_text() == ""
