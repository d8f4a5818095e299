"""What every Postgres fault shares: guarded, tagged connections and cleanup of leftovers.

Every connection a fault opens calls itself ``alertdrill-chaos:<fault id>`` (application_name), so a
later process can find and terminate what a crashed one left, and carries a statement timeout, so
no query of ours can hang past the fault's max duration. Tables a fault creates are named
``alertdrill_chaos_<kind>_<suffix>`` and dropped on revert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import sql

from alertdrill.errors import ConfigError, FaultInjectError, FaultRevertError

from .base import Fault, poll
from .params import Param

__all__ = [
    "ADMIN_STATEMENT_TIMEOUT_MS",
    "CLIENT_BACKENDS_SQL",
    "PostgresFault",
    "qualified_table",
]

ADMIN_STATEMENT_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 5
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: Connections as postgres_exporter counts them for pg_stat_activity_count (database and state set).
CLIENT_BACKENDS_SQL = "SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL AND state IS NOT NULL"


def check_table(name: str, value: str) -> None:
    """Param check: ``value`` is a table name :func:`qualified_table` accepts."""
    qualified_table(value)


def qualified_table(name: str) -> sql.Identifier:
    """``table`` or ``schema.table`` as a safely quoted identifier; ConfigError for anything else."""
    parts = name.split(".") if isinstance(name, str) else []
    if not 1 <= len(parts) <= 2 or not all(_IDENT.match(p) for p in parts):
        raise ConfigError(f"table must be 'name' or 'schema.name' (letters, digits, _), got {name!r}")
    return sql.Identifier(*parts)


class PostgresFault(Fault):
    """A fault that acts over real connections to the stack's Postgres (superuser DSN by default)."""

    parameters = {"dsn": Param(str, None, help="a superuser DSN of the stack's Postgres (default: the stack's)")}
    dsn: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dsn = self.guard.postgres_dsn(self.dsn if self.dsn is not None else self.info.postgres_dsn)
        self._conns: list[psycopg.Connection] = []

    def target(self) -> dict[str, Any]:
        return {"stack": self.info.name, "dsn": self.dsn}

    # -- connections -------------------------------------------------------------------------------

    def connect(self, *, autocommit: bool = True, statement_timeout_ms: int | None = ADMIN_STATEMENT_TIMEOUT_MS,
                hold: bool = True, **settings: Any) -> psycopg.Connection:
        """A connection tagged with the fault's application_name; ``hold`` keeps it until revert."""
        options = {"statement_timeout": statement_timeout_ms or 0, **settings}
        opts = " ".join(f"-c {k}={v}" for k, v in options.items())
        conn = psycopg.connect(self.dsn, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=self.application_name, options=opts)
        if hold:
            self._conns.append(conn)
        return conn

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection]:
        """A short-lived autocommit connection for reading state and changing settings."""
        conn = self.connect(hold=False, lock_timeout=5000)
        try:
            yield conn
        finally:
            conn.close()

    def bound_ms(self, extra_s: float = 30.0) -> int:
        """A server-side limit just past the fault's max duration, in ms: Postgres ends what we forget."""
        return math.ceil((self.max_duration + extra_s) * 1000)

    def require_superuser(self, conn: psycopg.Connection) -> None:
        if not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            raise FaultInjectError(f"{self.kind} needs a superuser DSN, {self.dsn!r} is not one")

    @staticmethod
    def setting(conn: psycopg.Connection, name: str) -> str:
        return conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]

    # -- leftovers ---------------------------------------------------------------------------------

    def fault_backends(self, conn: psycopg.Connection) -> list[dict[str, Any]]:
        """This fault's sessions other than ``conn`` itself, per pg_stat_activity."""
        rows = conn.execute(
            "SELECT pid, state, wait_event_type, query,"
            " EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8 AS age"
            " FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid() ORDER BY pid",
            (self.application_name,),
        ).fetchall()
        keys = ("pid", "state", "wait_event_type", "query", "age_s")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def close_connections(self) -> int:
        conns, self._conns = self._conns, []
        for conn in conns:
            with suppress(Exception):
                conn.close()
        return len(conns)

    def terminate_leftovers(self) -> int:
        """Terminate every session of this fault (also those a dead process left) and wait until gone."""
        with self.admin() as conn:
            # Pids first: in one query the planner may call pg_terminate_backend before excluding our own pid.
            pids = [row["pid"] for row in self.fault_backends(conn)]
            terminated = conn.execute(
                "SELECT count(*) FROM unnest(%s::int[]) AS p WHERE pg_terminate_backend(p)", (pids,)
            ).fetchone()[0]
            poll(lambda: not self.fault_backends(conn), timeout=10.0, interval=0.05,
                 what=f"sessions named {self.application_name} gone", error=FaultRevertError)
        return int(terminated)

    def _revert(self) -> str:
        self.close_connections()
        terminated = self.terminate_leftovers()
        extra = self._revert_more()
        parts = [f"closed the fault's sessions ({terminated} terminated server-side)", *extra]
        return "; ".join(parts)

    def _revert_more(self) -> list[str]:
        """Subclasses restore settings and drop what they created; one line per thing done."""
        return []

    def chaos_table(self) -> str:
        """The name of the table this fault creates (deterministic, so the journal can name it first)."""
        return "alertdrill_chaos_" + self.id.replace("-", "_")

    def drop_table(self, name: str) -> str | None:
        with self.admin() as conn:
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
            if not exists:
                return None
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(qualified_table(name)))
        return f"dropped table {name}"

    def db_counters(self, conn: psycopg.Connection, *, database: str | None = None) -> dict[str, int]:
        """pg_stat_database counters summed over all databases (as the alerts sum them), or one."""
        where = "WHERE datname = %s" if database else ""
        row = conn.execute(
            "SELECT COALESCE(sum(xact_commit),0), COALESCE(sum(xact_rollback),0), COALESCE(sum(blks_hit),0),"
            f" COALESCE(sum(blks_read),0), COALESCE(sum(deadlocks),0) FROM pg_stat_database {where}",
            (database,) if database else (),
        ).fetchone()
        return dict(zip(("xact_commit", "xact_rollback", "blks_hit", "blks_read", "deadlocks"),
                        (int(v) for v in row), strict=True))
