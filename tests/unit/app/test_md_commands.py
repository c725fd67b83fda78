"""`emp md ...` through typer's CliRunner: replay, backfill, and the live commands' errors."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
from typer.testing import CliRunner

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import write_raw_messages
from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.app.errors import ConfigError
from emp.app.md_commands import md_app
from emp.app.md_live_commands import BarLiquidity, _book_line
from emp.domain.books import BookSynchronizer
from emp.domain.instruments import Instrument
from emp.domain.matching.market_data import BookSnapshot
from emp.ports.market_data import MarketDataUnavailable
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


# ---------------------------------------------------------------- live: serve, subscribe
@pytest.fixture
def no_fix_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("EMP_FIX_"):
            monkeypatch.delenv(key)


class TestServe:
    def test_serving_without_credentials_is_refused_before_anything_starts(
        self, tmp_path, no_fix_env
    ):
        result = runner.invoke(md_app, ["serve", "--port", "1", "--data-dir", str(tmp_path)])
        assert result.exit_code == 1
        assert isinstance(result.exception, ConfigError)
        assert "EMP_FIX_PASSWORD" in str(result.exception)
        assert not (tmp_path / "store").exists()

    def test_an_unknown_liquidity_kind_is_refused(self, tmp_path, no_fix_env):
        result = runner.invoke(
            md_app,
            ["serve", "--port", "1", "--insecure-no-auth", "--liquidity", "dreams"],
        )
        assert result.exit_code == 1
        assert "--liquidity must be 'generated' or 'bars', was 'dreams'" in str(result.exception)

    def test_bar_liquidity_replays_one_bar_per_step_then_stands_still(self):
        bars = RegimeSwitchingBarSource(["ABC"], n_bars=3, seed=1).load(["ABC"])["ABC"]
        source = BarLiquidity(bars, Instrument(symbol="ABC", tick_size=0.01), levels=2)
        steps = [source.step(i) for i in range(4)]
        assert all(steps[:3]) and steps[3] == []
        first_book = next(u for u in steps[0] if isinstance(u, BookSnapshot))
        assert len(first_book.bids) == 2 and first_book.bids[0][0] < bars.bar(0).open + 0.02


class TestSubscribe:
    def test_a_port_nobody_serves_fails_with_a_clear_error(self, tmp_path, no_fix_env):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        result = runner.invoke(
            md_app,
            ["subscribe", "ABC", "--port", str(port), "--logon-timeout", "0.3",
             "--data-dir", str(tmp_path)],
        )  # fmt: skip
        assert result.exit_code == 1
        assert isinstance(result.exception, MarketDataUnavailable)
        assert str(result.exception) == f"no Logon from 127.0.0.1:{port} within 0.3 s"

    def test_a_book_line_shows_the_state_and_the_requested_depth(self):
        sync = BookSynchronizer({"ABC": Instrument(symbol="ABC", tick_size=0.01)})
        sync.on_message(
            snapshot_of(((((99.0, 5.0), (98.5, 2.0))), ((100.0, 1.0),)), seq_num=1, ts_ns=T0)
        )
        assert _book_line("ABC", sync, 2) == "ABC [live] bids 5@99 2@98.5 | asks 1@100"
        assert _book_line("ABC", sync, 1) == "ABC [live] bids 5@99 | asks 1@100"
