"""The provisioned Grafana dashboards, checked without Grafana: shape, datasource, and seed coverage."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml
from grafanatest_support import (
    DATASOURCE_FILE,
    GRAFANA_DIR,
    VARIABLES,
    dashboards,
    metric_names,
    panels,
    queries,
    variables_used,
)

#: Every metric the two seed documents name -> (dashboard, panel title, metric the panel must query).
#: seeds/flask-app-with-monitoring.md ("flask") and seeds/sre-challenge-grafana-alerts.md ("grafana").
SEED_METRICS = [
    ("flask: API requests per second", "api", "Requests per second", "http_requests_total"),
    ("flask: API errors per second", "api", "Errors per second", "http_requests_total"),
    ("flask: API CPU usage", "api", "CPU usage", "app_process_cpu_seconds_total"),
    ("flask: API memory usage", "api", "Memory usage", "app_process_resident_memory_bytes"),
    ("flask: API uptime", "api", "Uptime", "app_process_start_time_seconds"),
    ("flask: API request duration", "api", "Request duration (percentiles)", "http_request_duration_seconds_bucket"),
    ("flask: API average latency", "api", "Average latency", "http_request_duration_seconds_sum"),
    ("flask: API maximum latency", "api", "Maximum latency", "http_request_duration_max_seconds"),
    ("flask: Redis hit/miss rate", "redis", "Hit and miss rate", "redis_keyspace_misses_total"),
    ("flask: Redis disk I/O", "redis", "Disk I/O (persistence)", "redis_rdb_changes_since_last_save"),
    ("flask: Redis CPU usage", "redis", "CPU usage", "redis_cpu_sys_seconds_total"),
    ("flask: Redis memory usage", "redis", "Total memory usage", "redis_memory_used_bytes"),
    ("flask: Postgres file I/O reads", "postgres", "Database file I/O", "pg_stat_database_blks_read"),
    ("flask: Postgres file I/O writes", "postgres", "Database file I/O", "pg_stat_bgwriter_buffers_checkpoint_total"),
    ("flask: Postgres hit/miss ratio", "postgres", "Cache hit rate", "pg_stat_database_blks_hit"),
    ("flask: Postgres open connections", "postgres", "Active sessions", "pg_stat_activity_count"),
    ("flask: Postgres closed connections", "postgres", "Sessions opened and closed", "pg_stat_database_sessions"),
    ("flask: Postgres locks", "postgres", "Lock tables", "pg_locks_count"),
    ("flask: Postgres blocks", "postgres", "Longest transaction (blocking)", "pg_stat_activity_max_tx_duration"),
    ("flask: Postgres memory", "postgres", "Memory usage (postgres_exporter process only)",
     "process_resident_memory_bytes"),
    ("flask: Postgres CPU", "postgres", "CPU usage (postgres_exporter process only)", "process_cpu_seconds_total"),
    ("grafana: Postgres average CPU usage", "postgres", "CPU usage (postgres_exporter process only)",
     "process_cpu_seconds_total"),
    ("grafana: Postgres resident memory", "postgres", "Memory usage (postgres_exporter process only)",
     "process_resident_memory_bytes"),
    ("grafana: Postgres virtual memory", "postgres", "Memory usage (postgres_exporter process only)",
     "process_virtual_memory_bytes"),
    ("grafana: Postgres open file descriptors", "postgres", "Open file descriptors (postgres_exporter process only)",
     "process_open_fds"),
    ("grafana: Postgres active sessions", "postgres", "Active sessions", "pg_stat_activity_count"),
    ("grafana: Postgres commits", "postgres", "Transactions", "pg_stat_database_xact_commit"),
    ("grafana: Postgres rollbacks", "postgres", "Transactions", "pg_stat_database_xact_rollback"),
    ("grafana: Postgres update data", "postgres", "Update data", "pg_stat_database_tup_updated"),
    ("grafana: Postgres fetch data", "postgres", "Fetch data (SELECT)", "pg_stat_database_tup_fetched"),
    ("grafana: Postgres insert data", "postgres", "Insert data", "pg_stat_database_tup_inserted"),
    ("grafana: Postgres lock tables", "postgres", "Lock tables", "pg_locks_count"),
    ("grafana: Postgres return data", "postgres", "Return data", "pg_stat_database_tup_returned"),
    ("grafana: Postgres idle sessions", "postgres", "Idle sessions", "pg_stat_activity_count"),
    ("grafana: Postgres delete data", "postgres", "Delete data", "pg_stat_database_tup_deleted"),
    ("grafana: Postgres cache hit rate", "postgres", "Cache hit rate", "pg_stat_database_blks_hit"),
    ("grafana: bgwriter buffers_backend", "postgres", "Buffers (bgwriter)", "pg_stat_bgwriter_buffers_backend_total"),
    ("grafana: bgwriter buffers_alloc", "postgres", "Buffers (bgwriter)", "pg_stat_bgwriter_buffers_alloc_total"),
    ("grafana: bgwriter backend_fsync", "postgres", "Buffers (bgwriter)",
     "pg_stat_bgwriter_buffers_backend_fsync_total"),
    ("grafana: bgwriter buffers_checkpoint", "postgres", "Buffers (bgwriter)",
     "pg_stat_bgwriter_buffers_checkpoint_total"),
    ("grafana: bgwriter buffers_clean", "postgres", "Buffers (bgwriter)", "pg_stat_bgwriter_buffers_clean_total"),
    ("grafana: Postgres conflicts", "postgres", "Conflicts and deadlocks", "pg_stat_database_conflicts"),
    ("grafana: Postgres deadlocks", "postgres", "Conflicts and deadlocks", "pg_stat_database_deadlocks"),
    ("grafana: Postgres temp file bytes", "postgres", "Temp file bytes", "pg_stat_database_temp_bytes"),
    ("grafana: checkpoint write_time", "postgres", "Checkpoint stats", "pg_stat_bgwriter_checkpoint_write_time_total"),
    ("grafana: checkpoint sync_time", "postgres", "Checkpoint stats", "pg_stat_bgwriter_checkpoint_sync_time_total"),
    ("grafana: Redis commands per second", "redis", "Commands per second", "redis_commands_total"),
    ("grafana: Redis command latency", "redis", "Command latency", "redis_commands_duration_seconds_total"),
    ("grafana: Redis hit ratio per instance", "redis", "Hit ratio", "redis_keyspace_hits_total"),
    ("grafana: Redis used memory", "redis", "Total memory usage", "redis_memory_used_bytes"),
    ("grafana: Redis max memory", "redis", "Total memory usage", "redis_memory_max_bytes"),
    ("grafana: Redis RSS memory", "redis", "Total memory usage", "redis_memory_used_rss_bytes"),
    ("grafana: Redis fragmentation ratio", "redis", "Memory fragmentation ratio", "redis_mem_fragmentation_ratio"),
    ("grafana: Redis key evictions per second", "redis", "Key evictions per second", "redis_evicted_keys_total"),
    ("grafana: Redis connected clients", "redis", "Connected and blocked clients", "redis_connected_clients"),
    ("grafana: Redis blocked clients", "redis", "Connected and blocked clients", "redis_blocked_clients"),
]

#: Panels for seed metrics that the exporters do not provide: the description must say so.
NOT_EXPORTED = [
    ("postgres", "CPU usage (postgres_exporter process only)"),
    ("postgres", "Memory usage (postgres_exporter process only)"),
    ("postgres", "Open file descriptors (postgres_exporter process only)"),
    ("postgres", "Longest transaction (blocking)"),
    ("redis", "Disk I/O (persistence)"),
]


def _panel(board: str, title: str) -> dict:
    matches = [p for p in panels(dashboards()[board]) if p["title"] == title]
    assert len(matches) == 1, f"dashboard {board} has {len(matches)} panels titled {title!r}"
    return matches[0]


def test_the_four_dashboards_exist_with_unique_uids():
    boards = dashboards()
    assert set(boards) == {"api", "redis", "postgres", "alerts"}
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids)
    for name, board in boards.items():
        assert board["title"].startswith("alertdrill / "), name
        assert "alertdrill" in board["tags"], name


def test_panels_are_well_formed():
    for name, board in dashboards().items():
        ids = Counter(p["id"] for p in panels(board))
        assert all(count == 1 for count in ids.values()), f"{name}: duplicate panel ids {ids}"
        titles = Counter(p["title"] for p in panels(board))
        assert all(count == 1 for count in titles.values()), f"{name}: duplicate titles {titles}"
        for panel in panels(board):
            where = f"{name}/{panel['title']}"
            assert panel.get("description"), f"{where}: say what the panel shows and why"
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, where
            if panel["type"] in ("row", "text", "alertlist"):
                continue
            refs = [t["refId"] for t in panel["targets"]]
            assert refs and len(set(refs)) == len(refs), where
            assert all(t["expr"].strip() for t in panel["targets"]), where


def test_every_panel_uses_the_provisioned_datasource():
    provisioned = yaml.safe_load(DATASOURCE_FILE.read_text())["datasources"]
    assert [(d["uid"], d["type"], d["url"]) for d in provisioned] == [
        ("prometheus", "prometheus", "http://prometheus:9090")]
    for name, board in dashboards().items():
        for panel in panels(board):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, f"{name}/{panel['title']}"
            for target in panel.get("targets", []):
                assert target["datasource"] == panel["datasource"], f"{name}/{panel['title']}"


def test_queries_use_only_grafana_interval_variables():
    for query in queries():
        unknown = variables_used(query.expr) - set(VARIABLES)
        assert not unknown, f"{query.id}: variables {unknown} are not defined (no templating in these dashboards)"


@pytest.mark.parametrize("seed,board,title,metric", SEED_METRICS, ids=[s[0] for s in SEED_METRICS])
def test_every_seed_metric_is_on_a_dashboard(seed, board, title, metric):
    panel = _panel(board, title)
    used = set().union(*(metric_names(t["expr"]) for t in panel["targets"]))
    assert metric in used, f"{seed}: panel {board}/{title} should query {metric}, queries {sorted(used)}"


@pytest.mark.parametrize("board,title", NOT_EXPORTED)
def test_panels_for_unexported_metrics_say_so(board, title):
    description = _panel(board, title)["description"]
    assert re.search(r"does not (export|count)|exports no", description), f"{board}/{title}: {description}"
    assert re.search(r"add|custom query", description), f"{board}/{title}: propose how to get the metric"


def test_exporter_process_series_are_labelled_as_such():
    for query in queries():
        if "process_" in query.expr and 'job="postgres"' in query.expr:
            board = dashboards()[query.dashboard]
            (target,) = [t for p in panels(board) if p["title"] == query.panel for t in p["targets"]
                         if t["refId"] == query.ref]
            assert "exporter" in target["legendFormat"], f"{query.id}: label the exporter's own process series"


def test_provisioning_points_at_the_dashboard_folder():
    providers = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "alertdrill.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_promql_helpers_find_metrics_and_range_function_arguments():
    from grafanatest_support import outside_range_functions, range_function_arguments

    expr = ('sum by (le) (rate(http_request_duration_seconds_bucket{job="app", endpoint!="/metrics"}[1m])) '
            '/ on (instance) group_left max(redis_connected_clients) or vector(0)')
    assert metric_names(expr) == {"http_request_duration_seconds_bucket", "redis_connected_clients"}
    assert range_function_arguments(expr) == [
        ("rate", 'http_request_duration_seconds_bucket{job="app", endpoint!="/metrics"}[1m]')]
    assert metric_names(outside_range_functions(expr)) == {"redis_connected_clients"}
    assert metric_names('increase(irate(x_total[5m])[1h:]) + time() - 0.95 * histogram_quantile(0.5, y)') == {
        "x_total", "y"}
