"""`emp venue serve` and `emp paper` through their typer sub-apps (real quickfix)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from emp.app.errors import ConfigError
from emp.app.paper_commands import Target, live_mode_refusals, paper_app
from emp.app.venue_commands import FixSettings, load_fix_settings, venue_app
from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderFilled
from emp.domain.orders import OrderSide
from tests.integration.fix.conftest import collect, free_port, of_kind

PAPER_ARGS = ["--bars", "30", "--symbols", "SYN_A,SYN_B,SYN_C", "--json"]


@pytest.fixture(autouse=True)
def _no_fix_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


def _run(app, args):
    result = CliRunner().invoke(app, args)
    return result


class TestPaper:
    def test_paper_mode_trades_over_fix_and_repeats_exactly(self, tmp_path):
        runs = []
        for name in ("a", "b"):
            result = _run(paper_app, [*PAPER_ARGS, "--data-dir", str(tmp_path / name)])
            assert result.exit_code == 0, result.output
            runs.append(json.loads(result.output.strip().splitlines()[-1]))
        first, second = runs
        assert first["mode"] == "paper"
        assert first["orders"] == 3 and first["fills"] >= first["orders"]
        assert first["fix_messages_received"] >= 2 * first["orders"]
        assert {k: v for k, v in first.items() if k not in ("venue", "journal")} == {
            k: v for k, v in second.items() if k not in ("venue", "journal")
        }


class TestLiveModeRefusal:
    def test_live_mode_without_anything_lists_every_missing_condition(self):
        result = _run(paper_app, ["--live-mode"])
        assert isinstance(result.exception, ConfigError)
        text = str(result.exception)
        assert "credentials are missing" in text
        assert "--i-understand-live" in text
        assert "no target" in text

    def test_live_mode_refuses_a_loopback_target_even_when_confirmed(self, monkeypatch):
        monkeypatch.setenv("EMP_FIX_USERNAME", "u")
        monkeypatch.setenv("EMP_FIX_PASSWORD", "p")
        result = _run(
            paper_app, ["--live-mode", "--i-understand-live", "--connect", "127.0.0.1:9878"]
        )
        assert isinstance(result.exception, ConfigError)
        assert "is this machine" in str(result.exception)

    def test_the_guard_passes_only_when_every_condition_holds(self):
        settings = FixSettings(username="u", password="p")
        remote = Target("fix.broker.example", 443)
        assert live_mode_refusals(confirmed=True, target=remote, settings=settings) == []
        assert live_mode_refusals(confirmed=False, target=remote, settings=settings)
        assert live_mode_refusals(confirmed=True, target=remote, settings=FixSettings())

    def test_the_confirmation_alone_does_not_switch_live_mode_on(self):
        result = _run(paper_app, ["--i-understand-live"])
        assert isinstance(result.exception, ConfigError)


class TestSettings:
    def test_a_mistyped_fix_variable_is_an_error_that_suggests_the_name(self, monkeypatch):
        monkeypatch.setenv("EMP_FIX_PASWORD", "x")
        with pytest.raises(ConfigError, match="EMP_FIX_PASSWORD"):
            load_fix_settings()

    def test_the_password_never_shows_in_the_settings_repr(self, monkeypatch):
        monkeypatch.setenv("EMP_FIX_PASSWORD", "hunter2-long")
        assert "hunter2-long" not in repr(load_fix_settings())


SERVE = textwrap.dedent(
    """
    from emp.app.venue_commands import venue_app
    venue_app(["serve", "--port", "{port}", "--symbols", "ABC", "--duration-s", "30",
               "--data-dir", {data!r}])
    """
)


class TestServe:
    def test_serve_refuses_to_start_without_credentials(self):
        result = _run(venue_app, ["serve", "--port", str(free_port()), "--duration-s", "0"])
        assert isinstance(result.exception, ConfigError)
        assert "EMP_FIX_PASSWORD" in str(result.exception)

    def test_a_tls_certificate_without_its_key_is_refused(self, tmp_path):
        args = ["serve", "--port", str(free_port()), "--duration-s", "0", "--insecure-no-auth"]
        result = _run(venue_app, [*args, "--tls-certificate", str(tmp_path / "c.pem")])
        assert isinstance(result.exception, ConfigError)
        assert "--tls-key" in str(result.exception)

    def test_a_port_already_taken_is_a_clear_error_not_an_abort(self, tmp_path):
        """quickfix's acceptor aborts the whole process (an uncaught C++ exception) on a
        taken port: the server checks it first. A subprocess, so a regression fails this
        test instead of killing the test run."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            code = (
                "from emp.app.venue_commands import venue_app\n"
                f"venue_app(['serve', '--port', '{port}', '--duration-s', '0', "
                f"'--insecure-no-auth', '--data-dir', {str(tmp_path)!r}])"
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith("EMP_")}
            result = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
            )
        assert result.returncode == 1, (result.returncode, result.stderr)
        assert f"cannot serve FIX on port {port}: it is in use" in result.stderr
        assert "terminate called" not in result.stderr

    def test_serve_offers_remote_access_and_tls_options(self):
        result = _run(venue_app, ["serve", "--help"])
        for option in ("--allow-remote", "--tls-certificate", "--tls-key"):
            assert option in result.output

    def test_a_served_venue_fills_an_order_from_a_client_with_its_credentials(
        self, lab, monkeypatch
    ):
        port = free_port()
        env = {**os.environ, "EMP_FIX_USERNAME": "emp", "EMP_FIX_PASSWORD": "s3cr3t-Pa55word"}
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE.format(port=port, data=str(lab.root / "served"))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert "serving FIX 4.4 venue EMPSIM" in process.stdout.readline()
            client = lab.client(port)
            time.sleep(0.3)  # the generated market quotes every 100 ms
            client.submit_order(
                SubmitOrder(client_order_id="m1", symbol="ABC", side=OrderSide.BUY, quantity=5)
            )
            fills = of_kind(collect(client, lambda e: bool(of_kind(e, OrderFilled))), OrderFilled)
            assert fills[0].fill.quantity > 0
            client.stop()
        finally:
            process.terminate()
            _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert "venue stopped" in err
