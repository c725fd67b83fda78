"""EMP settings: environment variables with the ``EMP_`` prefix, validated strictly.

Every field can be set as ``EMP_<FIELD>`` (``EMP_SEED=7``, ``EMP_VENUE=sim_direct``) and most
can be overridden by a CLI option of the same name. Unknown ``EMP_*`` variables are an error
(a typo must not silently fall back to a default).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from emp.app.errors import ConfigError

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
    clock_ns: int | None = Field(
        None,
        ge=0,
        description="Pin the wall clock (UTC ns since the epoch) that stamps run ids and "
        "reports, so a re-run is byte-identical; unset = the system clock.",
    )
    kill_file: Path | None = Field(
        None, description="File whose presence halts running sessions; default <data_dir>/KILL."
    )
    tick_size: float = Field(0.01, gt=0, description="Tick size of every demo instrument.")
    lot_size: float = Field(1.0, gt=0, description="Lot size of every demo instrument.")
    disable_plugin_autoload: bool = Field(
        False, description="Do not load the emp.plugins entry points (like pytest's switch)."
    )

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
