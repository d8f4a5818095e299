"""Long-running queries and lock contention in Postgres sessions.

Statements are sent without waiting for their result (libpq's asynchronous send), so no thread is
needed to keep them running; revert terminates the sessions by application_name. Each statement is
bounded server-side too (pg_sleep of the max duration, lock_timeout, idle-in-transaction timeout),
so even a fault whose process and watchdog both died ends on its own.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
from psycopg import sql

from alertdrill.errors import ConfigError, FaultInjectError

from .base import MAX_MAX_DURATION, Magnitude, poll
from .params import Param
from .pgbase import PostgresFault, check_table, qualified_table

__all__ = ["PgLockContention", "PgSlowQueries"]

START_TIMEOUT = 10.0


def _send(conn: psycopg.Connection, statement: str) -> None:
    """Send ``statement`` and return at once; the session stays busy until it ends or is terminated."""
    try:
        conn.pgconn.send_query(statement.encode())
        conn.pgconn.flush()
    except psycopg.Error as exc:
        raise FaultInjectError(f"could not send {statement!r}: {exc}") from exc


class PgSlowQueries(PostgresFault):
    """``sessions`` queries (pg_sleep) that keep running; prove wants each older than ``min_age_s``."""

    builds_up = True

    kind = "pg-slow-queries"

    parameters = {"sessions": Param(int, 3, low=1, high=40, help="slow queries running at once"),
                  "min_age_s": Param(float, 0.0, low=0, high=MAX_MAX_DURATION,
                                     help="the age every query must reach before prove() accepts")}
    sessions: int
    min_age_s: float
    magnitude_metric = "pg_long_running_query_seconds"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.min_age_s >= self.max_duration:
            raise ConfigError(f"min_age_s ({self.min_age_s!r}) must be below max_duration ({self.max_duration!r})")

    def _inject(self) -> None:
        seconds = math.ceil(self.max_duration)
        for _ in range(self.sessions):
            conn = self.connect(statement_timeout_ms=self.bound_ms())
            _send(conn, f"SELECT pg_sleep({seconds}) /* alertdrill chaos: slow query */")
        with self.admin() as conn:
            poll(lambda: len(self._running(conn)) >= self.sessions, timeout=START_TIMEOUT,
                 what=f"{self.sessions} pg_sleep queries active")

    def _running(self, conn: psycopg.Connection) -> list[dict[str, Any]]:
        return [b for b in self.fault_backends(conn) if b["state"] == "active" and "pg_sleep" in (b["query"] or "")]

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.admin() as conn:
            running = self._running(conn)
        ages = sorted((round(b["age_s"], 2) for b in running), reverse=True)
        old_enough = [a for a in ages if a > self.min_age_s]
        facts = {"sessions": self.sessions, "active_queries": len(running), "ages_s": ages,
                 "min_age_s": self.min_age_s, "pids": [b["pid"] for b in running]}
        if len(running) < self.sessions:
            raise self.not_in_effect(f"only {len(running)} of {self.sessions} slow queries are running", **facts)
        if len(old_enough) < self.sessions:
            raise self.not_in_effect(
                f"only {len(old_enough)} of {self.sessions} queries have run for more than {self.min_age_s:g}s "
                f"(ages {ages})", **facts)
        return f"{len(running)} queries running for {min(ages):.1f}..{max(ages):.1f}s", facts

    def _magnitudes(self, facts: dict[str, Any]) -> list[Magnitude]:
        """The innermost threshold is the query age; an outer one counts the old queries."""
        if not self.needs:
            return []
        ages = facts["ages_s"][: self.sessions]  # the fault's own queries are the oldest
        age_need = max(self.needs, key=lambda t: t.depth)
        out = [Magnitude(f"age of the youngest of {self.sessions} slow queries (s)", min(ages or [0.0]), age_need)]
        old = sum(1 for age in facts["ages_s"] if age_need.met_by(age))
        out += [Magnitude("slow queries past the age threshold", old, need)
                for need in self.needs if need is not age_need]
        return out


class PgLockContention(PostgresFault):
    """One session holds ACCESS EXCLUSIVE on a table while ``waiters`` sessions wait for it.

    By default the table is a new, empty one of the fault's own (dropped on revert); pass ``table``
    to lock an existing table (e.g. the app's ``items``) so the application waits as well.
    """

    builds_up = True

    kind = "pg-lock-contention"

    parameters = {"waiters": Param(int, 3, low=1, high=40, help="sessions waiting for the lock"),
                  "table": Param(str, None, check=check_table, help="an existing table (default: the fault's own)")}
    waiters: int
    table: str | None

    def target(self) -> dict[str, Any]:
        return {**super().target(), "table": self.table or "(own table)"}

    def _locked_table(self) -> str:
        return self.table or self.resources.get("created_table") or self.chaos_table()

    def _inject(self) -> None:
        name = self._locked_table()
        ident = qualified_table(name)
        with self.admin() as conn:
            if self.table is None:
                self._journal_resources(created_table=name)
                conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(ident))
            elif not conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]:
                raise FaultInjectError(f"table {name!r} does not exist in {self.dsn}")
        holder = self.connect(autocommit=False, lock_timeout=5000,
                              idle_in_transaction_session_timeout=self.bound_ms())
        holder.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(ident))
        self.resources["holder_pid"] = holder.info.backend_pid
        for _ in range(self.waiters):
            conn = self.connect(statement_timeout_ms=self.bound_ms(), lock_timeout=self.bound_ms())
            _send(conn, f"SELECT count(*) FROM {ident.as_string(conn)} /* alertdrill chaos: lock waiter */")
        with self.admin() as conn:
            poll(lambda: len(self._lock_state(conn)["waiting"]) >= self.waiters, timeout=START_TIMEOUT,
                 what=f"{self.waiters} sessions waiting for the lock on {name}")

    def _lock_state(self, conn: psycopg.Connection) -> dict[str, Any]:
        rows = conn.execute(
            "SELECT l.pid, l.mode, l.granted, a.application_name,"
            " EXTRACT(EPOCH FROM clock_timestamp() - a.state_change)::float8"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'relation' AND l.relation = to_regclass(%s) ORDER BY l.pid",
            (self._locked_table(),),
        ).fetchall()
        holders = [r[0] for r in rows if r[2] and r[1] == "AccessExclusiveLock" and r[3] == self.application_name]
        waiting = [{"pid": r[0], "mode": r[1], "application_name": r[3], "waiting_s": round(r[4] or 0.0, 2)}
                   for r in rows if not r[2]]
        return {"holders": holders, "waiting": waiting}

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.admin() as conn:
            state = self._lock_state(conn)
        facts = {"table": self._locked_table(), "holder_pids": state["holders"], "waiting": state["waiting"],
                 "waiters_expected": self.waiters}
        if not state["holders"]:
            raise self.not_in_effect(f"no session of the fault holds ACCESS EXCLUSIVE on {facts['table']}", **facts)
        if len(state["waiting"]) < self.waiters:
            raise self.not_in_effect(f"only {len(state['waiting'])} sessions wait for the lock", **facts)
        longest = max(w["waiting_s"] for w in state["waiting"])
        return (f"pid {state['holders'][0]} holds ACCESS EXCLUSIVE on {facts['table']}; {len(state['waiting'])} "
                f"sessions wait (longest {longest:.1f}s)", facts)

    def _revert_more(self) -> list[str]:
        created = self.resources.get("created_table")
        dropped = self.drop_table(created) if created else None
        return [dropped] if dropped else []
