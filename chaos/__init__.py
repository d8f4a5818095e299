"""Faults that really happen: inject, prove with direct evidence, revert, and never leave one behind.

Start with :class:`Faults` (``faults = Faults(native_stack)``); every fault is a context manager.
See chaos/base.py for the lifecycle and chaos/recovery.py for crash recovery.
"""

from .app import AppDropWrites, AppErrors, AppLatency
from .backend import Backend
from .base import DEFAULT_MAX_DURATION, Evidence, Fault, StepRecord
from .factory import Faults
from .guard import StackGuard
from .journal import Journal, JournalEntry
from .monitoring import PrometheusDropJob
from .network import NetworkCut, NetworkLatency
from .pg_connections import PgConnectionHold
from .pg_counters import PgDeadlocks, PgRollbacks
from .pg_load import PgCacheMisses, PgTransactionFlood
from .pg_maintenance import PgDeadTuples, PgExporterError
from .pg_queries import PgLockContention, PgSlowQueries
from .recovery import recover_run_dir
from .redis_clients import RedisBlockedClients, RedisClientDrain, RedisClientFlood, RedisMaxClients
from .redis_commands import RedisSlowCommands
from .redis_memory import RedisMemoryFill
from .registry import kinds
from .service import ServiceKill, ServicePause, ServiceRestart, ServiceStop
from .signals import TerminatedBySignal

__all__ = [
    "DEFAULT_MAX_DURATION",
    "AppDropWrites",
    "AppErrors",
    "AppLatency",
    "Backend",
    "Evidence",
    "Fault",
    "Faults",
    "Journal",
    "JournalEntry",
    "NetworkCut",
    "NetworkLatency",
    "PgCacheMisses",
    "PgConnectionHold",
    "PgDeadTuples",
    "PgDeadlocks",
    "PgExporterError",
    "PgLockContention",
    "PgRollbacks",
    "PgSlowQueries",
    "PgTransactionFlood",
    "PrometheusDropJob",
    "RedisBlockedClients",
    "RedisClientDrain",
    "RedisClientFlood",
    "RedisMaxClients",
    "RedisMemoryFill",
    "RedisSlowCommands",
    "ServiceKill",
    "ServicePause",
    "ServiceRestart",
    "ServiceStop",
    "StackGuard",
    "StepRecord",
    "TerminatedBySignal",
    "kinds",
    "recover_run_dir",
]
