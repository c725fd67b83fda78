"""`emp md ...` through the installed script: replay, backfill, and live serve/subscribe over
real FIX (the venue runs as a subprocess on a free loopback port)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import write_raw_messages
from tests.unit.domain.books.streams import T0, increment_of, l2_stream, snapshot_of

EMP = Path(sys.executable).parent / "emp"


@pytest.mark.parametrize("command", [["md", "replay"], ["replay"]], ids=["md-replay", "replay"])
def test_emp_md_replay_prints_one_json_summary_of_the_books(tmp_path, command):
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
        [str(EMP), *command, str(tmp_path / "s.fix"), "--json", "--png", str(tmp_path / "b.png")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["books"]["ABC"]["bid"] == images[-1][0][0][0]
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


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


# ------------------------------------------------------------ live: serve and subscribe
CREDENTIALS = {"EMP_FIX_USERNAME": "md-user", "EMP_FIX_PASSWORD": "md-Pa55word"}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
    environment.update(extra or {})
    return environment


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _emp(*args: str, cwd: Path, env: dict[str, str], timeout: int = 60):
    return subprocess.run(
        [str(EMP), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@contextlib.contextmanager
def _serving(cwd: Path, *args: str, env: dict[str, str]) -> Iterator[int]:
    """A venue served by the installed script on a free loopback port (stopped after)."""
    port = _free_port()
    process = subprocess.Popen(
        [str(EMP), *args, "--port", str(port), "--duration-s", "60"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once the acceptor listens
        assert first.startswith("serving"), (first, process.stderr and process.stderr.read())
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def md_venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    root = tmp_path_factory.mktemp("md-venue")
    with _serving(root, "md", "serve", "--symbols", "ABC,XYZ", env=_env(CREDENTIALS)) as port:
        yield port, root


class TestLiveMarketData:
    def test_a_live_recording_replays_to_the_books_the_subscriber_ended_with(
        self, md_venue: tuple[int, Path], tmp_path: Path
    ) -> None:
        port, _ = md_venue
        done = _emp(
            "md", "subscribe", "ABC", "XYZ", "--port", str(port), "--duration", "2",
            "--record", str(tmp_path / "live.fix"), "--json", cwd=tmp_path, env=_env(CREDENTIALS),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        live = json.loads(done.stdout.strip().splitlines()[-1])
        assert live["messages"] >= 4 and live["recorded"] == live["messages"]
        assert live["gaps"] == 0 and live["sessions_lost"] == 0
        replay = _emp(
            "md", "replay", str(tmp_path / "live.fix"), "--json", cwd=tmp_path, env=_env()
        )
        assert replay.returncode == 0, replay.stderr
        replayed = json.loads(replay.stdout.strip().splitlines()[-1])
        keys = ("state", "bid", "bid_size", "ask", "ask_size", "bid_levels", "ask_levels")
        for symbol in ("ABC", "XYZ"):
            assert live["books"][symbol]["state"] == "live"
            assert {k: replayed["books"][symbol][k] for k in keys} == {
                k: live["books"][symbol][k] for k in keys
            }

    def test_the_live_bbos_are_published_to_redis_when_configured(
        self, md_venue: tuple[int, Path], tmp_path: Path
    ) -> None:
        from emp.adapters.redis_state import RedisStateStore
        from tests.integration.stores.services import redis_server

        port, _ = md_venue
        with redis_server() as server:
            env = _env({**CREDENTIALS, "EMP_REDIS_URL": server.url, "EMP_STATE_NAMESPACE": "md"})
            done = _emp(
                "md", "subscribe", "ABC", "XYZ", "--port", str(port), "--duration", "2",
                "--json", cwd=tmp_path, env=env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            live = json.loads(done.stdout.strip().splitlines()[-1])
            state = RedisStateStore(server.url, namespace="md")
            try:
                bbos = {symbol: state.get_bbo(symbol) for symbol in ("ABC", "XYZ")}
                beat = state.last_heartbeat("emp-md-subscribe.EMPMD")
            finally:
                state.close()
        assert live["hot_state"]["failed_writes"] == 0 and beat is not None
        for symbol, bbo in bbos.items():
            assert bbo is not None
            book = live["books"][symbol]
            assert (bbo.bid, bbo.bid_size, bbo.ask, bbo.ask_size) == (
                book["bid"],
                book["bid_size"],
                book["ask"],
                book["ask_size"],
            )

    def test_subscribe_prints_the_books_as_they_change_and_stops_on_ctrl_c_with_a_summary(
        self, md_venue: tuple[int, Path], tmp_path: Path
    ) -> None:
        port, _ = md_venue
        process = subprocess.Popen(
            [str(EMP), "md", "subscribe", "ABC", "--port", str(port), "--depth", "3"],
            cwd=tmp_path, env=_env(CREDENTIALS), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(3)]
            assert lines[0].startswith("subscribed to ABC at 127.0.0.1:"), lines
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, err
        lines += out.splitlines()
        books = [line for line in lines if line.startswith("ABC [live] bids ")]
        assert len(books) >= 2, lines
        assert all(line.count("@") == 6 for line in books)  # three levels a side
        assert "messages" in lines[-1] and "gaps 0" in lines[-1]

    def test_a_port_nobody_serves_is_one_line_and_exit_1_without_hanging(
        self, tmp_path: Path
    ) -> None:
        port = _free_port()
        started = time.monotonic()
        done = _emp(
            "md", "subscribe", "ABC", "--port", str(port), "--logon-timeout", "1",
            cwd=tmp_path, env=_env(), timeout=30,
        )  # fmt: skip
        assert done.returncode == 1
        (line,) = done.stderr.strip().splitlines()
        assert line == f"error: MarketDataUnavailable: no Logon from 127.0.0.1:{port} within 1 s"
        assert time.monotonic() - started < 20
