"""The app under real gunicorn with 2 gthread workers, started exactly as the stack starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from apptest_support import Samples, free_port, parse_metrics, sample, wait_for
from prometheus_client.multiprocess import MultiProcessCollector

import alertdrill.stack.app as app_package
from alertdrill.stack.app.proctree import read_stat

if TYPE_CHECKING:
    from conftest import Backends

pytestmark = pytest.mark.timeout(180)

GUNICORN = Path(sys.executable).parent / "gunicorn"
GUNICORN_CONF = Path(app_package.__file__).parent / "gunicorn_conf.py"
BOOT_TIMEOUT_S = 15.0
# The requirement is < 2 s to answer /status: about 0.6 s on an idle host. Wall-clock bounds are not
# deterministic on a shared, loaded host (load average 15 seen here), so this one only catches
# start-up that blocks on the stores; create_app itself is held to 1 s in test_app_outages.
STARTUP_BOUND_S = 10.0
STOP_TIMEOUT_S = 15.0
WORKERS = 2


@dataclass
class Gunicorn:
    """A running gunicorn master, its URL and the files it writes."""

    proc: subprocess.Popen[bytes]
    url: str
    multiproc_dir: Path
    log_path: Path
    launched_at: float
    ready_at: float

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=10)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def booted_workers(self) -> int:
        """Workers that have built the app: each creates its live-gauge file when its metrics exist."""
        pids = self.worker_pids()
        return sum((self.multiproc_dir / f"gauge_livesum_{pid}.db").exists() for pid in pids)

    def scrape(self) -> Samples:
        response = self.get("/metrics")
        assert response.status_code == 200
        return parse_metrics(response.text)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: master and workers
                self.proc.wait(timeout=STOP_TIMEOUT_S)


StartGunicorn = Callable[[str, str], Gunicorn]


def gunicorn_env(database_url: str, redis_url: str, run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ALERTDRILL_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({
        "ALERTDRILL_DATABASE_URL": database_url,
        "ALERTDRILL_REDIS_URL": redis_url,
        "ALERTDRILL_APP_FAULT_FILE": str(run_dir / "fault.json"),
        "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "metrics"),
    })
    return env


def launch(run_dir: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """gunicorn -c gunicorn_conf.py --bind ... --workers 2 --threads 4 --worker-class gthread wsgi:app"""
    log = (run_dir / "gunicorn.log").open("ab")
    try:
        return subprocess.Popen(
            [str(GUNICORN), "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}",
             "--workers", str(WORKERS), "--threads", "4", "--worker-class", "gthread",
             "alertdrill.stack.app.wsgi:app"],
            env=env, cwd=run_dir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


@pytest.fixture
def start_gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartGunicorn]:
    """Start gunicorn against the given stores; every server started here is stopped at teardown."""
    started: list[Gunicorn] = []

    def start(database_url: str, redis_url: str) -> Gunicorn:
        run_dir = tmp_path_factory.mktemp("gunicorn")
        env = gunicorn_env(database_url, redis_url, run_dir)
        port = free_port()
        launched_at = time.time()
        proc = launch(run_dir, env, port)
        server = Gunicorn(proc, f"http://127.0.0.1:{port}", run_dir / "metrics",
                          run_dir / "gunicorn.log", launched_at, 0.0)
        started.append(server)

        def up() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}: {server.log_path.read_text()[-3000:]}")
            return server.get("/status").status_code == 200

        wait_for(up, BOOT_TIMEOUT_S, "gunicorn to answer /status")
        server.ready_at = time.time()
        wait_for(lambda: server.booted_workers() == WORKERS, BOOT_TIMEOUT_S, "both workers to load the app")
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def gunicorn(start_gunicorn: StartGunicorn, backends: Backends) -> Gunicorn:
    return start_gunicorn(backends.postgres.dsn, backends.redis.url)


def requests_per_worker(server: Gunicorn, endpoint: str) -> dict[int, float]:
    """http_requests_total for ``endpoint`` as each worker's own mmap file records it."""
    counts: dict[int, float] = {}
    for pid in server.worker_pids():
        path = server.multiproc_dir / f"counter_{pid}.db"
        if not path.exists():
            continue
        total = 0.0
        for family in MultiProcessCollector.merge([str(path)]):
            for s in family.samples:
                if s.name == "http_requests_total" and s.labels.get("endpoint") == endpoint:
                    total += s.value
        counts[pid] = total
    return counts


def test_starts_fast(gunicorn: Gunicorn) -> None:
    assert gunicorn.ready_at - gunicorn.launched_at < STARTUP_BOUND_S


def test_metrics_sum_the_requests_of_both_workers(gunicorn: Gunicorn) -> None:
    sent = 0

    def both_workers_served() -> bool:
        nonlocal sent
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda _: gunicorn.get("/helloworld").status_code, range(16)))
        assert codes == [200] * 16
        sent += len(codes)
        per_worker = requests_per_worker(gunicorn, "/helloworld")
        return len(per_worker) == WORKERS and all(count > 0 for count in per_worker.values())

    wait_for(both_workers_served, 30.0, "requests served by both workers")
    per_worker = requests_per_worker(gunicorn, "/helloworld")
    samples = gunicorn.scrape()
    total = sample(samples, "http_requests_total", method="GET", endpoint="/helloworld", status="200")
    assert total == sent == sum(per_worker.values())
    assert sample(samples, "http_request_duration_seconds_count", method="GET", endpoint="/helloworld") == sent
    assert sample(samples, "http_requests_in_flight") >= 0


