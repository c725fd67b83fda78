"""`emp venue serve`: the venue simulator as a FIX 4.4 acceptor (quickfix) on a port.

Also home of :class:`FixSettings`, the ``EMP_FIX_*`` environment a fork fills to point EMP
at a broker: host, port, CompIDs, credentials (never in code, never logged), folders,
TLS files. quickfix is imported inside the commands only, so `emp --help` works without
the `fix` extra.
"""

from __future__ import annotations

import difflib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from emp.app.errors import ConfigError

FIX_ENV_PREFIX = "EMP_FIX_"

venue_app = typer.Typer(
    help="Serve the venue simulator over FIX 4.4 (quickfix acceptor). See docs/fix.md.",
    no_args_is_help=True,
)


@venue_app.callback()
def _venue() -> None:
    """Serve the venue simulator over FIX 4.4 (quickfix acceptor). See docs/fix.md."""


class FixSettings(BaseSettings):
    """FIX session settings from ``EMP_FIX_*`` variables (docs/fix.md lists them)."""

    model_config = SettingsConfigDict(env_prefix=FIX_ENV_PREFIX, extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="The venue's host (initiator side).")
    port: int = Field(9878, ge=1, le=65535, description="The venue's FIX port.")
    sender_comp_id: str = Field("EMP", description="EMP's CompID (49).")
    target_comp_id: str = Field("EMPSIM", description="The venue's CompID (56).")
    username: str | None = Field(None, description="Logon Username (553).")
    password: SecretStr | None = Field(None, description="Logon Password (554); never logged.")
    data_dir: Path = Field(Path(".emp/fix"), description="FileStore, logs and audit journal.")
    heartbeat_s: int = Field(30, ge=1, description="HeartBtInt (108) proposed at Logon.")
    data_dictionary: Path | None = Field(None, description="FIX44.xml (default: quickfix's).")
    tls_ca_file: Path | None = Field(None, description="CA bundle: turns TLS on.")
    tls_certificate_file: Path | None = Field(None, description="Client certificate (mTLS).")
    tls_key_file: Path | None = Field(None, description="Client key (mTLS).")
    mass_cancel: bool = Field(
        True, description="Flatten cancels with one 35=q (35=F per order if refused)."
    )

    @property
    def has_credentials(self) -> bool:
        return (
            bool(self.username)
            and self.password is not None
            and bool(self.password.get_secret_value())
        )


