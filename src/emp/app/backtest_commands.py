"""`emp backtest`: one strategy over one bar file (or seeded synthetic bars), with a report.

The contract other tools rely on::

    emp backtest --data FILE.(csv|parquet) --strategy NAME [--param key=value ...]
        [--commission-bps X | --commission-fraction X] [--cash X]
        [--fill next_open|close|book] [--json] [--walk-forward train=N,test=M[,step=K]...]
    emp backtest --book RECORDING.fix --strategy NAME [...]   (book data, book venue)

With ``--json`` the last line of stdout is one JSON object with exactly ``trades`` (entry and
exit times, side, prices, size and PnL of every closed round trip), ``n_trades``,
``final_equity``, ``return_pct``, ``max_drawdown_pct`` and ``sharpe``; the run id and report
folder go to stderr. ``--walk-forward`` adds the per-fold evaluation
(:mod:`emp.app.backtest_walk_forward`) to the report and a ``walk_forward`` key to the JSON
object; the six contract keys still describe the whole run. Registered by the CLI with
``app.command()(backtest)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from emp.app.backtest import DEFAULT_CHUNK_BARS, BacktestRequest, run_backtest
from emp.app.backtest_walk_forward import WALK_FORWARD_HELP, parse_walk_forward
from emp.app.containers import build_container, close_stores
from emp.app.demo import DEFAULT_BARS
from emp.app.errors import ConfigError
from emp.app.params import parse_params
from emp.app.plugins import make_plugin_manager
from emp.app.settings import load_settings
from emp.domain.accounts import AccountTerms
from emp.domain.errors import InvalidConfiguration

_FILLS = ("next_open", "close", "book")
_PERCENT = {"total_return", "cagr", "volatility", "max_drawdown", "exposure", "win_rate"}
_SHOWN = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_bars",
    "trades",
    "win_rate",
    "profit_factor",
    "exposure",
    "turnover",
    "final_equity",
    "fees",
    "risk_rejections",
    "account_rejections",
    "carry_paid",
    "margin_breaches",
    "liquidations",
)


def commission_bps_of(bps: float | None, fraction: float | None) -> float | None:
    """``--commission-bps`` or ``--commission-fraction`` (× 10,000), never both."""
    if bps is not None and fraction is not None:
        raise ConfigError("give --commission-bps or --commission-fraction, not both")
    if fraction is not None:
        return fraction * 10_000.0
    return bps


def account_terms(
    kind: str,
    initial_margin: float,
    maintenance_margin: float,
    borrow_bps: float,
    base_currency: str = "USD",
    liquidation: str = "reduce",
    liquidation_cushion: float = 0.0,
) -> AccountTerms | None:
    """The account options as terms; ``None`` for the default (unchecked, no borrow, USD)."""
    if kind == "unchecked" and borrow_bps == 0 and base_currency == "USD":
        return None
    try:
        return AccountTerms(
            kind=kind,
            initial_margin=initial_margin,
            maintenance_margin=maintenance_margin,
            borrow_bps=borrow_bps,
            base_currency=base_currency.strip().upper(),
            liquidation=liquidation.strip().lower(),
            liquidation_cushion=liquidation_cushion,
        )
    except InvalidConfiguration as error:
        raise ConfigError(str(error)) from None


def pairs(option: str, values: list[str] | None, *, currency_keys: bool) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict; currency codes (keys or values) upper-cased."""
    out: dict[str, str] = {}
    for raw in values or []:
        key, sep, value = (part.strip() for part in raw.partition("="))
        if not sep or not key or not value:
            raise ConfigError(f"{option} expects KEY=VALUE, was {raw!r}")
        if currency_keys:
            out[key.upper()] = value
        else:
            out[key] = value.upper()
    return out


def _stderr() -> Console:
    return Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _fmt(name: str, value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2%}" if name in _PERCENT else f"{value:,.2f}"
    return str(value)