def test_process_metrics_cover_the_master_and_both_workers(gunicorn: Gunicorn) -> None:
    tree = [gunicorn.proc.pid, *gunicorn.worker_pids()]
    stats_before = [read_stat(pid) for pid in tree]
    samples = gunicorn.scrape()
    stats_after = [read_stat(pid) for pid in tree]
    assert all(stats_before) and all(stats_after)

    assert sample(samples, "app_workers") == WORKERS
    rss = sample(samples, "app_process_resident_memory_bytes")
    low = sum(s.rss_bytes for s in stats_before if s) * 0.8
    high = sum(s.rss_bytes for s in stats_after if s) * 1.2
    assert low <= rss <= high
    biggest = max(s.rss_bytes for s in stats_after if s)
    assert rss > 2 * biggest * 0.9  # three processes summed, not one
    assert sample(samples, "app_process_cpu_seconds_total") >= sum(s.cpu_seconds for s in stats_before if s)
    start = sample(samples, "app_process_start_time_seconds")
    assert gunicorn.launched_at - 1.0 <= start <= gunicorn.ready_at + 1.0
    # No per-worker process_*/python_* series from prometheus_client's default collectors.
    assert not [name for name, _ in samples if name.startswith(("process_", "python_"))]


def test_fault_file_reaches_every_worker_and_the_errors_are_counted(gunicorn: Gunicorn) -> None:
    fault_file = gunicorn.multiproc_dir.parent / "fault.json"
    fault_file.write_text(json.dumps({"error_ratio": 1.0}))
    before = gunicorn.scrape()

    def all_fail() -> bool:
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda _: gunicorn.get("/items?limit=1").status_code, range(16)))
        return codes == [500] * 16

    wait_for(all_fail, 10.0, "every worker to inject errors")
    per_worker = requests_per_worker(gunicorn, "/items")
    after = gunicorn.scrape()
    failed = sample(after, "http_requests_total", method="GET", endpoint="/items", status="500") - sample(
        before, "http_requests_total", method="GET", endpoint="/items", status="500")
    assert failed >= 16
    assert failed <= sum(per_worker.values())
    assert gunicorn.get("/status").status_code == 200
    fault_file.unlink()
    wait_for(lambda: gunicorn.get("/items?limit=1").status_code == 200, 10.0, "the fault to clear")


def test_each_worker_holds_three_redis_connections(gunicorn: Gunicorn, backends: Backends) -> None:
    workers = gunicorn.worker_pids()

    def held() -> dict[str, int]:
        counts = backends.redis.clients_named("alertdrill-app-")
        return {name: n for name, n in counts.items() if int(name.rsplit("-", 1)[1]) in workers}

    wait_for(lambda: len(held()) == WORKERS and min(held().values()) >= 3, 10.0,
             "3 redis connections per worker")
    assert sum(held().values()) >= 6  # RedisNotEnoughConnections fires below 5


def test_a_replaced_worker_keeps_counters_and_drops_its_live_gauges(gunicorn: Gunicorn) -> None:
    for _ in range(10):
        assert gunicorn.get("/status").status_code == 200
    before = gunicorn.scrape()
    victim = gunicorn.worker_pids()[0]
    assert (gunicorn.multiproc_dir / f"gauge_livesum_{victim}.db").exists()

    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in gunicorn.worker_pids() and len(gunicorn.worker_pids()) == WORKERS,
             BOOT_TIMEOUT_S, "gunicorn to replace the killed worker")
    wait_for(lambda: gunicorn.booted_workers() == WORKERS, BOOT_TIMEOUT_S, "the new worker to load the app")

    assert not (gunicorn.multiproc_dir / f"gauge_livesum_{victim}.db").exists()
    after = gunicorn.scrape()
    labels = {"method": "GET", "endpoint": "/status", "status": "200"}
    assert sample(after, "http_requests_total", **labels) >= sample(before, "http_requests_total", **labels)
    assert sample(after, "app_workers") == WORKERS
    assert sample(after, "app_process_cpu_seconds_total") >= sample(before, "app_process_cpu_seconds_total")


def test_starts_and_serves_503_while_the_stores_are_unreachable(start_gunicorn: StartGunicorn) -> None:
    server = start_gunicorn(f"postgresql://nobody@127.0.0.1:{free_port()}/none",
                            f"redis://127.0.0.1:{free_port()}/0")
    assert server.ready_at - server.launched_at < STARTUP_BOUND_S
    ready = server.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["dependencies"] == ["postgres", "redis"]
    hello = server.get("/helloworld")
    assert hello.status_code == 503
    assert hello.json()["dependencies"] == ["redis", "postgres"]


def test_missing_environment_stops_gunicorn_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ALERTDRILL_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    proc = launch(tmp_path, env, free_port())
    try:
        returncode = proc.wait(timeout=BOOT_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT_S)
    output = (tmp_path / "gunicorn.log").read_text()
    assert returncode != 0
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "ALERTDRILL_DATABASE_URL is not set" in line]
    assert len(lines) == 1
    assert "ALERTDRILL_REDIS_URL is not set" in lines[0]
