"""`emp paper`: a strategy trading over real FIX 4.4 sessions (quickfix), paper by default.

Paper mode (the default) serves the venue simulator in process on a free loopback port,
logs on to it with throwaway credentials, and runs the strategy bar by bar: every order
is a NewOrderSingle through quickfix, matched against liquidity replayed from the same
bars, and every fill comes back as an ExecutionReport. ``--connect HOST:PORT`` trades
against a venue served elsewhere (``emp venue serve``, or a broker's demo gateway) with
the EMP_FIX_* credentials.

``--live-mode`` refuses to start unless all of these hold: EMP_FIX_USERNAME and
EMP_FIX_PASSWORD are set, ``--i-understand-live`` is given, and ``--connect`` names a
host that is not this machine.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from emp.app.errors import ConfigError
from emp.app.params import parse_params
from emp.app.venue_commands import FixSettings, load_fix_settings, quickfix_adapter

paper_app = typer.Typer(
    help="Run a strategy over real FIX sessions: paper by default, --live-mode guarded.",
    invoke_without_command=True,
)


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int


def parse_target(text: str) -> Target:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--connect expects HOST:PORT, was {text!r}")
    return Target(host, int(port))


def live_mode_refusals(
    *, confirmed: bool, target: Target | None, settings: FixSettings
) -> list[str]:
    """Every reason live mode may not start (empty: it may)."""
    reasons = []
    if not settings.has_credentials:
        reasons.append("credentials are missing (set EMP_FIX_USERNAME and EMP_FIX_PASSWORD)")
    if not confirmed:
        reasons.append("the confirmation --i-understand-live was not given")
    if target is None:
        reasons.append("no target: --connect HOST:PORT must name the broker's gateway")
    elif is_loopback(target.host):
        reasons.append(f"the target {target.host} is this machine, not a broker")
    return reasons


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (live mode wants a broker, not a local venue)."""
    return host.lower() in ("localhost", "::1", "0.0.0.0", "") or host.startswith("127.")


@paper_app.callback(invoke_without_command=True)
def paper(
    strategy: Annotated[str, typer.Option(help="Strategy name (emp plugins list).")] = (
        "buy_and_hold"
    ),
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Strategy parameter key=value; repeat.")
    ] = None,
    symbols: Annotated[str, typer.Option(help="Comma-separated symbols.")] = "SYN_A,SYN_B",
    bars: Annotated[int, typer.Option(min=2, help="Generated bars per symbol.")] = 120,
    seed: Annotated[int | None, typer.Option(help="Generator seed [EMP_SEED, 42].")] = None,
    cash: Annotated[float | None, typer.Option(help="Initial cash [EMP_INITIAL_CASH].")] = None,
    connect: Annotated[
        str | None, typer.Option(help="HOST:PORT of a served venue or broker gateway.")
    ] = None,
    live_mode: Annotated[
        bool, typer.Option("--live-mode", help="Trade live (guarded; see the help).")
    ] = False,
    i_understand_live: Annotated[
        bool, typer.Option("--i-understand-live", help="Confirm that live mode is intended.")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Stores, logs, journal [EMP_FIX_DATA_DIR/paper].")
    ] = None,
    bar_interval_ms: Annotated[
        float,
        typer.Option(
            min=0,
            help="Wall-clock time between bars (a paced session `emp kill` can stop "
            "mid-run); 0 = as fast as possible.",
        ),
    ] = 0.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
) -> None:
    """Run a strategy over FIX 4.4 through quickfix (paper mode unless --live-mode).

    The session polls the kill file (`emp kill`) at every bar: on a request it cancels every
    working order, flattens every position over FIX and refuses new risk.
    """
    fix_settings = load_fix_settings()
    target = parse_target(connect) if connect else None
    if live_mode:
        reasons = live_mode_refusals(
            confirmed=i_understand_live, target=target, settings=fix_settings
        )
        if reasons:
            raise ConfigError("live mode refused: " + "; ".join(reasons))
    elif i_understand_live:
        raise ConfigError("--i-understand-live only makes sense with --live-mode")
    summary = run_paper(
        strategy=strategy,
        params=param or [],
        symbols=[s.strip() for s in symbols.split(",") if s.strip()],
        n_bars=bars,
        seed=seed,
        cash=cash,
        target=target,
        fix_settings=fix_settings,
        root=data_dir or fix_settings.data_dir / ("live" if live_mode else "paper"),
        mode="live" if live_mode else "paper",
        bar_interval_ms=bar_interval_ms,
    )
    if json_output:
        print(json.dumps(summary, sort_keys=True))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")


