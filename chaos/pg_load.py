"""Load faults on Postgres: a cache-hit-ratio drop and a transaction flood.

Cache misses: a table several times larger than shared_buffers, scanned again and again in a
bounded background loop. Sequential scans of a big table go through a small ring buffer, so almost
every block is a read (``blks_read``), and the windowed hit ratio the alert computes drops far below
98%. Flood: Debian's pgbench (postgresql-contrib) running ``SELECT txid_current()`` as fast as it can; the
achieved transactions/s come from pgbench's own progress report and from the server's counters.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from alertdrill.errors import FaultInjectError
from alertdrill.stack.binaries import resolve
from alertdrill.stack.process import log_tail, process_start_ticks

from .base import Magnitude, poll
from .params import Param
from .pgbase import PostgresFault, qualified_table

__all__ = ["PgCacheMisses", "PgTransactionFlood"]

START_TIMEOUT = 15.0
_PROGRESS = re.compile(r"progress: ([\d.]+) s, ([\d.]+) tps")


class PgCacheMisses(PostgresFault):
    """Repeated scans of a table ``size_factor`` times larger than shared_buffers."""

    builds_up = True

    kind = "pg-cache-misses"

    parameters = {
        "size_factor": Param(float, 3.0, low=1.5, high=20, help="table size as a multiple of shared_buffers"),
        "interval_s": Param(float, 0.05, low=0, high=60, help="pause between scans"),
        "max_scans": Param(int, 100_000, low=1, high=10_000_000, help="bound on the scans"),
        "max_hit_ratio": Param(float, 0.9, low=0, high=1, low_inclusive=False,
                               help="the hit ratio the scans must push below"),
    }
    size_factor: float
    interval_s: float
    max_scans: int
    max_hit_ratio: float

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scans = 0
        self._loop_error: str | None = None

    def _inject(self) -> None:
        table = self.chaos_table()
        ident = qualified_table(table)
        self._journal_resources(created_table=table)
        with self.admin() as conn:
            shared = int(conn.execute("SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'"
                                      ).fetchone()[0])
            want = int(shared * self.size_factor)
            # ~1.8 kB rows stay uncompressed and inline: four to a page, so size is predictable.
            rows = math.ceil(want / 8192) * 4 + 64
            conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} (id int, filler text) WITH (autovacuum_enabled = false)"
                                 ).format(ident))
            conn.execute(sql.SQL("INSERT INTO {} SELECT g, repeat('x', 1800) FROM generate_series(1, %s) g"
                                 ).format(ident), (rows,))
            size = conn.execute("SELECT pg_relation_size(%s)", (table,)).fetchone()[0]
            self.resources.update(table_bytes=size, shared_buffers_bytes=shared)
            if size < shared * 1.5:
                raise FaultInjectError(f"table {table} is only {size} bytes, not larger than shared_buffers ({shared})")
            self.resources["baseline"] = self.db_counters(conn)
        scanner = self.connect(max_parallel_workers_per_gather=0)
        self._thread = threading.Thread(target=self._loop, args=(scanner, ident), name=f"{self.id}-scans",
                                        daemon=True)
        self._thread.start()
        # Counters arrive up to a second late and the bulk insert's own (mostly hits) may land after the
        # baseline: wait until two full scans' worth of reads show, so the ratio reflects the scans.
        pages = size // 8192
        poll(lambda: self._loop_error or (self._scans >= 2 and self._hit_ratio()[2] >= 2 * pages),
             timeout=START_TIMEOUT, interval=0.1, what=f"two scans of {pages} pages showing in pg_stat_database")
        if self._loop_error:
            raise FaultInjectError(f"the scan loop failed: {self._loop_error}")

    def _loop(self, conn: psycopg.Connection, ident: sql.Identifier) -> None:
        """Bounded by max_scans, the max duration and the stop event."""
        deadline = time.monotonic() + self.max_duration
        query = sql.SQL("SELECT count(*) FROM {}").format(ident)
        try:
            while self._scans < self.max_scans and time.monotonic() < deadline and not self._stop.is_set():
                conn.execute(query)
                self._scans += 1
                self._stop.wait(self.interval_s)
        except psycopg.Error as exc:
            if not self._stop.is_set():
                self._loop_error = f"{type(exc).__name__}: {exc}"

    def _hit_ratio(self) -> tuple[float | None, int, int]:
        with self.admin() as conn:
            now = self.db_counters(conn)
        base = self.resources["baseline"]
        hit, read = now["blks_hit"] - base["blks_hit"], now["blks_read"] - base["blks_read"]
        return (hit / (hit + read) if hit + read else None), hit, read

    def _prove(self) -> tuple[str, dict[str, Any]]:
        ratio, hit, read = self._hit_ratio()
        alive = self._thread is not None and self._thread.is_alive()
        facts = {"table": self.resources.get("created_table"), "table_bytes": self.resources.get("table_bytes"),
                 "shared_buffers_bytes": self.resources.get("shared_buffers_bytes"), "scans": self._scans,
                 "scanning": alive, "blocks_hit": hit, "blocks_read": read,
                 "hit_ratio": None if ratio is None else round(ratio, 4), "max_hit_ratio": self.max_hit_ratio,
                 "loop_error": self._loop_error}
        if not alive:
            raise self.not_in_effect(f"the scan loop stopped after {self._scans} scans ({self._loop_error or 'ended'})",
                                     **facts)
        if ratio is None or read == 0:
            raise self.not_in_effect("no block reads counted yet since the fault started", **facts)
        if ratio >= self.max_hit_ratio:
            raise self.not_in_effect(f"hit ratio since the fault started is {ratio:.1%}, not below "
                                     f"{self.max_hit_ratio:.0%}", **facts)
        return (f"cache hit ratio since the fault started is {ratio:.1%} ({read} blocks read, {hit} hit, "
                f"{self._scans} scans)", facts)

    def _revert(self) -> str:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=20.0)
        return super()._revert()

    def _revert_more(self) -> list[str]:
        created = self.resources.get("created_table")
        dropped = self.drop_table(created) if created else None
        return [dropped] if dropped else []


class PgTransactionFlood(PostgresFault):
    """pgbench with ``clients`` connections running tiny transactions back to back.

    Each transaction is ``SELECT txid_current()``: it assigns a transaction id, and Postgres 15 then
    publishes the session's counters in pg_stat_database about once a second. A plain ``SELECT 1``
    flood from long-lived sessions was measured to stay invisible there until the sessions
    disconnect, so the alert could never see it (see docs/alerts.md, PostgreSQLQPS).
    """

    builds_up = True

    kind = "pg-transaction-flood"

    parameters = {"clients": Param(int, 4, low=1, high=32, help="pgbench clients"),
                  "min_tps": Param(float, 0.0, low=0, high=10_000_000, help="the rate prove() requires")}
    clients: int
    min_tps: float
    magnitude_metric = "pg_stat_database_xact_(commit|rollback)"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._proc: subprocess.Popen | None = None

    def _paths(self) -> tuple[Path, Path]:
        base = self.info.journal_dir
        return base / f"{self.id}.pgbench.sql", base / f"{self.id}.pgbench.log"

    def _inject(self) -> None:
        pgbench = resolve("pgbench")
        script, log = self._paths()
        params = conninfo_to_dict(self.dsn)
        self._journal_resources(script=str(script), log=str(log))
        script.write_text("SELECT txid_current();\n")
        with self.admin() as conn:
            self.resources["baseline"] = self.db_counters(conn)
        self.resources["baseline_at"] = time.time()
        argv = [pgbench, "-n", "-f", str(script), "-c", str(self.clients), "-j", str(min(self.clients, os.cpu_count()
                or 1)), "-T", str(math.ceil(self.max_duration)), "-P", "1", "-M", "prepared",
                "-h", str(params["host"]), "-p", str(params["port"]), "-U", str(params.get("user", "postgres")),
                str(params.get("dbname", "postgres"))]
        env = {**os.environ, "PGAPPNAME": self.application_name, "PGCONNECT_TIMEOUT": "5",
               "PGSSLMODE": str(params.get("sslmode", "disable"))}
        with open(log, "ab") as out:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          env=env, start_new_session=True)
        self._journal_resources(pgbench_pid=self._proc.pid, pgbench_ticks=process_start_ticks(self._proc.pid))
        poll(lambda: self._proc.poll() is not None or self._progress() is not None, timeout=START_TIMEOUT,
             interval=0.1, what="pgbench reporting progress")
        if self._proc.poll() is not None:
            raise FaultInjectError(f"pgbench exited with status {self._proc.returncode}: {log_tail(log, 5)}")

    def _progress(self) -> tuple[float, float] | None:
        """(elapsed s, tps) of pgbench's last progress line."""
        try:
            text = self._paths()[1].read_text(errors="replace")
        except FileNotFoundError:
            return None
        found = _PROGRESS.findall(text)
        return (float(found[-1][0]), float(found[-1][1])) if found else None

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.admin() as conn:
            now = self.db_counters(conn)
            sessions = len(self.fault_backends(conn))
        base = self.resources["baseline"]
        elapsed = max(time.time() - self.resources["baseline_at"], 1e-3)
        done = (now["xact_commit"] + now["xact_rollback"]) - (base["xact_commit"] + base["xact_rollback"])
        progress = self._progress()
        running = self._proc is not None and self._proc.poll() is None
        facts = {"pgbench_running": running, "pgbench_pid": self.resources.get("pgbench_pid"),
                 "sessions": sessions, "clients": self.clients,
                 "achieved_tps": progress[1] if progress else None,
                 "server_transactions_since_start": done, "server_tps_since_start": round(done / elapsed, 1),
                 "min_tps": self.min_tps}
        if not running:
            raise self.not_in_effect(f"pgbench is not running: {log_tail(self._paths()[1], 3)}", **facts)
        if done <= 0 or progress is None:
            raise self.not_in_effect("no transactions counted yet", **facts)
        if progress[1] < self.min_tps:
            raise self.not_in_effect(f"pgbench achieves {progress[1]:.0f} tps, below {self.min_tps:.0f}", **facts)
        return f"pgbench runs {progress[1]:.0f} transactions/s over {sessions} sessions", facts

    def _magnitudes(self, facts: dict[str, Any]) -> list[Magnitude]:
        """Transactions per second as pg_stat_database counts them (what the rule's rate() sees)."""
        return [Magnitude("transactions/s counted by pg_stat_database", facts["server_tps_since_start"], need)
                for need in self.needs]

    def _revert(self) -> str:
        stopped = self._stop_pgbench()
        summary = super()._revert()
        for path in self._paths():
            path.unlink(missing_ok=True)
        return f"{stopped}; {summary}"

    def _stop_pgbench(self) -> str:
        pid = self.resources.get("pgbench_pid")
        if pid is None:
            return "pgbench never started"
        if process_start_ticks(pid) != self.resources.get("pgbench_ticks"):
            return f"pgbench (pid {pid}) had already exited"
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return f"pgbench (pid {pid}) had already exited"
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pid, signal.SIGKILL)
                self._proc.wait(timeout=5)
        else:
            poll(lambda: process_start_ticks(pid) is None, timeout=10.0, what=f"pgbench pid {pid} exiting")
        return f"stopped pgbench (pid {pid})"
