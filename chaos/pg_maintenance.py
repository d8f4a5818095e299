"""Maintenance and monitoring faults on Postgres: an unvacuumed table, a broken exporter grant.

Dead tuples: autovacuum is switched off for one table (reloptions) and rows are updated so the dead
tuples exceed autovacuum's own trigger point, which the exporter exposes per table. By default the
table is the fault's own (dropped on revert); with ``table`` an existing table gets the treatment,
its reloptions are restored exactly and it is vacuumed on revert.

Exporter error: the exporter role loses USAGE on the ``monitoring`` schema that its custom queries
read, so those queries fail (pg_exporter_last_scrape_error = 1) while its connection still works
(pg_up = 1). Revert grants the privilege back.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from alertdrill.errors import ConfigError, FaultInjectError

from .base import poll
from .params import Param
from .pgbase import PostgresFault, check_table, qualified_table

__all__ = ["PgDeadTuples", "PgExporterError"]

FLUSH_TIMEOUT = 10.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _check_name(what: str, value: str) -> None:
    if not _NAME.match(value):
        raise ConfigError(f"{what} must be a plain identifier (letters, digits, _), got {value!r}")

_THRESHOLD_SQL = """
SELECT s.n_dead_tup, s.n_live_tup,
       current_setting('autovacuum_vacuum_threshold')::float8
         + current_setting('autovacuum_vacuum_scale_factor')::float8 * s.n_live_tup,
       s.last_vacuum, s.last_autovacuum, c.reloptions
  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
 WHERE s.relid = to_regclass(%s)
