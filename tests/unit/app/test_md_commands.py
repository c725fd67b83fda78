"""`emp md replay` / `emp md backfill` through typer's CliRunner (until `md` is registered)."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import write_raw_messages
from emp.app.md_commands import md_app
from tests.unit.domain.books.streams import T0, increment_of, l2_stream, snapshot_of

runner = CliRunner()


def write_stream(path, *, corrupt_line: int | None = None) -> tuple:
    messages, images = l2_stream(np.random.default_rng(2), 60)
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
                increment_of(message, seq_num=i + 2, ts_ns=T0 + i * 10**6, first_rpt=rpt),
                sender_comp_id="V",
                target_comp_id="E",
            )
        )
        rpt += len(message[0])
    if corrupt_line is not None:
        raws[corrupt_line] = raws[corrupt_line].replace(b"10=", b"10=9", 1)
    write_raw_messages(path, raws)
    return images


class TestReplay:
    def test_replay_prints_the_final_book_and_its_features_as_json(self, tmp_path):
        images = write_stream(tmp_path / "s.fix")
        result = runner.invoke(md_app, ["replay", str(tmp_path / "s.fix"), "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output.strip().splitlines()[-1])
        book = summary["books"]["ABC"]
        assert summary["messages"] == 61 and summary["gaps"] == 0 and book["state"] == "live"
        assert (book["bid"], book["ask"]) == (images[-1][0][0][0], images[-1][1][0][0])
        assert set(book["features_last"]) >= {"spread", "imbalance", "order_flow_imbalance"}

    def test_replay_draws_the_png_and_reports_a_quarantined_message(self, tmp_path):
        write_stream(tmp_path / "s.fix", corrupt_line=10)
        png = tmp_path / "book.png"
        result = runner.invoke(
            md_app,
            [
                "replay",
                str(tmp_path / "s.fix"),
                "--png",
                str(png),
                "--quarantine",
                str(tmp_path / "q.fix"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "quarantined 1" in result.output and "stale" in result.output
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / "q.fix").read_bytes().count(b"\n") == 1


class TestBackfill:
    def test_backfill_writes_a_stream_that_reproduces_every_snapshot(self, tmp_path):
        _, images = l2_stream(np.random.default_rng(4), 40)
        snaps = [
            encode_md(
                snapshot_of(im, seq_num=k + 1, ts_ns=T0 + k * 10**6),
                sender_comp_id="V",
                target_comp_id="E",
            )
            for k, im in enumerate(images[::4])
        ]
        write_raw_messages(tmp_path / "snaps.fix", snaps)
        result = runner.invoke(
            md_app, ["backfill", str(tmp_path / "snaps.fix"), str(tmp_path / "out.fix")]
        )
        assert result.exit_code == 0, result.output
        assert "replay reproduces all 10 snapshots" in " ".join(result.output.split())
        lines = (tmp_path / "out.fix").read_bytes().splitlines()
        assert lines[0].startswith(b"8=FIX.4.4|") and b"|35=W|" in lines[0]
        assert all(b"|35=X|" in line for line in lines[1:])

    def test_backfill_refuses_a_file_without_snapshots(self, tmp_path):
        write_stream(tmp_path / "s.fix")
        (tmp_path / "x.fix").write_bytes(
            b"\n".join((tmp_path / "s.fix").read_bytes().splitlines()[1:])
        )
        result = runner.invoke(
            md_app, ["backfill", str(tmp_path / "x.fix"), str(tmp_path / "o.fix")]
        )
        assert result.exit_code != 0
