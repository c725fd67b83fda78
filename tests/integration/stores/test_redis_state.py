"""RedisStateStore against a real redis-server: latest wins, TTLs, errors in words."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from emp.adapters.redis_state import RedisStateStore, StateTtls
from emp.ports.state_store import (
    BestBidOffer,
    Heartbeat,
    PositionsSnapshot,
    SignalValue,
    StateStorePort,
)
from emp.ports.store_errors import StoreError, StoreIntegrityError, StoreUnavailable
from tests.integration.stores.services import free_port

T0 = 1_700_000_000_123_456_789


def bbo(ts_ns: int = T0, bid: float = 99.5) -> BestBidOffer:
    return BestBidOffer(
        symbol="SPY", bid=bid, bid_size=300.0, ask=99.51, ask_size=200.0, ts_ns=ts_ns
    )


@pytest.fixture
def state(redis_url: str) -> Iterator[RedisStateStore]:
    store = RedisStateStore(redis_url, namespace=f"t{uuid.uuid4().hex[:10]}")
    yield store
    store.close()


class TestLatestWins:
    def test_the_store_implements_its_port(self, state: RedisStateStore) -> None:
        assert isinstance(state, StateStorePort)

    def test_a_bbo_round_trips_exactly(self, state: RedisStateStore) -> None:
        assert state.put_bbo(bbo()) is True
        assert state.get_bbo("SPY") == bbo()
        assert state.get_bbo("QQQ") is None

    def test_an_older_bbo_never_replaces_a_newer_one(self, state: RedisStateStore) -> None:
        state.put_bbo(bbo(T0 + 1, bid=100.0))
        assert state.put_bbo(bbo(T0, bid=1.0)) is False  # one nanosecond older
        assert state.get_bbo("SPY") == bbo(T0 + 1, bid=100.0)
        assert state.put_bbo(bbo(T0 + 1, bid=101.0)) is True  # same time: the last write wins
        assert state.get_bbo("SPY").bid == 101.0

    def test_signals_are_kept_per_instrument_and_name(self, state: RedisStateStore) -> None:
        state.put_signal(SignalValue(symbol="SPY", name="momentum", value=0.25, ts_ns=T0))
        state.put_signal(SignalValue(symbol="SPY", name="regime", value=2.0, ts_ns=T0))
        state.put_signal(SignalValue(symbol="QQQ", name="momentum", value=-1.0, ts_ns=T0))
        assert (
            state.put_signal(SignalValue(symbol="SPY", name="regime", value=9.0, ts_ns=1)) is False
        )
        signals = state.get_signals("SPY")
        assert sorted(signals) == ["momentum", "regime"]
        assert signals["regime"].value == 2.0
        assert state.get_signals("QQQ")["momentum"].value == -1.0
        assert state.get_signals("TLT") == {}

    def test_a_positions_snapshot_is_replaced_whole(self, state: RedisStateStore) -> None:
        state.put_positions(
            PositionsSnapshot(account="A1", positions={"SPY": 10, "QQQ": -5}, ts_ns=T0)
        )
        state.put_positions(PositionsSnapshot(account="A1", positions={"TLT": 3.5}, ts_ns=T0 + 5))
        snapshot = state.get_positions("A1")
        assert snapshot == PositionsSnapshot(account="A1", positions={"TLT": 3.5}, ts_ns=T0 + 5)
        assert state.get_positions("A2") is None

    def test_a_heartbeat_says_when_a_component_was_last_alive(self, state: RedisStateStore) -> None:
        assert state.last_heartbeat("engine") is None
        state.beat(Heartbeat(component="engine", ts_ns=T0))
        assert state.last_heartbeat("engine") == Heartbeat(component="engine", ts_ns=T0)


class TestTimeToLive:
    def test_state_disappears_when_its_writer_stops_refreshing_it(self, redis_url: str) -> None:
        ttls = StateTtls(bbo_s=0.2, signal_s=0.2, positions_s=0.2, heartbeat_s=0.2)
        state = RedisStateStore(redis_url, namespace=f"t{uuid.uuid4().hex[:10]}", ttls=ttls)
        state.put_bbo(bbo())
        state.put_signal(SignalValue(symbol="SPY", name="m", value=1.0, ts_ns=T0))
        state.put_positions(PositionsSnapshot(account="A1", positions={"SPY": 1}, ts_ns=T0))
        state.beat(Heartbeat(component="engine", ts_ns=T0))
        time.sleep(0.35)
        assert state.get_bbo("SPY") is None
        assert state.get_signals("SPY") == {}
        assert state.get_positions("A1") is None
        assert state.last_heartbeat("engine") is None
        state.close()

    def test_ttls_are_set_on_every_key(self, state: RedisStateStore, redis_url: str) -> None:
        state.put_bbo(bbo())
        state.put_signal(SignalValue(symbol="SPY", name="m", value=1.0, ts_ns=T0))
        raw = redis.Redis.from_url(redis_url)
        keys = raw.keys(f"{state.describe().split()[-1]}:*")
        assert len(keys) == 3
        assert all(0 < raw.pttl(key) <= 60_000 for key in keys)
        raw.close()

    def test_a_ttl_below_a_millisecond_is_refused(self) -> None:
        with pytest.raises(StoreError, match="bbo_s"):
            StateTtls(bbo_s=0)


class TestBadInputAndFaults:
    def test_a_dead_server_is_unavailable_with_the_password_hidden(self) -> None:
        store = RedisStateStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0", socket_timeout_s=1)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="unreachable") as info:
            store.get_bbo("SPY")
        assert time.monotonic() - started < 5
        assert ":***@127.0.0.1" in str(info.value)
        assert "hunter2" not in str(info.value)

    def test_a_url_that_is_not_redis_is_refused_in_words(self) -> None:
        with pytest.raises(StoreUnavailable, match="expected a URL like redis://"):
            RedisStateStore("http://:pw@localhost/0").get_bbo("SPY")

    @pytest.mark.parametrize("ts_ns", [-1, 1.5, True])
    def test_a_timestamp_that_is_not_a_non_negative_int_is_refused(
        self, state: RedisStateStore, ts_ns: object
    ) -> None:
        with pytest.raises(StoreIntegrityError, match="ts_ns"):
            state.put_bbo(bbo(ts_ns))  # type: ignore[arg-type]

    def test_a_name_with_a_colon_is_refused(self, state: RedisStateStore) -> None:
        with pytest.raises(StoreIntegrityError, match="without ':'"):
            state.put_signal(SignalValue(symbol="SPY", name="a:b", value=1.0, ts_ns=T0))
