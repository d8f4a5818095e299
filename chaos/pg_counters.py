"""Faults that move pg_stat_database counters: real deadlocks and rolled-back transactions.

They happen during inject and are over when it returns; what stays is the counter increase the
alerts read. Postgres flushes a session's counters when it goes idle (at most once a second) or
exits, so inject waits, with a deadline, until the counters show every event it caused.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from psycopg import errors, sql

from alertdrill.errors import FaultInjectError

from .base import poll
from .params import Param
from .pgbase import PostgresFault, qualified_table

__all__ = ["PgDeadlocks", "PgRollbacks"]

FLUSH_TIMEOUT = 10.0
ROUND_TIMEOUT = 10.0


class _CounterFault(PostgresFault):
    """Remembers a pg_stat_database counter before inject; prove shows how far it moved."""

    counter = ""

    def _database(self) -> str:
        with self.admin() as conn:
            return conn.execute("SELECT current_database()").fetchone()[0]

    def _count(self) -> int:
        with self.admin() as conn:
            return self.db_counters(conn, database=self.resources["database"])[self.counter]

    def _caused(self) -> int:
        return int(self.resources.get("caused", 0))

    def _wait_flushed(self) -> None:
        before = self.resources["before"]
        poll(lambda: self._count() - before >= self._caused(), timeout=FLUSH_TIMEOUT, interval=0.1,
             what=f"pg_stat_database.{self.counter} to grow by {self._caused()}")

    def _prove(self) -> tuple[str, dict[str, Any]]:
        now = self._count()
        before = self.resources["before"]
        facts = {"counter": f"pg_stat_database.{self.counter}", "database": self.resources["database"],
                 "before": before, "now": now, "increase": now - before, "caused": self._caused()}
        if now - before < self._caused():
            raise self.not_in_effect(f"{self.counter} grew by {now - before}, expected at least {self._caused()}",
                                     **facts)
        return f"{self.counter} on {facts['database']} grew by {now - before} ({before} -> {now})", facts


class PgDeadlocks(_CounterFault):
    """``count`` genuine deadlocks between two sessions updating two rows in opposite order."""

    kind = "pg-deadlocks"
    counter = "deadlocks"

    parameters = {"count": Param(int, 1, low=1, high=50, help="deadlocks to provoke")}
    count: int

    def _inject(self) -> None:
        table = self.chaos_table()
        ident = qualified_table(table)
        self._journal_resources(created_table=table)
        with self.admin() as conn:
            self.require_superuser(conn)  # deadlock_timeout can only be lowered by a superuser
            conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, v int)").format(ident))
            conn.execute(sql.SQL("INSERT INTO {} VALUES (1, 0), (2, 0)").format(ident))
        self.resources.update(database=self._database(), before=0)
        self.resources["before"] = self._count()
        settings = {"deadlock_timeout": "50ms", "lock_timeout": int(ROUND_TIMEOUT * 1000)}
        a = self.connect(autocommit=False, **settings)
        b = self.connect(autocommit=False, **settings)
        deadline = time.monotonic() + min(self.max_duration, 60.0)
        caused = 0
        for _ in range(self.count):  # bounded in count and time
            if time.monotonic() > deadline:
                raise FaultInjectError(f"only {caused} of {self.count} deadlocks before the deadline")
            caused += self._one_deadlock(a, b, ident)
        self.resources["caused"] = caused
        self.close_connections()  # an exiting session flushes its counters at once
        if caused < self.count:
            raise FaultInjectError(f"Postgres detected {caused} deadlocks, {self.count} were provoked")
        self._wait_flushed()

    def _one_deadlock(self, a: psycopg.Connection, b: psycopg.Connection, ident: sql.Identifier) -> int:
        update = sql.SQL("UPDATE {} SET v = v + 1 WHERE id = %s").format(ident)
        a.execute(update, (1,))
        b.execute(update, (2,))
        outcome: list[BaseException | None] = []

        def a_crosses() -> None:
            try:
                a.execute(update, (2,))
                outcome.append(None)
            except psycopg.Error as exc:
                outcome.append(exc)

        thread = threading.Thread(target=a_crosses, name=f"{self.id}-deadlock", daemon=True)
        thread.start()
        with self.admin() as conn:
            poll(lambda: conn.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted",
                                      (a.info.backend_pid,)).fetchone()[0] > 0,
                 timeout=ROUND_TIMEOUT, what="the first session waiting for the second one's row")
        b_error: psycopg.Error | None = None
        try:
            b.execute(update, (1,))
        except psycopg.Error as exc:
            b_error = exc
        thread.join(ROUND_TIMEOUT)
        a.rollback()
        b.rollback()
        victims = [e for e in (b_error, *outcome) if isinstance(e, errors.DeadlockDetected)]
        return len(victims)

    def _revert_more(self) -> list[str]:
        created = self.resources.get("created_table")
        dropped = self.drop_table(created) if created else None
        return [*([dropped] if dropped else []), "the deadlocks counter stays (counters only grow)"]


class PgRollbacks(_CounterFault):
    """``count`` transactions that do some work and are rolled back (xact_rollback grows)."""

    kind = "pg-rollbacks"
    counter = "xact_rollback"

    parameters = {"count": Param(int, 100, low=1, high=1_000_000, help="transactions to roll back")}
    count: int

    def _inject(self) -> None:
        self.resources.update(database=self._database(), before=0)
        self.resources["before"] = self._count()
        conn = self.connect(autocommit=False)
        deadline = time.monotonic() + self.max_duration
        caused = 0
        for _ in range(self.count):  # bounded in count and time
            if time.monotonic() > deadline:
                break
            conn.execute("SELECT 1")
            conn.rollback()
            caused += 1
        self.resources["caused"] = caused
        self.close_connections()
        self._wait_flushed()

    def _revert_more(self) -> list[str]:
        return ["the xact_rollback counter stays (counters only grow)"]