def load_fix_settings(**overrides: Any) -> FixSettings:
    """``EMP_FIX_*`` plus explicit overrides (``None`` ignored); a typo is an error."""
    known = {f"{FIX_ENV_PREFIX}{name.upper()}" for name in FixSettings.model_fields}
    for key in sorted(os.environ):
        if key.startswith(FIX_ENV_PREFIX) and key not in known:
            guess = difflib.get_close_matches(key, sorted(known), n=1)
            raise ConfigError(
                f"unknown setting {key}" + (f"; did you mean {guess[0]}?" if guess else "")
            )
    try:
        return FixSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        parts = [
            f"{FIX_ENV_PREFIX}{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        ]
        raise ConfigError("invalid FIX configuration: " + "; ".join(parts)) from None


def quickfix_adapter() -> Any:
    try:
        import emp.adapters.fix_quickfix as fix_quickfix
    except ImportError as error:
        raise ConfigError(
            f"FIX sessions need the `fix` extra (quickfix-ssl): {error}; "
            "pip install 'emp-framework[fix]'"
        ) from None
    return fix_quickfix


def venue_credentials(fq: Any, settings: FixSettings, insecure_no_auth: bool) -> Any:
    """The Logon credentials a served venue accepts (username -> Secret), or ``None`` with
    --insecure-no-auth; a ConfigError where the settings hold none and auth is on."""
    if not insecure_no_auth and not settings.has_credentials:
        raise ConfigError(
            "set EMP_FIX_USERNAME and EMP_FIX_PASSWORD (the credentials clients must log on "
            "with), or pass --insecure-no-auth for a throwaway local venue"
        )
    if insecure_no_auth:
        return None
    assert settings.username is not None and settings.password is not None
    return {settings.username: fq.Secret(settings.password.get_secret_value())}


def venue_server_config(
    fq: Any,
    settings: FixSettings,
    root: Path,
    *,
    port: int,
    venue_comp_id: str,
    client_comp_ids: tuple[str, ...],
    credentials: Any,
    interval_ms: int,
    **options: Any,
) -> Any:
    """A served venue's VenueServerConfig: store and logs under ``root``, the settings' data
    dictionary, and any further VenueServerConfig ``options`` (loopback_only, tls)."""
    return fq.VenueServerConfig(
        port=port,
        store_dir=root / "store",
        log_dir=root / "log",
        venue_comp_id=venue_comp_id,
        client_comp_ids=client_comp_ids,
        credentials=credentials,
        data_dictionary=settings.data_dictionary,
        liquidity_interval_ms=interval_ms,
        **options,
    )


def _symbols(text: str) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise ConfigError(f"--symbols needs at least one symbol, was {text!r}")
    return symbols


@venue_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to accept FIX on.")],
    symbols: Annotated[str, typer.Option(help="Listed symbols, comma-separated.")] = (
        "SYN_A,SYN_B,SYN_C"
    ),
    price: Annotated[float, typer.Option(min=0.01, help="Starting price of each symbol.")] = 100.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the generated liquidity.")] = 42,
    tick_size: Annotated[float, typer.Option(help="Tick size of every symbol.")] = 0.01,
    lot_size: Annotated[float, typer.Option(help="Lot size of every symbol.")] = 1.0,
    clients: Annotated[str, typer.Option(help="Client CompIDs allowed, comma-separated.")] = "EMP",
    venue_comp_id: Annotated[str, typer.Option(help="The venue's CompID.")] = "EMPSIM",
    interval_ms: Annotated[int, typer.Option(min=1, help="Liquidity refresh period.")] = 100,
    data_dir: Annotated[
        Path | None, typer.Option(help="Store, logs, journal [EMP_FIX_DATA_DIR/venue].")
    ] = None,
    duration_s: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    insecure_no_auth: Annotated[
        bool, typer.Option("--insecure-no-auth", help="Accept any Logon (tests, demos only).")
    ] = False,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Accept sessions from non-loopback addresses (refused by default).",
        ),
    ] = False,
    tls_certificate: Annotated[
        Path | None, typer.Option(help="Serve TLS with this PEM certificate (quickfix-ssl).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The certificate's PEM private key.")] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(
            help="Mutual TLS: require every client to present a certificate signed by this "
            "PEM CA (needs --tls-certificate)."
        ),
    ] = None,
) -> None:
    """Serve the simulator: price-time matching against seeded generated liquidity.

    Logon credentials are EMP_FIX_USERNAME / EMP_FIX_PASSWORD (required unless
    --insecure-no-auth). Sequence numbers persist in a FileStore under the data folder.
    With --tls-certificate, TLS (and with --tls-client-ca, mutual TLS) is terminated in
    front of quickfix's acceptor, which then listens on a private loopback port.
    """
    import numpy as np

    from emp.adapters.clocks import SystemClock
    from emp.domain.instruments import Instrument, InstrumentRegistry
    from emp.domain.matching import SyntheticLiquidity

    fq = quickfix_adapter()
    settings = load_fix_settings()
    credentials = venue_credentials(fq, settings, insecure_no_auth)
    names = _symbols(symbols)
    instruments = InstrumentRegistry(
        Instrument(symbol=s, tick_size=tick_size, lot_size=lot_size) for s in names
    )
    rng = np.random.default_rng(seed)
    liquidity = {
        s: SyntheticLiquidity(instruments[s], rng, start_price=price, mean_size=100 * lot_size)
        for s in names
    }
    root = data_dir or settings.data_dir / "venue"
    tls = venue_tls(fq, certificate=tls_certificate, key=tls_key, client_ca=tls_client_ca)
    config = venue_server_config(
        fq,
        settings,
        root,
        port=port,
        venue_comp_id=venue_comp_id,
        client_comp_ids=tuple(_symbols(clients)),
        credentials=credentials,
        interval_ms=interval_ms,
        loopback_only=not allow_remote,
        tls=tls,
        tls_listen_host="0.0.0.0" if allow_remote else "127.0.0.1",
    )

    def tls_event(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    server = fq.FixVenueServer(
        config,
        instruments=instruments,
        clock=SystemClock(),
        liquidity=liquidity,
        journal=fq.DuckDBAuditJournal(root / "audit.duckdb"),
        on_tls_event=tls_event,
    )
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        server.start()
        print(
            f"serving FIX 4.4 venue {venue_comp_id} on port {port}{_tls_words(tls)} "
            f"for {', '.join(config.client_comp_ids)}; symbols {', '.join(names)}; "
            f"logs in {config.log_dir}",
            flush=True,
        )
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(0.2)
    finally:
        server.stop()  # logs the sessions out through the TLS front, then stops it
    print("venue stopped", file=sys.stderr)


def venue_tls(
    fq: Any, *, certificate: Path | None, key: Path | None, client_ca: Path | None
) -> Any:
    """The venue's TLS files (``None``: plain TCP), checked; the server terminates TLS in
    a front of its acceptor (quickfix-ssl's own stops answering every client after one
    failed handshake: see :mod:`emp.adapters.fix_quickfix.tls_front`)."""
    if (certificate is None) != (key is None):
        raise ConfigError("--tls-certificate and --tls-key go together: give both or neither")
    if certificate is None:
        if client_ca is not None:
            raise ConfigError("--tls-client-ca needs --tls-certificate and --tls-key")
        return None
    for option, path in (
        ("--tls-certificate", certificate),
        ("--tls-key", key),
        ("--tls-client-ca", client_ca),
    ):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option}: expected a PEM file, was {path} (not found)")
    return fq.TlsFiles(certificate_file=certificate, key_file=key, ca_file=client_ca)


def _tls_words(tls: Any) -> str:
    if tls is None:
        return ""
    if tls.ca_file is None:
        return " (TLS)"
    return " (mutual TLS: client certificates required)"