"""


class PgDeadTuples(PostgresFault):
    """A table with autovacuum disabled and ``factor`` times autovacuum's threshold in dead tuples."""

    builds_up = True

    kind = "pg-dead-tuples"

    parameters = {
        "table": Param(str, None, check=check_table, help="an existing table (default: one of the fault's own)"),
        "rows": Param(int, 5000, low=100, high=1_000_000, help="rows written before they are deleted"),
        "factor": Param(float, 2.0, low=1.1, high=100, help="dead tuples as a multiple of autovacuum's threshold"),
        "max_rounds": Param(int, 200, low=1, high=10_000, help="bound on the delete rounds"),
    }
    table: str | None
    rows: int
    factor: float
    max_rounds: int

    def target(self) -> dict[str, Any]:
        return {**super().target(), "table": self.table or "(own table)"}

    def _name(self) -> str:
        return self.table or self.chaos_table()

    def _read_original(self) -> dict[str, Any]:
        if self.table is None:
            return {}
        with self.admin() as conn:
            row = conn.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", (self.table,)).fetchone()
        if row is None:
            raise FaultInjectError(f"table {self.table!r} does not exist in {self.dsn}")
        return {"reloptions": row[0]}

    def _stats(self, conn: psycopg.Connection) -> dict[str, Any]:
        row = conn.execute(_THRESHOLD_SQL, (self._name(),)).fetchone()
        if row is None:
            return {}
        return {"dead_tuples": int(row[0]), "live_tuples": int(row[1]), "autovacuum_threshold": float(row[2]),
                "last_vacuum": row[3] and row[3].isoformat(), "last_autovacuum": row[4] and row[4].isoformat(),
                "reloptions": row[5] or []}

    def _inject(self) -> None:
        name = self._name()
        ident = qualified_table(name)
        with self.admin() as conn:
            if self.table is None:
                self._journal_resources(created_table=name)
                conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false)"
                                     ).format(ident))
                conn.execute(sql.SQL("INSERT INTO {} SELECT g, 0 FROM generate_series(1, %s) g").format(ident),
                             (self.rows,))
                column = sql.Identifier("v")
            else:
                self.require_superuser(conn)
                conn.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(ident))
                column = self._any_column(conn, name)
            live = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()[0]
            if live == 0:
                raise FaultInjectError(f"table {name} has no rows to update, so no dead tuples can be made")
            threshold = float(self.setting(conn, "autovacuum_vacuum_threshold")) + float(
                self.setting(conn, "autovacuum_vacuum_scale_factor")) * live
            rounds = min(self.max_rounds, max(1, -(-int(threshold * self.factor) // live)))
            if rounds * live <= threshold:
                raise FaultInjectError(f"{self.max_rounds} updates of {live} rows stay below autovacuum's threshold "
                                       f"({threshold:.0f}); raise max_rounds")
            update = sql.SQL("UPDATE {} SET {} = {}").format(ident, column, column)
            for _ in range(rounds):  # bounded by max_rounds
                conn.execute(update)
            self.resources.update(expected_dead=rounds * live, threshold_at_inject=threshold)
            poll(lambda: self._stats(conn).get("dead_tuples", 0) > threshold, timeout=FLUSH_TIMEOUT, interval=0.1,
                 what=f"n_dead_tup of {name} above {threshold:.0f}")

    @staticmethod
    def _any_column(conn: psycopg.Connection, name: str) -> sql.Identifier:
        row = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped"
            " AND attgenerated = '' AND attidentity = '' ORDER BY attnum LIMIT 1", (name,)).fetchone()
        if row is None:
            raise FaultInjectError(f"table {name} has no column that can be updated in place")
        return sql.Identifier(row[0])

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.admin() as conn:
            stats = self._stats(conn)
        facts = {"table": self._name(), **stats}
        if not stats:
            raise self.not_in_effect(f"table {self._name()} is gone", **facts)
        if "autovacuum_enabled=false" not in stats["reloptions"]:
            raise self.not_in_effect(f"autovacuum is not disabled on {self._name()} ({stats['reloptions']})", **facts)
        if stats["dead_tuples"] <= stats["autovacuum_threshold"]:
            raise self.not_in_effect(f"{stats['dead_tuples']} dead tuples, not above autovacuum's threshold "
                                     f"{stats['autovacuum_threshold']:.0f}", **facts)
        return (f"{self._name()}: {stats['dead_tuples']} dead tuples > threshold {stats['autovacuum_threshold']:.0f}, "
                "autovacuum disabled", facts)

    def _revert_more(self) -> list[str]:
        created = self.resources.get("created_table")
        if created:
            dropped = self.drop_table(created)
            return [dropped] if dropped else []
        if self.table is None:
            return []
        ident = qualified_table(self.table)
        original = self.original.get("reloptions") or []
        with self.admin() as conn:
            if conn.execute("SELECT to_regclass(%s) IS NULL", (self.table,)).fetchone()[0]:
                return [f"table {self.table} no longer exists"]
            conn.execute(sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(ident))
            for option in original:
                key, _, value = option.partition("=")
                if key == "autovacuum_enabled":
                    conn.execute(sql.SQL("ALTER TABLE {} SET ({} = {})").format(
                        ident, sql.Identifier(key), sql.Literal(value)))
            conn.execute(sql.SQL("VACUUM {}").format(ident))
            now = conn.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", (self.table,)
                               ).fetchone()[0]
        return [f"reloptions of {self.table} restored to {now or []}; vacuumed"]


class PgExporterError(PostgresFault):
    """REVOKE USAGE ON SCHEMA ``schema`` FROM ``role``: the exporter's custom queries fail."""

    kind = "pg-exporter-error"

    parameters = {"role": Param(str, "postgres_exporter", check=_check_name, help="the exporter's role"),
                  "schema": Param(str, "monitoring", check=_check_name, help="the schema of its custom queries")}
    role: str
    schema: str

    def target(self) -> dict[str, Any]:
        return {**super().target(), "role": self.role, "schema": self.schema}

    def _usage(self, conn: psycopg.Connection) -> bool:
        return bool(conn.execute("SELECT has_schema_privilege(%s, %s, 'USAGE')", (self.role, self.schema)
                                 ).fetchone()[0])

    def _read_original(self) -> dict[str, Any]:
        with self.admin() as conn:
            exists = conn.execute("SELECT to_regnamespace(%s) IS NOT NULL AND to_regrole(%s) IS NOT NULL",
                                  (self.schema, self.role)).fetchone()[0]
            if not exists:
                raise FaultInjectError(f"schema {self.schema!r} or role {self.role!r} does not exist in {self.dsn}")
            acl = conn.execute("SELECT nspacl::text[] FROM pg_namespace WHERE nspname = %s", (self.schema,)
                               ).fetchone()[0]
            return {"usage": self._usage(conn), "nspacl": acl}

    def _inject(self) -> None:
        if not self.original["usage"]:
            raise FaultInjectError(f"role {self.role} already cannot use schema {self.schema}; nothing to revoke")
        with self.admin() as conn:
            self.require_superuser(conn)
            conn.execute(sql.SQL("REVOKE USAGE ON SCHEMA {} FROM {}").format(
                sql.Identifier(self.schema), sql.Identifier(self.role)))

    def _prove(self) -> tuple[str, dict[str, Any]]:
        with self.admin() as conn:
            usage = self._usage(conn)
            query_error = connect_error = None
            with conn.transaction(force_rollback=True):
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(self.role)))
                try:
                    conn.execute("SELECT 1")
                except psycopg.Error as exc:
                    connect_error = str(exc).strip()
                try:
                    with conn.transaction():
                        conn.execute(sql.SQL("SELECT * FROM {}.{} LIMIT 1").format(
                            sql.Identifier(self.schema), sql.Identifier(self._a_view(conn))))
                except psycopg.errors.InsufficientPrivilege as exc:
                    query_error = str(exc).strip()
        facts = {"role": self.role, "schema": self.schema, "usage": usage, "query_error": query_error,
                 "role_can_still_query": connect_error is None}
        if usage or query_error is None:
            raise self.not_in_effect(f"{self.role} can still read schema {self.schema}", **facts)
        return f"{self.role} lost USAGE on {self.schema}: {query_error}", facts

    def _a_view(self, conn: psycopg.Connection) -> str:
        row = conn.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                           " WHERE n.nspname = %s AND c.relkind IN ('r', 'v') ORDER BY 1 LIMIT 1",
                           (self.schema,)).fetchone()
        return row[0] if row else "missing"

    def _revert_more(self) -> list[str]:
        with self.admin() as conn:
            if self.original.get("usage") and not self._usage(conn):
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(self.schema), sql.Identifier(self.role)))
                return [f"granted USAGE on {self.schema} to {self.role} again"]
        return [f"{self.role} already has USAGE on {self.schema}"]
