"""FIX over TLS: a self-signed certificate made for the test, loopback. The venue terminates
TLS in a front of its plain acceptor; the client is quickfix-ssl's initiator."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from emp.adapters.fix_quickfix import TlsFiles
from emp.adapters.fix_quickfix.session_settings import tls_settings
from emp.domain.events import OrderAccepted, OrderFilled
from emp.ports.venue import VenueDisconnected
from tests.integration.fix.conftest import collect, of_kind
from tests.integration.fix.test_recovery import resting_bid, sell_print


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, valid for a day."""
    openssl = shutil.which("openssl")
    if openssl is None:  # fail, never skip
        raise RuntimeError("the TLS tests need the openssl command line tool (apt: openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def served_tls(lab, certificate):
    cert, key = certificate
    return lab.server(tls=TlsFiles(certificate_file=cert, key_file=key))


class TestTlsSessions:
    def test_logon_and_an_order_round_trip_over_tls(self, lab, certificate):
        server = served_tls(lab, certificate)
        proxy = lab.proxy(server.config.port, passthrough=True)  # to see the wire
        client = lab.client(proxy.port, tls=TlsFiles(ca_file=certificate[0]))
        client.submit_order(resting_bid("o1", qty=10))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        server.feed(sell_print(10))
        (fill,) = of_kind(collect(client, lambda e: bool(of_kind(e, OrderFilled))), OrderFilled)
        assert (fill.fill.client_order_id, fill.fill.quantity) == ("o1", 10.0)
        assert len(proxy.recorded) > 0
        assert b"35=D" not in proxy.recorded and b"8=FIX" not in proxy.recorded

    def test_a_plain_tcp_client_against_a_tls_venue_gets_a_clear_error(self, lab, certificate):
        server = served_tls(lab, certificate)
        client = lab.client(server.config.port, wait=False)
        with pytest.raises(VenueDisconnected, match="We speak plain TCP; a TLS venue needs"):
            client.wait_logged_on(3)

    def test_a_failed_handshake_does_not_lock_the_venue_out(self, lab, certificate):
        # quickfix-ssl's own acceptor stopped answering everyone after one of these: the
        # venue terminates TLS in a front of a plain acceptor instead
        server = served_tls(lab, certificate)
        with socket.create_connection(("127.0.0.1", server.config.port), timeout=5) as raw:
            raw.sendall(b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01")  # plain text
            raw.settimeout(5)
            try:
                answer = raw.recv(4096)
            except ConnectionResetError:  # the front closes it, or resets it
                answer = b""
            assert answer == b""
        client = lab.client(server.config.port, tls=TlsFiles(ca_file=certificate[0]))
        client.submit_order(resting_bid("o2", qty=5))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        events = (lab.root / "venue" / "log" / "venue-EMPSIM.events.log").read_text()
        assert "TLS" in events and "refused" in events


class TestTlsSettings:
    def test_the_venue_names_its_certificate_and_key(self, tmp_path):
        tls = TlsFiles(certificate_file=tmp_path / "c.pem", key_file=tmp_path / "k.pem")
        assert tls_settings(tls, server=True) == {
            "ServerCertificateFile": str(tmp_path / "c.pem"),
            "ServerCertificateKeyFile": str(tmp_path / "k.pem"),
        }

    def test_a_client_names_its_ca_bundle_protocol_and_optional_certificate(self, tmp_path):
        tls = TlsFiles(
            ca_file=tmp_path / "ca.pem",
            certificate_file=tmp_path / "c.pem",
            key_file=tmp_path / "k.pem",
            protocol="-all +TLSv1_2 +TLSv1_3",
        )
        assert tls_settings(tls, server=False) == {
            "CertificationAuthoritiesFile": str(tmp_path / "ca.pem"),
            "ClientCertificateFile": str(tmp_path / "c.pem"),
            "ClientCertificateKeyFile": str(tmp_path / "k.pem"),
            "SSLProtocol": "-all +TLSv1_2 +TLSv1_3",
        }

    def test_no_tls_means_no_settings(self):
        assert tls_settings(None, server=False) == {}