def backtest(
    strategy: Annotated[
        str, typer.Option(help="Strategy name (emp plugins list), e.g. sma_cross.")
    ],
    data: Annotated[
        Path | None,
        typer.Option(help="CSV or parquet bars: Date/Open/High/Low/Close/Volume, any case."),
    ] = None,
    book: Annotated[
        Path | None,
        typer.Option(
            help="A recorded FIX market-data file (35=W/X, as emp md serve records): run the "
            "strategy's on_book on its book updates with the book venue (orders walk the "
            "recorded depth after --latency-us); --book-levels levels per side. No bars."
        ),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Strategy parameter key=value; repeat.")
    ] = None,
    commission_bps: Annotated[
        float | None,
        typer.Option(min=0, help="Commission in bps of notional [EMP_COMMISSION_BPS, 1]."),
    ] = None,
    commission_fraction: Annotated[
        float | None,
        typer.Option(min=0, help="Commission as a fraction of notional (0.001 = 10 bps)."),
    ] = None,
    cash: Annotated[float | None, typer.Option(help="Initial cash [EMP_INITIAL_CASH].")] = None,
    fill: Annotated[
        str,
        typer.Option(
            help="next_open (default: next bar's open), close (optimistic, flagged) or book "
            "(the venue simulator's matching engine: orders walk a book rebuilt from each "
            "bar after the latency; flagged)."
        ),
    ] = "next_open",
    latency_us: Annotated[
        float, typer.Option(min=0, help="--fill book: one-way latency each way, microseconds.")
    ] = 0.0,
    latency_sigma: Annotated[
        float,
        typer.Option(
            min=0, help="--fill book: log-normal latency jitter (0: fixed), seeded by --seed."
        ),
    ] = 0.0,
    book_levels: Annotated[
        int, typer.Option(min=1, help="--fill book: displayed levels per side.")
    ] = 5,
    book_size: Annotated[
        float | None,
        typer.Option(min=0, help="--fill book: size per level [a tenth of each bar's volume]."),
    ] = None,
    book_spread_ticks: Annotated[
        int, typer.Option(min=1, help="--fill book: best ask minus best bid, in ticks.")
    ] = 1,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object (last line).")
    ] = False,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols (of the file, or to generate).")
    ] = None,
    bars: Annotated[int, typer.Option(min=2, help="Generated bars (no --data).")] = DEFAULT_BARS,
    seed: Annotated[int | None, typer.Option(help="Generator seed [EMP_SEED, 42].")] = None,
    slippage_bps: Annotated[
        float | None, typer.Option(min=0, help="Slippage against the trader [EMP_SLIPPAGE_BPS].")
    ] = None,
    spread_bps: Annotated[
        float, typer.Option(min=0, help="Quoted spread in bps; market orders cross half.")
    ] = 0.0,
    commission_per_share: Annotated[float, typer.Option(min=0, help="Per unit filled.")] = 0.0,
    commission_fixed: Annotated[float, typer.Option(min=0, help="Flat fee per fill.")] = 0.0,
    min_commission: Annotated[float, typer.Option(min=0, help="Least fee per fill.")] = 0.0,
    reports_dir: Annotated[
        Path | None, typer.Option(help="Report folder [EMP_REPORTS_DIR, docs/reports].")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="DuckDB file [EMP_DB_PATH, .emp/emp.duckdb].")
    ] = None,
    chunk_bars: Annotated[
        int, typer.Option(min=1, help="Bars per symbol streamed from the store at a time.")
    ] = DEFAULT_CHUNK_BARS,
    account: Annotated[
        str,
        typer.Option(
            help="unchecked (default: orders are not checked against buying power), cash "
            "(no short sales, buys within cash) or margin (--initial-margin of gross "
            "exposure must be covered by equity; maintenance breaches are recorded)."
        ),
    ] = "unchecked",
    initial_margin: Annotated[
        float, typer.Option(min=0, max=1, help="Margin accounts: 0.5 = 2x leverage.")
    ] = 0.5,
    maintenance_margin: Annotated[
        float, typer.Option(min=0, max=1, help="Margin accounts: breach threshold.")
    ] = 0.25,
    liquidation: Annotated[
        str,
        typer.Option(
            help="Margin accounts, at a maintenance breach: reduce (default: sell the "
            "largest requirements first until maintenance is met), all (close every "
            "position) or none (only record the breach)."
        ),
    ] = "reduce",
    liquidation_cushion: Annotated[
        float,
        typer.Option(
            min=0,
            help="Margin accounts, --liquidation reduce: liquidate until equity covers "
            "maintenance x (1 + this) of gross, e.g. 0.1 for a 10% buffer (default 0).",
        ),
    ] = 0.0,
    borrow_bps: Annotated[
        float, typer.Option(min=0, help="Annual cost of short positions, bps of notional.")
    ] = 0.0,
    base_currency: Annotated[
        str, typer.Option(help="The account's currency: equity and PnL totals are in it.")
    ] = "USD",
    currency: Annotated[
        list[str] | None,
        typer.Option(
            "--currency",
            metavar="SYMBOL=CCY",
            help="The currency a symbol's prices are in (default: the base); repeat.",
        ),
    ] = None,
    fx: Annotated[
        list[str] | None,
        typer.Option(
            "--fx",
            metavar="CCY=FILE",
            help="Rates of CCY in the base currency: a bar file (CSV/parquet) whose closes "
            "are base units per unit of CCY, each in force from its bar's time; repeat.",
        ),
    ] = None,
    walk_forward: Annotated[
        str | None,
        typer.Option(
            "--walk-forward",
            metavar="SPEC",
            help=WALK_FORWARD_HELP,
        ),
    ] = None,
) -> None:
    """Backtest a strategy through risk and the simulated venue; write a report.

    Walk-forward: --walk-forward train=500,test=100 cuts the run's timeline into folds
    (train on 500 bars, test on the next 100, move on by 100) and runs every window from
    the initial cash. Add step=K to move by K bars, gap=G to leave G bars between train
    and test, and anchored to grow every train window from the first bar.
    """
    if fill not in _FILLS:
        raise ConfigError(f"--fill must be one of {', '.join(_FILLS)}, was {fill!r}")
    if book is not None:
        if data is not None or walk_forward is not None or fill == "close":
            raise ConfigError(
                "--book runs on the recording's book with the book venue: give no --data, "
                "--walk-forward or --fill close"
            )
        fill = "book"
    if fill == "book" and slippage_bps:
        raise ConfigError(
            "--slippage-bps applies to the bar fill models; with --fill book the price "
            "impact comes from walking the book (see --book-size and --book-spread-ticks)"
        )
    settings = load_settings(
        seed=seed,
        initial_cash=cash,
        commission_bps=commission_bps_of(commission_bps, commission_fraction),
        slippage_bps=slippage_bps,
        reports_dir=reports_dir,
        db_path=db,
    )
    request = BacktestRequest(
        strategy=strategy,
        params=parse_params(param or []),
        data_file=data,
        symbols=[s.strip() for s in symbols.split(",") if s.strip()] if symbols else None,
        n_bars=bars,
        fill_model=fill,
        commission_per_share=commission_per_share,
        commission_fixed=commission_fixed,
        min_commission=min_commission,
        spread_bps=spread_bps,
        chunk_bars=chunk_bars,
        walk_forward=parse_walk_forward(walk_forward) if walk_forward is not None else None,
        account=account_terms(
            account,
            initial_margin,
            maintenance_margin,
            borrow_bps,
            base_currency,
            liquidation,
            liquidation_cushion,
        ),
        currencies=pairs("--currency", currency, currency_keys=False),
        fx_files={c: Path(f) for c, f in pairs("--fx", fx, currency_keys=True).items()},
        latency_us=latency_us,
        latency_sigma=latency_sigma,
        book_levels=book_levels,
        book_size=book_size,
        book_spread_ticks=book_spread_ticks,
        book_file=book,
    )
    container = build_container(settings)
    catalog = make_plugin_manager(load_entrypoints=not settings.disable_plugin_autoload)
    try:
        outcome = run_backtest(settings, container, catalog, request)
    finally:
        close_stores(container, settings)
    console = _stderr()
    for warning in outcome.warnings:
        console.print(f"warning: {warning}")
    report = outcome.artifacts.get("report.md")
    folder = report.parent if report is not None else None
    if json_output:
        console.print(f"run {outcome.run_id}: report {folder}")
        print(json.dumps(outcome.json_line(), sort_keys=True))
        return
    table = Table(title=f"backtest {outcome.run_id} ({fill} fills)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in _SHOWN:
        if key in outcome.summary:
            table.add_row(key, _fmt(key, outcome.summary[key]))
    out = Console(width=None if sys.stdout.isatty() else 160)
    out.print(table)
    if folder is not None:
        out.print(f"report: {folder}")
