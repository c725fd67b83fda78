"""Session configuration for the quickfix adapters (frozen, keyword-only, documented).

A downstream fork points EMP at its broker by filling :class:`FixSessionConfig` from its
settings: host, port, CompIDs, heartbeat, TLS files; credentials come separately as
:class:`~emp.adapters.fix_quickfix.secrets.FixCredentials` from the environment.
"""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from emp.domain.errors import InvalidConfiguration

BEGIN_STRING = "FIX.4.4"


def installed_data_dictionary() -> Path:
    """FIX44.xml as installed by the quickfix wheel (under the environment's data path)."""
    return Path(sysconfig.get_path("data")) / "share" / "quickfix" / "FIX44.xml"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsFiles:
    """TLS for quickfix-ssl sessions (PEM files). A broker gateway usually needs only
    ``ca_file``; mutual TLS adds the certificate and key.

    On the venue's side (the acceptor) ``ca_file`` turns mutual TLS on: every client must
    present a certificate that chains to it, or its connection is closed during the
    handshake, before any Logon (quickfix's ``CertificateVerifyLevel=1``).

    Attributes:
        ca_file: CertificationAuthoritiesFile: the CA bundle to verify the peer with
            (a client verifies the venue; a venue verifies and requires client certificates).
        certificate_file: our certificate (Client/ServerCertificateFile).
        key_file: its private key (Client/ServerCertificateKeyFile).
        protocol: SSLProtocol, e.g. ``"+TLSv1_2 +TLSv1_3"`` (``None``: quickfix's default).
    """

    ca_file: Path | None = None
    certificate_file: Path | None = None
    key_file: Path | None = None
    protocol: str | None = None

    def __post_init__(self) -> None:
        if (self.certificate_file is None) != (self.key_file is None):
            raise InvalidConfiguration(
                "a TLS certificate and its key go together: expected both or neither, was "
                f"certificate_file={self.certificate_file}, key_file={self.key_file}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class FixSessionConfig:
    """One FIX 4.4 session as the initiator (EMP) sees it.

    Attributes:
        host: the venue's host (SocketConnectHost).
        port: the venue's port (SocketConnectPort).
        sender_comp_id: our CompID (49 on what we send).
        target_comp_id: the venue's CompID (56 on what we send).
        store_dir: FileStorePath: sequence numbers survive restarts here.
        log_dir: where the redacted message and event logs are written.
        heartbeat_s: HeartBtInt (108) proposed at Logon.
        reconnect_interval_s: quickfix's ReconnectInterval: the finest backoff step.
        logon_timeout_s: LogonTimeout.
        data_dictionary: the FIX44.xml messages are validated against (default: the one
            installed with quickfix); a broker's customised dictionary goes here.
        reset_on_logon: send ResetSeqNumFlag (141=Y) at Logon: only for brokers that
            require daily resets; it makes gap recovery across the reset impossible.
        tls: TLS files; ``None`` for plain TCP (loopback, tests).
    """

    host: str
    port: int
    sender_comp_id: str
    target_comp_id: str
    store_dir: Path
    log_dir: Path
    heartbeat_s: int = 30
    reconnect_interval_s: int = 1
    logon_timeout_s: int = 10
    data_dictionary: Path | None = None
    reset_on_logon: bool = False
    tls: TlsFiles | None = None

    def __post_init__(self) -> None:
        check_port(self.port)
        check_comp_id("sender_comp_id", self.sender_comp_id)
        check_comp_id("target_comp_id", self.target_comp_id)
        for name in ("heartbeat_s", "reconnect_interval_s", "logon_timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidConfiguration(f"{name} must be a whole number >= 1, was {value!r}")
        if not self.host:
            raise InvalidConfiguration("host must be non-empty")

    def dictionary_path(self) -> Path:
        return resolve_dictionary(self.data_dictionary)


def check_port(port: int) -> None:
    if not isinstance(port, int) or not 0 < port < 65536:
        raise InvalidConfiguration(f"port must be in 1..65535, was {port!r}")


def check_comp_id(name: str, value: str) -> None:
    if not value or not value.isascii() or any(c in value for c in "\x01|= "):
        raise InvalidConfiguration(
            f"{name} must be non-empty ASCII without spaces, '|', '=' or SOH, was {value!r}"
        )


def resolve_dictionary(path: Path | None) -> Path:
    resolved = path if path is not None else installed_data_dictionary()
    if not os.path.isfile(resolved):
        raise InvalidConfiguration(
            f"FIX data dictionary not found at {resolved}: install the `fix` extra "
            "(quickfix-ssl) or set the dictionary path"
        )
    return resolved
