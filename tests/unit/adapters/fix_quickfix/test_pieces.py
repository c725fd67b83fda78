"""Small parts of the quickfix adapter: redaction, secrets, backoff, the audit journal."""

from __future__ import annotations

import numpy as np
import pytest

from emp.adapters.fix_quickfix import Backoff, DuckDBAuditJournal, Lineage, Secret, redact_fix
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
        assert public == {"open", "close", "append", "flush", "rows", "for_order", "verify"}

    def test_an_unopenable_journal_says_where(self, tmp_path):
        (tmp_path / "dir.duckdb").mkdir()
        with pytest.raises(StoreUnavailable, match="dir.duckdb"):
            DuckDBAuditJournal(tmp_path / "dir.duckdb").open()
