"""Hot real-time state in Redis (redis-py): latest BBO and signals, positions, heartbeats."""

from emp.adapters.redis_state.state_store import RedisStateStore, StateTtls

__all__ = ["RedisStateStore", "StateTtls"]
