"""RedisStateStore: the state-store port on Redis, latest-wins writes with time to live.

Keys (``{ns}`` is the namespace, ``emp`` by default):

- ``{ns}:bbo:{symbol}``, ``{ns}:signal:{symbol}:{name}``, ``{ns}:positions:{account}``,
  ``{ns}:heartbeat:{component}``: hashes ``{"ts": <20-digit ts_ns>, "v": <JSON>}``.
- ``{ns}:signals:{symbol}``: the set of signal names of a symbol (its TTL is refreshed
  with every signal; names whose value expired are dropped when read).

Each write is one Lua script run atomically by the server: it compares the stored
timestamp with the new one (as zero-padded text, so nanoseconds compare exactly) and
writes the value and its TTL only when the new one is not older.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis

from emp.ports.state_store import BestBidOffer, Heartbeat, PositionsSnapshot, SignalValue
from emp.ports.store_errors import StoreError, StoreIntegrityError, StoreUnavailable

T = TypeVar("T")

_LATEST_WINS = """
local stored = redis.call('HGET', KEYS[1], 'ts')
if stored and stored > ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'ts', ARGV[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if KEYS[2] then
  redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class StateTtls:
    """How long each kind of state lives without being refreshed, in seconds."""

    bbo_s: float = 5.0
    signal_s: float = 60.0
    positions_s: float = 300.0
    heartbeat_s: float = 15.0

    def __post_init__(self) -> None:
        for name in ("bbo_s", "signal_s", "positions_s", "heartbeat_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.001):
                raise StoreError(f"{name} expected a time to live >= 0.001 s, was {value}")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    return re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", url)


def _ts(ts_ns: int, what: str) -> str:
    if not isinstance(ts_ns, int) or isinstance(ts_ns, bool) or not 0 <= ts_ns < 10**20:
        raise StoreIntegrityError(f"{what}: ts_ns expected an int >= 0, was {ts_ns!r}")
    return f"{ts_ns:020d}"


def _part(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or ":" in value:
        raise StoreIntegrityError(f"{what} expected a non-empty name without ':', was {value!r}")
    return value


class RedisStateStore:
    """A :class:`~emp.ports.state_store.StateStorePort` on a Redis server.

    The constructor does no I/O; the client connects on first use. Every Redis error is
    translated: unreachable or timed out becomes
    :class:`~emp.ports.store_errors.StoreUnavailable` naming the URL (password hidden).

    Args:
        url: ``redis://[:password@]host:port/db``.
        namespace: prefix of every key, so several EMPs can share one server.
        ttls: time to live of each kind of state.
        socket_timeout_s: how long to wait for the server before giving up.
    """

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "emp",
        ttls: StateTtls | None = None,
        socket_timeout_s: float = 2.0,
    ) -> None:
        self._url = url
        self._namespace = _part(namespace, "namespace")
        self._ttls = ttls or StateTtls()
        self._timeout = socket_timeout_s
        self._client: redis.Redis | None = None
        self._script: Any = None

    def describe(self) -> str:
        return f"redis:{redact_url(self._url)} namespace {self._namespace}"

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # ------------------------------------------------------------------ writes
    def put_bbo(self, bbo: BestBidOffer) -> bool:
        symbol = _part(bbo.symbol, "symbol")
        payload = [bbo.bid, bbo.bid_size, bbo.ask, bbo.ask_size]
        return self._write(
            f"bbo:{symbol}", _ts(bbo.ts_ns, f"BBO of {symbol}"), payload, self._ttls.bbo_s
        )

    def put_signal(self, signal: SignalValue) -> bool:
        symbol = _part(signal.symbol, "symbol")
        name = _part(signal.name, "signal name")
        return self._write(
            f"signal:{symbol}:{name}",
            _ts(signal.ts_ns, f"signal {name} of {symbol}"),
            signal.value,
            self._ttls.signal_s,
            index=(f"signals:{symbol}", name),
        )

    def put_positions(self, snapshot: PositionsSnapshot) -> bool:
        account = _part(snapshot.account, "account")
        positions = {str(k): float(v) for k, v in snapshot.positions.items()}
        return self._write(
            f"positions:{account}",
            _ts(snapshot.ts_ns, f"positions of {account}"),
            positions,
            self._ttls.positions_s,
        )

    def beat(self, heartbeat: Heartbeat) -> bool:
        component = _part(heartbeat.component, "component")
        return self._write(
            f"heartbeat:{component}",
            _ts(heartbeat.ts_ns, f"heartbeat of {component}"),
            None,
            self._ttls.heartbeat_s,
        )

    # ------------------------------------------------------------------- reads
    def get_bbo(self, symbol: str) -> BestBidOffer | None:
        found = self._read(f"bbo:{_part(symbol, 'symbol')}")
        if found is None:
            return None
        ts_ns, (bid, bid_size, ask, ask_size) = found
        return BestBidOffer(
            symbol=symbol, bid=bid, bid_size=bid_size, ask=ask, ask_size=ask_size, ts_ns=ts_ns
        )

    def get_signals(self, symbol: str) -> dict[str, SignalValue]:
        symbol = _part(symbol, "symbol")
        index = self._key(f"signals:{symbol}")

        def work(client: redis.Redis) -> dict[str, SignalValue]:
            names = sorted(name.decode() for name in client.smembers(index))
            pipeline = client.pipeline(transaction=False)
            for name in names:
                pipeline.hmget(self._key(f"signal:{symbol}:{name}"), "ts", "v")
            signals: dict[str, SignalValue] = {}
            expired = []
            for name, (ts, value) in zip(names, pipeline.execute(), strict=True):
                if ts is None:
                    expired.append(name)
                    continue
                signals[name] = SignalValue(
                    symbol=symbol, name=name, value=json.loads(value), ts_ns=int(ts)
                )
            if expired:
                client.srem(index, *expired)
            return signals

        return self._call(f"reading the signals of {symbol}", work)

    def get_positions(self, account: str) -> PositionsSnapshot | None:
        found = self._read(f"positions:{_part(account, 'account')}")
        if found is None:
            return None
        ts_ns, positions = found
        return PositionsSnapshot(account=account, positions=positions, ts_ns=ts_ns)

    def last_heartbeat(self, component: str) -> Heartbeat | None:
        found = self._read(f"heartbeat:{_part(component, 'component')}")
        return None if found is None else Heartbeat(component=component, ts_ns=found[0])

    # ----------------------------------------------------------------- helpers
    def _key(self, suffix: str) -> str:
        return f"{self._namespace}:{suffix}"

    def _write(
        self,
        suffix: str,
        ts: str,
        value: Any,
        ttl_s: float,
        index: tuple[str, str] | None = None,
    ) -> bool:
        try:
            payload = json.dumps(value, allow_nan=True)
        except (TypeError, ValueError) as error:
            raise StoreIntegrityError(f"{suffix}: value cannot be stored: {error}") from error
        keys = [self._key(suffix)] + ([self._key(index[0])] if index else [])
        args = [ts, payload, max(1, round(ttl_s * 1000))] + ([index[1]] if index else [])

        def work(client: redis.Redis) -> bool:
            if self._script is None:
                self._script = client.register_script(_LATEST_WINS)
            return bool(self._script(keys=keys, args=args, client=client))

        return self._call(f"writing {suffix}", work)

    def _read(self, suffix: str) -> tuple[int, Any] | None:
        key = self._key(suffix)

        def work(client: redis.Redis) -> tuple[int, Any] | None:
            ts, value = client.hmget(key, "ts", "v")
            return None if ts is None else (int(ts), json.loads(value))

        return self._call(f"reading {suffix}", work)

    def _connect(self) -> redis.Redis:
        if self._client is None:
            try:
                self._client = redis.Redis.from_url(
                    self._url,
                    socket_timeout=self._timeout,
                    socket_connect_timeout=self._timeout,
                    retry_on_timeout=False,
                )
            except ValueError as error:
                raise StoreUnavailable(
                    f"expected a URL like redis://host:6379/0, was {redact_url(self._url)!r}: "
                    f"{error}"
                ) from error
        return self._client

    def _call(self, action: str, work: Callable[[redis.Redis], T]) -> T:
        where = redact_url(self._url)
        client = self._connect()
        try:
            return work(client)
        except redis.AuthenticationError as error:
            raise StoreUnavailable(
                f"{action} failed: Redis at {where} refused the login: {error}"
            ) from error
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StoreUnavailable(
                f"{action} failed: Redis at {where} is unreachable: {redact_url(str(error))}"
            ) from error
        except redis.RedisError as error:
            raise StoreError(
                f"{action} failed on Redis at {where}: {redact_url(str(error))}"
            ) from error
        except ValueError as error:  # a stored value that is not EMP's JSON
            raise StoreError(f"{action} failed: the stored value is not EMP's: {error}") from error
