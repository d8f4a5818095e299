"""Helpers for the chaos tests: a stack-less fake backend, direct probes of Postgres, Redis and exporters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from alertdrill.stack.process import ProcessSpec, RunningProcess, process_start_ticks
from alertdrill.stack.state import StackInfo

CHAOS_PREFIX = "alertdrill-chaos:"


def fake_info(run_dir: Path, *, with_self_as: str | None = None) -> StackInfo:
    """A StackInfo with made-up ports; ``with_self_as`` makes this test process one 'component'."""
    ports = {"postgres": 15432, "redis": 16379, "app": 18000, "prometheus": 19090, "sink": 19091,
             "alertmanager": 19093, "postgres_exporter": 19187, "redis_exporter": 19121}
    info = StackInfo(
        name="unit", run_dir=str(run_dir), backend="native", prometheus_url="http://127.0.0.1:19090",
        alertmanager_url="http://127.0.0.1:19093", app_url="http://127.0.0.1:18000", sink_url="http://127.0.0.1:19091",
        postgres_dsn="postgresql://postgres@127.0.0.1:15432/alertdrill?sslmode=disable",
        app_postgres_dsn="postgresql://alertdrill_app@127.0.0.1:15432/alertdrill?sslmode=disable",
        exporter_postgres_dsn="postgresql://postgres_exporter@127.0.0.1:15432/alertdrill?sslmode=disable",
        redis_url="redis://127.0.0.1:16379/0", time_scale=60.0, ports=ports,
    )
    if with_self_as:
        spec = ProcessSpec(name=with_self_as, argv=["pytest"], log=os.devnull)
        info.processes[with_self_as] = RunningProcess(spec, os.getpid(), process_start_ticks(os.getpid()) or -1)
    return info


class FakeBackend:
    """Satisfies the Backend protocol without a stack; every service action is refused loudly."""

    def __init__(self, info: StackInfo) -> None:
        self.info = info

    def process(self, component: str) -> RunningProcess:
        return self.info.processes[component]

    def stop_component(self, component: str, *, kill: bool = False) -> None:
        raise AssertionError("a unit test must not stop anything")

    def pause_component(self, component: str) -> None:
        raise AssertionError("a unit test must not pause anything")

    def resume_component(self, component: str) -> None:
        raise AssertionError("a unit test must not resume anything")

    def start_component(self, component: str, *, timeout: float = 30.0) -> RunningProcess:
        raise AssertionError("a unit test must not start anything")

    def is_running(self) -> bool:
        return False


@contextmanager
def pg(info: StackInfo) -> Iterator[psycopg.Connection]:
    with psycopg.connect(info.postgres_dsn, autocommit=True, connect_timeout=5,
                         application_name="alertdrill-chaos-tests") as conn:
        yield conn


@contextmanager
def rds(info: StackInfo) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(info.redis_url, socket_timeout=5, decode_responses=True)
    try:
        yield client
    finally:
        client.close()


def exporter_samples(info: StackInfo, component: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample an exporter serves right now (a scrape of our own)."""
    text = requests.get(f"http://127.0.0.1:{info.ports[component]}/metrics", timeout=10).text
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def sample(info: StackInfo, component: str, name: str, **labels: str) -> list[float]:
    return [v for n, lab, v in exporter_samples(info, component)
            if n == name and all(lab.get(k) == val for k, val in labels.items())]


def leftovers(info: StackInfo) -> dict[str, Any]:
    """Everything a fault could leave behind; empty lists when the stack is clean."""
    with pg(info) as conn:
        sessions = [r[0] for r in conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE %s", (CHAOS_PREFIX + "%",))]
        tables = [r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE relname LIKE 'alertdrill_chaos_%'")]
    with rds(info) as client:
        clients = [c["name"] for c in client.client_list() if c.get("name", "").startswith(CHAOS_PREFIX)]
        keys = list(client.scan_iter(match=CHAOS_PREFIX + "*", count=1000))
    return {
        "journal": sorted(p.name for p in info.journal_dir.glob("*")),
        "pg_sessions": sessions,
        "pg_tables": tables,
        "redis_clients": clients,
        "redis_keys": keys[:5],
        "app_fault_file": info.fault_file.exists(),
    }


CLEAN = {"journal": [], "pg_sessions": [], "pg_tables": [], "redis_clients": [], "redis_keys": [],
         "app_fault_file": False}
