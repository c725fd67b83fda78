"""`emp md ...` through the installed script (needs `md_app` registered in cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import write_raw_messages
from tests.unit.domain.books.streams import T0, increment_of, l2_stream, snapshot_of

EMP = Path(sys.executable).parent / "emp"


def test_emp_md_replay_prints_one_json_summary_of_the_books(tmp_path):
    messages, images = l2_stream(np.random.default_rng(9), 30)
    raws = [
        encode_md(
            snapshot_of(((), ()), seq_num=1, ts_ns=T0, rpt_seq=0),
            sender_comp_id="V",
            target_comp_id="E",
        )
    ]
    rpt = 1
    for i, message in enumerate(messages):
        raws.append(
            encode_md(
                increment_of(message, seq_num=i + 2, ts_ns=T0 + i, first_rpt=rpt),
                sender_comp_id="V",
                target_comp_id="E",
            )
        )
        rpt += len(message[0])
    write_raw_messages(tmp_path / "s.fix", raws)
    done = subprocess.run(
        [str(EMP), "md", "replay", str(tmp_path / "s.fix"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["books"]["ABC"]["bid"] == images[-1][0][0][0]


def test_emp_md_backfill_verifies_what_it_writes(tmp_path):
    _, images = l2_stream(np.random.default_rng(8), 20)
    snaps = [
        encode_md(
            snapshot_of(im, seq_num=k + 1, ts_ns=T0 + k * 10**6),
            sender_comp_id="V",
            target_comp_id="E",
        )
        for k, im in enumerate(images[::2])
    ]
    write_raw_messages(tmp_path / "w.fix", snaps)
    done = subprocess.run(
        [str(EMP), "md", "backfill", str(tmp_path / "w.fix"), str(tmp_path / "x.fix")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "replay reproduces all 10 snapshots" in done.stdout
