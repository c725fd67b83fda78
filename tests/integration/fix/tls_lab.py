"""Certificates for the mutual-TLS tests, made with the openssl command line tool.

A test CA signs the venue's certificate (127.0.0.1 / localhost) and one client's; another
CA signs a second client's, which the venue must refuse. Valid for a day.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from emp.adapters.fix_quickfix import TlsFiles


@dataclass(frozen=True)
class Pki:
    """The PEM files of one test run."""

    folder: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path  # a client certificate signed by another CA
    rogue_key: Path

    def good_client(self) -> TlsFiles:
        return TlsFiles(
            ca_file=self.ca, certificate_file=self.client_cert, key_file=self.client_key
        )

    def client_without_certificate(self) -> TlsFiles:
        return TlsFiles(ca_file=self.ca)

    def rogue_client(self) -> TlsFiles:
        return TlsFiles(ca_file=self.ca, certificate_file=self.rogue_cert, key_file=self.rogue_key)


def _openssl() -> str:
    openssl = shutil.which("openssl")
    if openssl is None:  # fail, never skip
        raise RuntimeError("the TLS tests need the openssl command line tool (apt: openssl)")
    return openssl


def _run(*args: str) -> None:
    subprocess.run([_openssl(), *args], check=True, capture_output=True, timeout=60)


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    _run(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
        *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
    )
    return cert, key


def _signed(folder: Path, name: str, subject: str, ca: tuple[Path, Path], ext: str) -> Path:
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
    extfile = folder / f"{name}.ext"
    extfile.write_text(ext + "\n")
    _run(
        *("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)),
        *("-out", str(csr), "-subj", subject),
    )
    _run(
        *("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1])),
        *("-CAcreateserial", "-days", "1", "-out", str(cert), "-extfile", str(extfile)),
    )
    return cert


def make_pki(folder: Path) -> Pki:
    """A CA, the venue's and a client's certificates signed by it, and a rogue client's."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = _ca(folder, "emp-test-ca")
    other = _ca(folder, "other-ca")
    server = _signed(
        folder,
        "venue",
        "/CN=localhost",
        ca,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
    )
    client = _signed(folder, "client", "/CN=EMP", ca, "extendedKeyUsage=clientAuth")
    rogue = _signed(folder, "rogue", "/CN=EMP", other, "extendedKeyUsage=clientAuth")
    return Pki(
        folder=folder,
        ca=ca[0],
        server_cert=server,
        server_key=folder / "venue.key",
        client_cert=client,
        client_key=folder / "client.key",
        rogue_cert=rogue,
        rogue_key=folder / "rogue.key",
    )
