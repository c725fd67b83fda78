"""Mutual TLS: the venue requires a client certificate signed by its client CA.

The venue (a plain quickfix acceptor) sits behind :class:`TlsFront`, which terminates TLS:
quickfix-ssl 1.15.1's own acceptor stops answering every client after one failed handshake
(see the module's docstring), so a refused client must never reach it. Certificates are
made for the test with the openssl command line tool; everything runs over 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emp.adapters.fix_quickfix import TlsFiles
from emp.adapters.fix_quickfix.session_settings import tls_settings
from emp.adapters.fix_quickfix.tls_front import TlsFront, TlsFrontConfig
from emp.app.errors import ConfigError
from emp.app.venue_commands import venue_app
from emp.domain.errors import InvalidConfiguration
from emp.domain.events import OrderAccepted, OrderFilled
from emp.ports.venue import VenueDisconnected
from tests.integration.fix.conftest import FixLab, collect, free_port, message_lines, of_kind
from tests.integration.fix.test_recovery import resting_bid, sell_print
from tests.integration.fix.tls_lab import Pki, make_pki

#: How long a refused client is given to (not) log on: quickfix retries every second.
REFUSAL_WAIT_S = 2.5


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


class Served:
    """A venue behind a mutual-TLS front, both stopped by the lab."""

    def __init__(self, lab: FixLab, pki: Pki, *, client_ca: Path | None) -> None:
        self.server = lab.server()
        self.events: list[str] = []
        self.front = TlsFront(
            TlsFrontConfig(
                listen_port=free_port(),
                backend_port=self.server.config.port,
                certificate_file=pki.server_cert,
                key_file=pki.server_key,
                client_ca_file=client_ca,
                handshake_timeout_s=2.0,
            ),
            on_event=self.events.append,
        )
        self.front.start()
        # The lab stops in reverse order: clients log out through the front, then the
        # front stops, then the venue.
        lab._stops.append(self.front.stop)

    @property
    def port(self) -> int:
        return self.front.config.listen_port


@pytest.fixture
def mtls(lab: FixLab, pki: Pki) -> Served:
    return Served(lab, pki, client_ca=pki.ca)


def trade_once(lab: FixLab, served: Served, client, cid: str) -> None:
    client.submit_order(resting_bid(cid, qty=10))
    collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
    served.server.feed(sell_print(10))
    events = collect(client, lambda e: bool(of_kind(e, OrderFilled)))
    (fill,) = of_kind(events, OrderFilled)
    assert (fill.fill.client_order_id, fill.fill.quantity) == (cid, 10.0)


def assert_refused(client, served: Served) -> None:
    with pytest.raises(VenueDisconnected, match="no Logon from 127.0.0.1"):
        client.wait_logged_on(REFUSAL_WAIT_S)
    assert not served.server.is_logged_on()
    assert not any("|35=A|" in line for line in message_lines(served.server))


class TestMutualTls:
    def test_a_client_with_a_certificate_from_the_client_ca_logs_on_and_trades(
        self, lab, pki, mtls
    ):
        client = lab.client(mtls.port, tls=pki.good_client())
        trade_once(lab, mtls, client, "m1")
        assert mtls.front.accepted == 1 and mtls.front.refusals == []
        assert "client certificate commonName=EMP" in mtls.events[0]

    def test_a_client_without_a_certificate_is_refused_before_any_logon(self, lab, pki, mtls):
        client = lab.client(mtls.port, tls=pki.client_without_certificate(), wait=False)
        assert_refused(client, mtls)
        assert mtls.front.refusals, "the front recorded no refusal"
        assert all("no client certificate" in r for r in mtls.front.refusals)
        assert mtls.front.accepted == 0

    def test_a_client_certificate_from_another_ca_is_refused(self, lab, pki, mtls):
        client = lab.client(mtls.port, tls=pki.rogue_client(), wait=False, name="rogue")
        assert_refused(client, mtls)
        assert mtls.front.refusals
        assert all("does not verify against the client CA" in r for r in mtls.front.refusals)

    def test_the_venue_keeps_serving_a_good_client_after_refusing_bad_ones(self, lab, pki, mtls):
        with socket.create_connection(("127.0.0.1", mtls.port), timeout=5) as plain:
            plain.sendall(b"8=FIX.4.4\x019=5\x0135=A\x01")
            # closed (or reset): refused either way, and nothing came back
            with contextlib.suppress(ConnectionResetError):
                assert plain.recv(16) == b""
        for name, tls in (
            ("bare", pki.client_without_certificate()),
            ("rogue", pki.rogue_client()),
        ):
            bad = lab.client(mtls.port, tls=tls, wait=False, name=name)
            assert_refused(bad, mtls)
            bad.stop()
        good = lab.client(mtls.port, tls=pki.good_client(), name="good")
        trade_once(lab, mtls, good, "m2")
        assert len(mtls.front.refusals) >= 3 and mtls.front.accepted == 1

    def test_a_plain_tcp_client_is_told_it_speaks_plain_tcp_to_a_tls_venue(self, lab, mtls):
        client = lab.client(mtls.port, wait=False)
        with pytest.raises(VenueDisconnected, match="We speak plain TCP"):
            client.wait_logged_on(REFUSAL_WAIT_S)


class TestServerOnlyTls:
    def test_without_a_client_ca_a_client_needs_no_certificate(self, lab, pki):
        served = Served(lab, pki, client_ca=None)
        client = lab.client(served.port, tls=pki.client_without_certificate())
        trade_once(lab, served, client, "s1")
        assert "client certificate" not in served.events[0]


class TestConfiguration:
    def test_a_venue_given_a_client_ca_requires_and_verifies_client_certificates(self, tmp_path):
        tls = TlsFiles(
            ca_file=tmp_path / "ca.pem",
            certificate_file=tmp_path / "c.pem",
            key_file=tmp_path / "k.pem",
        )
        assert tls_settings(tls, server=True) == {
            "CertificationAuthoritiesFile": str(tmp_path / "ca.pem"),
            "CertificateVerifyLevel": "1",
            "ServerCertificateFile": str(tmp_path / "c.pem"),
            "ServerCertificateKeyFile": str(tmp_path / "k.pem"),
        }

    def test_a_client_never_sets_a_verify_level(self, tmp_path):
        assert "CertificateVerifyLevel" not in tls_settings(
            TlsFiles(ca_file=tmp_path / "ca.pem"), server=False
        )

    def test_a_certificate_without_its_key_is_refused(self, tmp_path):
        with pytest.raises(InvalidConfiguration, match="expected both or neither"):
            TlsFiles(certificate_file=tmp_path / "c.pem")

    def test_a_front_with_missing_files_fails_in_words(self, tmp_path, pki):
        config = TlsFrontConfig(
            listen_port=free_port(),
            backend_port=free_port(),
            certificate_file=pki.server_cert,
            key_file=pki.server_key,
            client_ca_file=tmp_path / "missing-ca.pem",
        )
        with pytest.raises(InvalidConfiguration, match="cannot load the TLS files"):
            TlsFront(config)


class TestServeOptions:
    @pytest.fixture(autouse=True)
    def _no_fix_env(self, monkeypatch):
        for key in [k for k in os.environ if k.startswith("EMP_")]:
            monkeypatch.delenv(key)

    def serve(self, *options: str):
        args = ["serve", "--port", str(free_port()), "--duration-s", "0", "--insecure-no-auth"]
        return CliRunner().invoke(venue_app, [*args, *options])

    def test_serve_offers_a_client_ca_option(self):
        assert "--tls-client-ca" in CliRunner().invoke(venue_app, ["serve", "--help"]).output

    def test_a_client_ca_without_a_venue_certificate_is_refused(self, pki):
        result = self.serve("--tls-client-ca", str(pki.ca))
        assert isinstance(result.exception, ConfigError)
        assert "--tls-client-ca needs --tls-certificate" in str(result.exception)

    def test_a_missing_client_ca_file_is_refused_in_words(self, pki, tmp_path):
        result = self.serve(
            *("--tls-certificate", str(pki.server_cert), "--tls-key", str(pki.server_key)),
            *("--tls-client-ca", str(tmp_path / "nope.pem")),
        )
        assert isinstance(result.exception, ConfigError)
        assert "--tls-client-ca: expected a PEM file" in str(result.exception)
