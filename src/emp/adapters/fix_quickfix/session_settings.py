"""quickfix SessionSettings built in code (no settings file with credentials on disk)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import quickfix as fix

from emp.adapters.fix_quickfix.config import BEGIN_STRING, TlsFiles


def _dictionary(values: Mapping[str, str]) -> fix.Dictionary:
    dictionary = fix.Dictionary()
    for key, value in values.items():
        dictionary.setString(key, value)
    return dictionary


def common_settings(store_dir: Path, data_dictionary: Path) -> dict[str, str]:
    """What both sides use: a FileStore, always-on sessions, dictionary validation."""
    return {
        "FileStorePath": str(store_dir),
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "UseDataDictionary": "Y",
        "DataDictionary": str(data_dictionary),
        "ValidateUserDefinedFields": "Y",
        "SocketNodelay": "Y",
        "TimestampPrecision": "3",
    }


#: quickfix-ssl's CertificateVerifyLevel on an acceptor: 0 asks for no client certificate,
#: 1 requires one that verifies (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT), 2 asks
#: for one and verifies it when given.
REQUIRE_CLIENT_CERTIFICATE = "1"


def tls_settings(tls: TlsFiles | None, *, server: bool) -> dict[str, str]:
    """quickfix-ssl settings for ``tls`` (``{}`` for plain TCP).

    A venue (``server=True``) given a CA file requires every client to present a
    certificate signed by it (mutual TLS); without one it asks for none.
    """
    if tls is None:
        return {}
    values: dict[str, str] = {}
    if tls.ca_file is not None:
        values["CertificationAuthoritiesFile"] = str(tls.ca_file)
        if server:
            values["CertificateVerifyLevel"] = REQUIRE_CLIENT_CERTIFICATE
    prefix = "Server" if server else "Client"
    if tls.certificate_file is not None:
        values[f"{prefix}CertificateFile"] = str(tls.certificate_file)
    if tls.key_file is not None:
        values[f"{prefix}CertificateKeyFile"] = str(tls.key_file)
    if tls.protocol:
        values["SSLProtocol"] = tls.protocol
    return values


def build_settings(
    defaults: Mapping[str, str], sessions: Iterable[tuple[str, str]]
) -> tuple[fix.SessionSettings, list[fix.SessionID]]:
    """SessionSettings with ``defaults`` and one session per (sender, target) CompID pair.

    Keep the returned objects referenced for the engine's whole life: quickfix keeps raw
    pointers into them.
    """
    settings = fix.SessionSettings()
    settings.set(_dictionary(defaults))
    ids: list[fix.SessionID] = []
    for sender, target in sessions:
        session_id = fix.SessionID(BEGIN_STRING, sender, target)
        settings.set(session_id, fix.Dictionary())
        ids.append(session_id)
    return settings, ids
