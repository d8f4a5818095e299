"""Postgres faults on the real stack: each proven, seen by postgres_exporter where an alert reads it, reverted."""

from __future__ import annotations

import psycopg
import pytest
from chaostest_support import pg, sample

from alertdrill.errors import FaultInjectError
from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration


def _exporter_connection_percent(info) -> float:
    used = sum(sample(info, "postgres_exporter", "pg_stat_activity_count"))
    return 100.0 * used / sample(info, "postgres_exporter", "pg_settings_max_connections")[0]


@pytest.mark.parametrize(("fraction", "low", "high"), [(0.8, 70, 90), (0.94, 90, 100)])
def test_connection_hold_lands_the_alerts_ratio_in_the_asked_band(faults, stack_info, fraction, low, high):
    with faults.build("pg-connections", fraction=fraction) as fault:
        evidence = fault.prove()
        assert low < evidence.facts["percent_in_use"] <= high
        assert evidence.facts["held"] == evidence.facts["expected_held"] > 0
        # What PostgresHighConnectionCount computes, from the exporter's own scrape.
        assert low < _exporter_connection_percent(stack_info) <= high
        if fraction > 0.9:  # only the superuser-reserved slots are left: others are refused, superusers are not
            with pytest.raises(psycopg.OperationalError, match="reserved"):
                psycopg.connect(stack_info.app_postgres_dsn, connect_timeout=5).close()
            with pg(stack_info) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    ok, last = poll_until(lambda: _exporter_connection_percent(stack_info), timeout=5, interval=0.1,
                          accept=lambda pct: pct < 50)
    assert ok, f"connections still at {last}%"


def test_connection_hold_refuses_to_take_the_superuser_reserved_slots(faults):
    with pytest.raises(FaultInjectError, match=r"only 47 are not reserved for superusers; use a fraction <= 0\.94"):
        faults.build("pg-connections", fraction=0.98).inject()


def test_slow_queries_age_past_the_threshold_and_the_exporter_lists_them(faults, stack_info):
    with faults.build("pg-slow-queries", sessions=3, min_age_s=1.2) as fault:
        evidence = fault.wait_until_proven(timeout=10)
        assert evidence.facts["active_queries"] == 3 and min(evidence.facts["ages_s"]) > 1.2
        ages = [v for v in sample(stack_info, "postgres_exporter", "pg_long_running_query_seconds") if v > 1.0]
        assert len(ages) >= 3  # count(pg_long_running_query_seconds > T) >= 3 with T below these ages


@pytest.mark.parametrize("table", [None, "items"])
def test_lock_contention_holds_access_exclusive_while_sessions_wait(faults, stack_info, table):
    with faults.build("pg-lock-contention", waiters=3, table=table) as fault:
        evidence = fault.prove()
        assert evidence.facts["holder_pids"] and len(evidence.facts["waiting"]) >= 3
    with pg(stack_info) as conn:
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] == 0


def test_cache_misses_drive_the_hit_ratio_well_below_98_percent(faults):
    with faults.build("pg-cache-misses") as fault:
        evidence = fault.prove()
        facts = evidence.facts
        assert facts["table_bytes"] > 1.5 * facts["shared_buffers_bytes"] and facts["scans"] >= 2
        assert facts["hit_ratio"] < 0.9
    print(evidence.summary)


def test_transaction_flood_reports_the_achieved_rate(faults):
    with faults.build("pg-transaction-flood", clients=4) as fault:
        evidence = fault.prove()
        assert evidence.facts["pgbench_running"] and evidence.facts["achieved_tps"] > 0
        assert evidence.facts["server_transactions_since_start"] > 0
    print(evidence.summary)


def test_dead_tuples_in_an_unvacuumed_table_of_its_own(faults, stack_info):
    with faults.build("pg-dead-tuples", rows=2000) as fault:
        evidence = fault.prove()
        table = evidence.facts["table"]
        assert evidence.facts["dead_tuples"] > evidence.facts["autovacuum_threshold"]
        dead = sample(stack_info, "postgres_exporter", "pg_table_vacuum_dead_tuples", relname=table)
        threshold = sample(stack_info, "postgres_exporter", "pg_table_vacuum_autovacuum_threshold", relname=table)
        assert dead and threshold and dead[0] > threshold[0]


def test_dead_tuples_on_an_existing_table_restore_its_reloptions_exactly(faults, stack_info):
    with pg(stack_info) as conn:
        conn.execute("INSERT INTO items (name, value) SELECT 'chaos-test', g FROM generate_series(1, 200) g")
        conn.execute("ALTER TABLE items SET (fillfactor = 90, autovacuum_enabled = true)")
        before = conn.execute("SELECT reloptions FROM pg_class WHERE oid = 'items'::regclass").fetchone()[0]
    try:
        with faults.build("pg-dead-tuples", table="items") as fault:
            evidence = fault.prove()
            assert "autovacuum_enabled=false" in evidence.facts["reloptions"]
            assert "fillfactor=90" in evidence.facts["reloptions"]
        with pg(stack_info) as conn:
            after = conn.execute("SELECT reloptions FROM pg_class WHERE oid = 'items'::regclass").fetchone()[0]
            dead = conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'items'").fetchone()[0]
        assert after == before == ["fillfactor=90", "autovacuum_enabled=true"]
        assert dead < evidence.facts["dead_tuples"]  # revert vacuumed
    finally:
        with pg(stack_info) as conn:
            conn.execute("DELETE FROM items WHERE name = 'chaos-test'")
            conn.execute("ALTER TABLE items RESET (fillfactor, autovacuum_enabled)")


def test_deadlocks_and_rollbacks_move_their_counters(faults):
    with faults.build("pg-deadlocks", count=2) as fault:
        evidence = fault.prove()
        assert evidence.facts["increase"] >= 2 == evidence.facts["caused"]
    with faults.build("pg-rollbacks", count=300) as fault:
        evidence = fault.prove()
        assert evidence.facts["increase"] >= 300


def test_exporter_error_breaks_its_queries_but_not_its_connection(faults, stack_info):
    def acl() -> list[str]:
        with pg(stack_info) as conn:
            return conn.execute("SELECT nspacl::text[] FROM pg_namespace WHERE nspname = 'monitoring'").fetchone()[0]

    before = acl()
    with faults.build("pg-exporter-error") as fault:
        evidence = fault.prove()
        assert evidence.facts["usage"] is False and "permission denied" in evidence.facts["query_error"]
        # The alert's own inputs, from a scrape of ours: queries fail, the connection does not.
        assert sample(stack_info, "postgres_exporter", "pg_exporter_last_scrape_error") == [1.0]
        assert sample(stack_info, "postgres_exporter", "pg_up") == [1.0]
    assert acl() == before
    assert sample(stack_info, "postgres_exporter", "pg_exporter_last_scrape_error") == [0.0]
