"""One place for scenarios to build faults: ``faults = Faults(native_stack)``.

Every method returns a fault that is not injected yet; ``with`` injects and reverts it::

    with faults.redis_memory_fill(fraction=0.95) as fault:
        evidence = fault.prove()

``max_duration`` given to the factory is the default for every fault it builds.
"""

from __future__ import annotations

from typing import Any

from .app import AppDropWrites, AppErrors, AppLatency
from .backend import Backend
from .base import DEFAULT_MAX_DURATION, check_number
from .monitoring import PrometheusDropJob
from .network import NetworkCut, NetworkLatency
from .pg_connections import PgConnectionHold
from .pg_counters import PgDeadlocks, PgRollbacks
from .pg_load import PgCacheMisses, PgTransactionFlood
from .pg_maintenance import PgDeadTuples, PgExporterError
from .pg_queries import PgLockContention, PgSlowQueries
from .redis_clients import RedisBlockedClients, RedisClientDrain, RedisClientFlood, RedisMaxClients
from .redis_commands import RedisSlowCommands
from .redis_memory import RedisMemoryFill
from .service import ServiceKill, ServicePause, ServiceRestart, ServiceStop

__all__ = ["Faults"]


class Faults:
    """Builds faults against one stack backend (e.g. the ``native_stack`` fixture)."""

    def __init__(self, backend: Backend, *, max_duration: float = DEFAULT_MAX_DURATION) -> None:
        check_number("max_duration", max_duration, low=0, high=3600, low_inclusive=False)
        self.backend = backend
        self.max_duration = float(max_duration)

    def _kw(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"backend": self.backend, "max_duration": self.max_duration, **kwargs}

    # -- services ----------------------------------------------------------------------------------

    def stop(self, component: str, **kw: Any) -> ServiceStop:
        return ServiceStop(component=component, **self._kw(kw))

    def kill(self, component: str, **kw: Any) -> ServiceKill:
        return ServiceKill(component=component, **self._kw(kw))

    def pause(self, component: str, **kw: Any) -> ServicePause:
        return ServicePause(component=component, **self._kw(kw))

    def restart(self, component: str, **kw: Any) -> ServiceRestart:
        return ServiceRestart(component=component, **self._kw(kw))

    # -- Postgres ----------------------------------------------------------------------------------

    def pg_connections(self, fraction: float = 0.8, **kw: Any) -> PgConnectionHold:
        return PgConnectionHold(fraction=fraction, **self._kw(kw))

    def pg_slow_queries(self, sessions: int = 3, **kw: Any) -> PgSlowQueries:
        return PgSlowQueries(sessions=sessions, **self._kw(kw))

    def pg_lock_contention(self, waiters: int = 3, **kw: Any) -> PgLockContention:
        return PgLockContention(waiters=waiters, **self._kw(kw))

    def pg_cache_misses(self, **kw: Any) -> PgCacheMisses:
        return PgCacheMisses(**self._kw(kw))

    def pg_transaction_flood(self, clients: int = 4, **kw: Any) -> PgTransactionFlood:
        return PgTransactionFlood(clients=clients, **self._kw(kw))

    def pg_dead_tuples(self, **kw: Any) -> PgDeadTuples:
        return PgDeadTuples(**self._kw(kw))

    def pg_deadlocks(self, count: int = 1, **kw: Any) -> PgDeadlocks:
        return PgDeadlocks(count=count, **self._kw(kw))

    def pg_rollbacks(self, count: int = 100, **kw: Any) -> PgRollbacks:
        return PgRollbacks(count=count, **self._kw(kw))

    def pg_exporter_error(self, **kw: Any) -> PgExporterError:
        return PgExporterError(**self._kw(kw))

    # -- Redis -------------------------------------------------------------------------------------

    def redis_memory_fill(self, fraction: float = 0.95, policy: str = "noeviction", **kw: Any) -> RedisMemoryFill:
        return RedisMemoryFill(fraction=fraction, policy=policy, **self._kw(kw))

    def redis_client_flood(self, clients: int = 120, **kw: Any) -> RedisClientFlood:
        return RedisClientFlood(clients=clients, **self._kw(kw))

    def redis_client_drain(self, below: int = 5, **kw: Any) -> RedisClientDrain:
        return RedisClientDrain(below=below, **self._kw(kw))

    def redis_maxclients(self, attempts: int = 5, **kw: Any) -> RedisMaxClients:
        return RedisMaxClients(attempts=attempts, **self._kw(kw))

    def redis_blocked_clients(self, clients: int = 3, **kw: Any) -> RedisBlockedClients:
        return RedisBlockedClients(clients=clients, **self._kw(kw))

    def redis_slow_commands(self, count: int = 3, duration_ms: int = 250, **kw: Any) -> RedisSlowCommands:
        return RedisSlowCommands(count=count, duration_ms=duration_ms, **self._kw(kw))

    # -- app ---------------------------------------------------------------------------------------

    def app_errors(self, ratio: float = 0.5, **kw: Any) -> AppErrors:
        return AppErrors(ratio=ratio, **self._kw(kw))

    def app_latency(self, latency_ms: float = 800.0, **kw: Any) -> AppLatency:
        return AppLatency(latency_ms=latency_ms, **self._kw(kw))

    def app_drop_writes(self, **kw: Any) -> AppDropWrites:
        return AppDropWrites(**self._kw(kw))

    # -- the network between the API and its dependencies -----------------------------------------

    def network_cut(self, dependency: str, **kw: Any) -> NetworkCut:
        return NetworkCut(dependency=dependency, **self._kw(kw))

    def network_latency(self, dependency: str, latency_ms: float = 200.0, **kw: Any) -> NetworkLatency:
        return NetworkLatency(dependency=dependency, latency_ms=latency_ms, **self._kw(kw))

    # -- the monitoring pipeline --------------------------------------------------------------------

    def prometheus_drop_job(self, job: str, **kw: Any) -> PrometheusDropJob:
        return PrometheusDropJob(job=job, **self._kw(kw))
