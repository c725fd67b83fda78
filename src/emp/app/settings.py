"""EMP settings: environment variables with the ``EMP_`` prefix, validated strictly.

Every field can be set as ``EMP_<FIELD>`` (``EMP_SEED=7``, ``EMP_VENUE=sim_direct``) and most
can be overridden by a CLI option of the same name. Unknown ``EMP_*`` variables are an error
(a typo must not silently fall back to a default).
"""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from emp.app.errors import ConfigError
from emp.domain.errors import InvalidConfiguration
from emp.domain.regime import RealisedVolTrendClassifier
from emp.domain.risk import VolatilityTiers

ENV_PREFIX = "EMP_"
# Read by the CLI itself, not a setting of a run.
_NON_SETTING_VARIABLES = frozenset({"EMP_DEBUG"})
# FIX session settings (credentials among them) are validated by emp.app.venue_commands.
_FIX_PREFIX = "EMP_FIX_"


class EmpSettings(BaseSettings):
    """Run configuration. Frozen: build a new one (``model_copy(update=...)``) to change it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, strict=True, extra="forbid", frozen=True, validate_default=True
    )

    data_dir: Path = Field(Path(".emp"), description="Where EMP keeps its databases.")
    db_path: Path | None = Field(None, description="DuckDB file; default <data_dir>/emp.duckdb.")
    store: Literal["duckdb", "postgres"] = Field(
        "duckdb", description="Bar and run store: the embedded DuckDB file, or Postgres."
    )
    pg_dsn: SecretStr | None = Field(
        None,
        description="Postgres DSN (postgresql://user:pass@host:port/db) when store=postgres; "
        "the password is never printed.",
    )
    pg_schema: str = Field("emp", description="Postgres schema EMP's tables live in.")
    redis_url: SecretStr | None = Field(
        None,
        description="Redis for hot state (redis://[:password@]host:port/db): replay and paper "
        "sessions publish positions and a heartbeat there; unset = no hot state.",
    )
    state_namespace: str = Field(
        "emp", pattern=r"^[^:\s]+$", description="Prefix of every hot-state key in Redis."
    )
    state_refresh_s: float = Field(
        1.0, gt=0, description="Least wall seconds between heartbeats / position refreshes."
    )
    venue: Literal["sim_fix", "sim_direct"] = Field(
        "sim_fix",
        description=(
            "Simulated venue face: sim_fix round-trips every order and execution report "
            "through the FIX 4.4 codec; sim_direct passes domain objects (faster, same results)."
        ),
    )
    reports_dir: Path = Field(Path("docs/reports"), description="Where run reports are written.")
    seed: int = Field(42, ge=0, description="Seed of the synthetic data generator.")
    initial_cash: float = Field(1_000_000.0, gt=0, description="Starting cash (USD).")
    commission_bps: float = Field(1.0, ge=0, description="Commission, bps of notional.")
    slippage_bps: float = Field(0.0, ge=0, description="Slippage against the trader, bps.")
    max_position: float = Field(
        50_000.0, gt=0, description="Pre-trade cap on |position| per symbol (units)."
    )
    max_order_notional: float = Field(
        1_000_000.0, gt=0, description="Pre-trade cap on one order's notional (USD)."
    )
    max_gross_exposure: float | None = Field(
        None, gt=0, description="Pre-trade cap on gross exposure (USD); unset = no cap."
    )
    max_leverage: float | None = Field(
        None, gt=0, description="Pre-trade cap on gross exposure / equity; unset = no cap."
    )
    max_open_orders: int | None = Field(
        None, gt=0, description="Pre-trade cap on working orders; unset = no cap."
    )
    price_collar: float | None = Field(
        None, gt=0, description="Limit prices must lie within this fraction of the reference."
    )
    reduce_drawdown: float | None = Field(
        None, gt=0, lt=1, description="Peak-to-trough drawdown that moves trading to REDUCING."
    )
    halt_drawdown: float | None = Field(
        None, gt=0, lt=1, description="Peak-to-trough drawdown that HALTs (cancel + flatten)."
    )
    drawdown_hysteresis: float = Field(
        0.01, ge=0, lt=1, description="How far drawdown must recover before a brake re-arms."
    )
    strategy_orders_per_second: float | None = Field(
        None, gt=0, description="Order-rate throttle per strategy (token bucket)."
    )
    max_losing_adds: int | None = Field(
        None, ge=0, description="No adding to a losing position more than this many times."
    )
    risk_resize: str = Field(
        "",
        description="Comma-separated rule names whose breach resizes the order instead of "
        "rejecting it (e.g. max_position,max_order_notional).",
    )
    max_var: float | None = Field(
        None,
        gt=0,
        description="Cap on portfolio Value-at-Risk in USD (loss not exceeded with "
        "EMP_VAR_CONFIDENCE over one bar, on the last EMP_VAR_WINDOW bar returns); unset = no cap.",
    )
    var_method: Literal["historical", "parametric"] = Field(
        "historical",
        description="VaR method: historical (empirical quantile) or parametric (normal).",
    )
    var_confidence: float = Field(0.99, gt=0.5, lt=1, description="VaR confidence level.")
    var_window: int = Field(
        250, ge=2, description="Bar returns per symbol kept for VaR and betas (rolling window)."
    )
    max_beta_exposure: float | None = Field(
        None,
        gt=0,
        description="Cap on beta-weighted net exposure (USD) against EMP_BETA_BENCHMARK; "
        "unset = no cap.",
    )
    beta_benchmark: str | None = Field(
        None,
        description="Symbol of the run whose series is the benchmark for betas and the "
        "reference for volatility tiers and regimes; unset = the first symbol (sorted).",
    )
    volatility_tiers: str = Field(
        "",
        description="Volatility tier table, comma-separated min_vol:position_mult:leverage_mult "
        "rows (annualised realised volatility of the reference; the first starts at 0), e.g. "
        "0:1:1,0.15:0.5:0.5,0.30:0.25:0.25; empty = no tiers.",
    )
    vol_window: int = Field(
        20, ge=2, description="Returns of the reference series the volatility tier is measured on."
    )
    regime_classifier: bool = Field(
        False,
        description="Label the regime of the reference series (realised-vol/trend classifier: "
        "warmup, high_vol, trend_up, trend_down, range) and count decisions per regime.",
    )
    regime_scales: str = Field(
        "",
        description="Size scale per regime, comma-separated regime:scale in [0, 1] "
        "(0 disables the strategy), e.g. high_vol:0,trend_down:0.5; turns the classifier on.",
    )
    group_limits: str = Field(
        "",
        description="Gross exposure caps (USD) per group, comma-separated grouping:group=limit "
        "with grouping sector or currency and group * for every group without its own cap, "
        "e.g. sector:TECH=100000,sector:*=250000.",
    )
    symbol_sectors: str = Field(
        "",
        description="Symbol to sector, comma-separated SYMBOL=SECTOR (unnamed symbols: other).",
    )
    symbol_currencies: str = Field(
        "",
        description="Symbol to currency, comma-separated SYMBOL=CCY (unnamed symbols: USD).",
    )
    clock_ns: int | None = Field(
        None,
        ge=0,
        description="Pin the wall clock (UTC ns since the epoch) that stamps run ids and "
        "reports, so a re-run is byte-identical; unset = the system clock.",
    )
    kill_file: Path | None = Field(
        None, description="File whose presence halts running sessions; default <data_dir>/KILL."
    )
    kill_webhook_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Listen on 127.0.0.1:PORT for Prometheus Alertmanager webhooks during runs; "
        "a firing alert matching EMP_KILL_WEBHOOK_MATCHERS halts the run (unset: off).",
    )
    kill_webhook_path: str = Field("/alerts", description="URL path Alertmanager posts to.")
    kill_webhook_matchers: str = Field(
        "emp_action=kill",
        description="Labels a firing alert must all carry to halt runs: NAME=VALUE,...",
    )
    tick_size: float = Field(0.01, gt=0, description="Tick size of every demo instrument.")
    lot_size: float = Field(1.0, gt=0, description="Lot size of every demo instrument.")
    disable_plugin_autoload: bool = Field(
        False, description="Do not load the emp.plugins entry points (like pytest's switch)."
    )

    @field_validator("volatility_tiers")
    @classmethod
    def _tiers_parse(cls, value: str) -> str:
        parse_volatility_tiers(value)
        return value

    @field_validator("regime_scales")
    @classmethod
    def _scales_parse(cls, value: str) -> str:
        parse_regime_scales(value)
        return value

    @field_validator("group_limits")
    @classmethod
    def _group_limits_parse(cls, value: str) -> str:
        parse_group_limits(value)
        return value

    @field_validator("kill_webhook_matchers")
    @classmethod
    def _webhook_matchers_parse(cls, value: str) -> str:
        from emp.adapters.alert_webhook import parse_label_matchers

        parse_label_matchers(value)  # ValueError with the reason
        return value

    @field_validator("kill_webhook_path")
    @classmethod
    def _webhook_path_absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"expected a path starting with '/', was {value!r}")
        return value

    @field_validator("symbol_sectors", "symbol_currencies")
    @classmethod
    def _symbol_map_parse(cls, value: str) -> str:
        parse_symbol_map(value)
        return value

    @model_validator(mode="after")
    def _sector_caps_need_sectors(self) -> EmpSettings:
        if "sector" in parse_group_limits(self.group_limits)[0] and not self.symbol_sectors:
            raise ValueError("EMP_GROUP_LIMITS caps sectors but EMP_SYMBOL_SECTORS is empty")
        return self

    @model_validator(mode="after")
    def _postgres_needs_a_dsn(self) -> EmpSettings:
        if self.store == "postgres" and self.pg_dsn is None:
            raise ValueError("store=postgres needs EMP_PG_DSN (postgresql://user:pass@host/db)")
        return self

    @property
    def database_path(self) -> Path:
        return self.db_path if self.db_path is not None else self.data_dir / "emp.duckdb"

    @property
    def kill_file_path(self) -> Path:
        return self.kill_file if self.kill_file is not None else self.data_dir / "KILL"


# ------------------------------------------------------------- risk strings
# Each parser raises ValueError with a full-words message; pydantic prefixes the variable.

GROUPINGS = ("sector", "currency")


def _entries(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number for {what}, was {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number for {what}, was {text!r}")
    return value


def parse_volatility_tiers(text: str) -> tuple[tuple[float, float, float], ...]:
    """``"0:1:1,0.15:0.5:0.5"`` → ``((0.0, 1.0, 1.0), (0.15, 0.5, 0.5))``: rows of
    (min annualised volatility, position multiplier, leverage multiplier)."""
    rows = []
    for entry in _entries(text):
        parts = entry.split(":")
        if len(parts) != 3:
            raise ValueError(
                f"expected min_vol:position_mult:leverage_mult, was {entry!r} "
                "(e.g. 0:1:1,0.15:0.5:0.5)"
            )
        rows.append(
            (
                _number(parts[0], f"min_vol in {entry!r}"),
                _number(parts[1], f"position_mult in {entry!r}"),
                _number(parts[2], f"leverage_mult in {entry!r}"),
            )
        )
    if rows:
        try:
            VolatilityTiers.from_table(rows)
        except InvalidConfiguration as error:
            raise ValueError(str(error)) from None
    return tuple(rows)


def parse_regime_scales(text: str) -> dict[str, float]:
    """``"high_vol:0,trend_down:0.5"`` → ``{"high_vol": 0.0, "trend_down": 0.5}``."""
    labels = RealisedVolTrendClassifier.labels
    scales: dict[str, float] = {}
    for entry in _entries(text):
        regime, sep, raw = entry.partition(":")
        regime = regime.strip()
        if not sep or not regime:
            raise ValueError(f"expected regime:scale, was {entry!r} (e.g. high_vol:0)")
        if regime not in labels:
            raise ValueError(f"expected a regime among {', '.join(labels)}, was {regime!r}")
        if regime in scales:
            raise ValueError(f"regime {regime!r} is given twice")
        scale = _number(raw.strip(), f"the scale of {regime!r}")
        if not 0 <= scale <= 1:
            raise ValueError(f"expected a scale in [0, 1] for {regime!r}, was {raw.strip()!r}")
        scales[regime] = scale
    return scales


def parse_group_limits(
    text: str,
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """``"sector:TECH=1e5,sector:*=2e5"`` → (grouping → group → cap, grouping → default cap)."""
    limits: dict[str, dict[str, float]] = {}
    defaults: dict[str, float] = {}
    for entry in _entries(text):
        head, sep, raw = entry.partition("=")
        grouping, colon, group = (x.strip() for x in head.partition(":"))
        if not sep or not colon or not group:
            raise ValueError(
                f"expected grouping:group=limit, was {entry!r} (e.g. sector:TECH=100000)"
            )
        if grouping not in GROUPINGS:
            raise ValueError(f"expected a grouping among {', '.join(GROUPINGS)}, was {grouping!r}")
        limit = _number(raw.strip(), f"the cap of {head!r}")
        if limit <= 0:
            raise ValueError(f"expected a cap > 0 for {head!r}, was {raw.strip()!r}")
        if group == "*":
            if grouping in defaults:
                raise ValueError(f"{grouping}:* is given twice")
            defaults[grouping] = limit
            continue
        own = limits.setdefault(grouping, {})
        if group in own:
            raise ValueError(f"{head!r} is given twice")
        own[group] = limit
    return limits, defaults


def parse_symbol_map(text: str) -> dict[str, str]:
    """``"SYN_A=TECH,SYN_B=ENERGY"`` → ``{"SYN_A": "TECH", "SYN_B": "ENERGY"}``."""
    mapping: dict[str, str] = {}
    for entry in _entries(text):
        symbol, sep, group = (x.strip() for x in entry.partition("="))
        if not sep or not symbol or not group:
            raise ValueError(f"expected SYMBOL=GROUP, was {entry!r} (e.g. SYN_A=TECH)")
        if symbol in mapping:
            raise ValueError(f"symbol {symbol!r} is given twice")
        mapping[symbol] = group
    return mapping


def _describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"])
        if not field:  # a rule across fields: its message names the variables
            parts.append(item["msg"].removeprefix("Value error, "))
            continue
        shown = item.get("input")
        if "dsn" in field or isinstance(shown, SecretStr):
            shown = "***"
        parts.append(f"{ENV_PREFIX}{field.upper()}: {item['msg']} (was {shown!r})")
    return "; ".join(parts)


def load_settings(**overrides: Any) -> EmpSettings:
    """Build settings from the ``EMP_*`` environment plus explicit (CLI) overrides.

    Overrides win over the environment; ``None`` overrides are ignored. Raises
    :class:`ConfigError` with one clause per problem, naming the variable.
    """
    known = {f"{ENV_PREFIX}{name.upper()}" for name in EmpSettings.model_fields}
    for key in sorted(os.environ):
        if (
            key.startswith(ENV_PREFIX)
            and not key.startswith(_FIX_PREFIX)
            and key not in known
            and key not in _NON_SETTING_VARIABLES
        ):
            guess = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {guess[0]}?" if guess else ""
            raise ConfigError(f"unknown setting {key}{hint}")
    try:
        return EmpSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        raise ConfigError(f"invalid configuration: {_describe_validation_error(error)}") from None