def run_paper(
    *,
    strategy: str,
    params: list[str],
    symbols: list[str],
    n_bars: int,
    seed: int | None,
    cash: float | None,
    target: Target | None,
    fix_settings: FixSettings,
    root: Path,
    mode: str,
    bar_interval_ms: float = 0.0,
) -> dict[str, Any]:
    """Build the run (bars, strategy, risk, FIX sessions) and drive it; returns a summary."""
    from emp.adapters.clocks import ManualClock, SystemClock
    from emp.adapters.kill_file import KillFile
    from emp.adapters.synthetic import RegimeSwitchingBarSource
    from emp.app.containers import build_container
    from emp.app.demo import market_feed_from, risk_config_from
    from emp.app.engine import BarEventEngine
    from emp.app.hot_state import hot_state_summary, publishing_positions, session_hot_state
    from emp.app.kill_signals import run_kill_signal
    from emp.app.plugins import make_plugin_manager
    from emp.app.settings import load_settings
    from emp.domain.instruments import Instrument, InstrumentRegistry
    from emp.domain.matching import MatchingConfig
    from emp.domain.risk import build_risk_manager

    fq = quickfix_adapter()
    settings = load_settings(seed=seed, initial_cash=cash)
    catalog = make_plugin_manager(load_entrypoints=not settings.disable_plugin_autoload)
    catalog.raise_on_failures()
    spec = catalog.strategy(strategy)
    built = spec.build(parse_params(params))
    risk_config = risk_config_from(settings)
    loaded = RegimeSwitchingBarSource(
        symbols, n_bars=n_bars, seed=settings.seed, tick_size=settings.tick_size
    ).load(symbols)
    instruments = InstrumentRegistry(
        Instrument(symbol=s, tick_size=settings.tick_size, lot_size=settings.lot_size)
        for s in loaded
    )
    wall = SystemClock()
    server = None
    if target is None:
        password = secrets.token_urlsafe(18)  # throwaway: never printed, never stored
        username = "paper"
        server = fq.FixVenueServer(
            fq.VenueServerConfig(
                port=fq.free_loopback_port(),
                store_dir=root / "venue" / "store",
                log_dir=root / "venue" / "log",
                client_comp_ids=(fix_settings.sender_comp_id,),
                venue_comp_id=fix_settings.target_comp_id,
                credentials={username: fq.Secret(password)},
            ),
            instruments=instruments,
            clock=wall,
            matching=MatchingConfig(commission_bps=settings.commission_bps),
        )
        target = Target("127.0.0.1", server.config.port)
    else:
        if not fix_settings.has_credentials:
            raise ConfigError("--connect needs EMP_FIX_USERNAME and EMP_FIX_PASSWORD")
        assert fix_settings.username is not None and fix_settings.password is not None
        username, password = fix_settings.username, fix_settings.password.get_secret_value()
    client = fq.QuickfixVenue(
        fq.FixSessionConfig(
            host=target.host,
            port=target.port,
            sender_comp_id=fix_settings.sender_comp_id,
            target_comp_id=fix_settings.target_comp_id,
            store_dir=root / "client" / "store",
            log_dir=root / "client" / "log",
            heartbeat_s=fix_settings.heartbeat_s,
            data_dictionary=fix_settings.data_dictionary,
            tls=_tls(fq, fix_settings),
        ),
        clock=wall,
        credentials=fq.FixCredentials(username=username, password=fq.Secret(password)),
        journal=fq.DuckDBAuditJournal(root / "client" / "audit.duckdb"),
        mass_cancel=fix_settings.mass_cancel,  # the venue's 35=j turns it off by itself
    )
    try:
        if server is not None:
            server.start()
        client.start()
        client.wait_logged_on(15)
        if server is not None:
            venue = fq.PaperFixVenue(server, client, instruments)
        else:
            venue = fq.RemoteFixVenue(client)
        container = build_container(settings)
        with (
            run_kill_signal(settings, KillFile(settings.kill_file_path)) as kill_signal,
            session_hot_state(
                settings,
                container,
                account=f"paper-{fix_settings.sender_comp_id}",
                component=f"emp-paper.{spec.name}",
            ) as hot,
        ):
            engine = BarEventEngine(
                bars=loaded,
                instruments=instruments,
                strategy=built,
                risk=build_risk_manager(risk_config),
                venue=venue,
                clock=ManualClock(),
                initial_cash=settings.initial_cash,
                kill_signal=kill_signal,
                market=market_feed_from(settings, risk_config, sorted(loaded)),
                fast_forward=False,  # a session sees each bar as it comes, paced
                # ClOrdIDs unique across sessions against one venue: the strategy and the
                # session's start (its wall-clock millisecond, base 36)
                order_id_prefix=f"{spec.name}-{_base36(wall.now_ns() // 10**6)}",
            )
            progress = publishing_positions(
                _pacer(bar_interval_ms), hot, lambda: engine.portfolio.open_quantities()
            )
            result = engine.run(progress)
    finally:
        try:
            client.stop()
        finally:
            if server is not None:
                server.stop()
    return {
        "mode": mode,
        "strategy": spec.name,
        "venue": f"{target.host}:{target.port}",
        "orders": len(result.orders),
        "fills": len(result.fills),
        "final_equity": round(float(result.portfolio.equity), 2),
        "fees": round(float(result.portfolio.fees_paid), 2),
        "open_positions": len(result.portfolio.positions),
        "kill_switch_orders_filled": sum(
            1 for o in result.orders if o.strategy == "risk" and o.status.value == "FILLED"
        ),
        "risk_final_state": result.risk_state.get("trading_state"),
        "risk_timeline": result.risk_state.get("timeline", []),
        "fix_messages_received": client.messages_received,
        "duplicates_ignored": client.tracker.counters.duplicates,
        "journal": str(root / "client" / "audit.duckdb"),
        "hot_state": hot_state_summary(hot),
    }


def _pacer(interval_ms: float) -> Callable[[int, int], None] | None:
    """A progress callback that waits ``interval_ms`` of wall time between bars."""
    if interval_ms <= 0:
        return None
    interval_s = interval_ms / 1000.0
    started = time.monotonic()

    def wait(done: int, total: int) -> None:
        delay = started + done * interval_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    return wait


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _tls(fq: Any, settings: FixSettings) -> Any:
    if settings.tls_ca_file is None and settings.tls_certificate_file is None:
        return None
    return fq.TlsFiles(
        ca_file=settings.tls_ca_file,
        certificate_file=settings.tls_certificate_file,
        key_file=settings.tls_key_file,
    )
