"""Short real runs of every profile against the session's native stack, local and distributed."""

from __future__ import annotations

import json
import os
import signal

import psycopg
import pytest

from alertdrill.errors import LoadError
from alertdrill.locustfiles import LoadOptions, LostWritesError, read_ledger
from alertdrill.locustfiles.csvstats import user_counts
from alertdrill.locustfiles.process import LocustProcesses
from alertdrill.locustfiles.results import Artifacts
from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration

STEADY_ENDPOINTS = {"GET /helloworld", "GET /status", "GET /items/[id]", "GET /items?limit", "POST /items"}


def wait_for_requests(load, since: str, at_least: int, timeout: float = 10.0) -> None:
    ok, stats = poll_until(lambda: load.window(since), timeout=timeout, interval=0.2,
                           accept=lambda w: w.requests >= at_least)
    assert ok, f"fewer than {at_least} requests since {since!r} within {timeout} s: {stats and stats.requests}"


def rows_in_postgres(dsn: str, ids: list[int]) -> set[int]:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM items WHERE id = ANY(%s)", (ids,))}


def test_steady_runs_for_its_run_time_and_returns_the_client_view(load_run):
    with load_run("steady", users=12, run_time=3) as load:
        result = load.wait()
    assert 2.5 <= result.stopped_at - result.started_at <= 6
    assert result.requests >= 15 and result.failures == 0 and result.rps > 0
    assert {"GET /helloworld", "GET /status"} <= set(result.endpoints) <= STEADY_ENDPOINTS
    assert set(result.status_counts) <= {200, 201}
    hello = result.endpoint("/helloworld")
    assert hello.p50 is not None and hello.p50 <= hello.p95 <= hello.p99
    # Locust's CSV (read after its final write) and the buckets count the same requests
    assert result.buckets.requests == result.requests
    assert sum(result.status_counts.values()) == result.requests
    files = {p.name for p in result.artifacts.existing()}
    assert {"locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv", "report.html", "buckets.jsonl",
            "result.json", "locust-master.log"} <= files
    assert "<html" in result.artifacts.html.read_text()[:2000].lower()
    assert json.loads(result.artifacts.result.read_text())["total"]["requests"] == result.requests
    assert result.ledger is not None and result.ledger.ok
    with pytest.raises(LoadError, match="outlasted the load's run time"):
        result.window("start", result.stopped_at + 5)


def test_a_window_shows_what_clients_saw_during_a_fault(load_run, stack_info):
    fault = stack_info.fault_file
    with load_run("steady", users=15, run_time=30) as load:
        wait_for_requests(load, "start", 5)
        try:
            fault.write_text(json.dumps({"error_ratio": 1.0}))
            load.mark("fault")
            wait_for_requests(load, "fault", 15)
        finally:
            fault.unlink(missing_ok=True)
        load.mark("reverted")
        live = load.window("fault", "reverted")
        wait_for_requests(load, "reverted", 10)
    result = load.result
    assert result.window("fault", "reverted").status_counts == live.status_counts  # complete when read live
    settled = result.window(result.marks["fault"] + 0.3, "reverted")  # the app re-reads the file within 100 ms
    assert settled.requests >= 5
    for key, stats in settled.endpoints.items():  # the app keeps /status out of fault injection
        expected = {200: stats.requests} if key == "GET /status" else {500: stats.requests}
        assert stats.status_counts == expected, key
    assert settled.status_ratio(500) == pytest.approx(settled.failure_ratio)
    assert settled.status_ratio(500) > 0.5
    assert result.window("start", "fault").status_counts.get(500, 0) == 0
    after = result.window(result.marks["reverted"] + 0.3)
    assert after.requests > 0 and after.status_counts.get(500, 0) == 0


def test_write_ledger_passes_when_nothing_is_lost(load_run, stack_info):
    with load_run("write_ledger", users=4, run_time=3) as load:
        result = load.wait()
    assert result.ledger is not None and result.ledger.ok
    acks = read_ledger(result.artifacts.ledger)
    assert result.ledger.acknowledged == len(acks) >= 20
    assert rows_in_postgres(stack_info.postgres_dsn, [a.id for a in acks]) == {a.id for a in acks}
    assert result.endpoint("POST /items").status_counts == {201: len(acks)}


def test_write_ledger_catches_writes_the_app_acknowledged_and_lost(load_run, stack_info):
    fault = stack_info.fault_file
    with pytest.raises(LostWritesError) as caught, load_run("write_ledger", users=4, run_time=30) as load:
        wait_for_requests(load, "start", 10)
        try:
            fault.write_text(json.dumps({"drop_writes": True}))
            load.mark("fault")
            wait_for_requests(load, "fault", 15)
        finally:
            fault.unlink(missing_ok=True)
        load.mark("reverted")
        wait_for_requests(load, "reverted", 10)
    report = caught.value.report
    lost = report.lost_ids
    assert lost and str(lost[0]) in str(caught.value)
    acks = {a.id: a for a in read_ledger(load.result.artifacts.ledger)}
    marks = load.result.marks
    assert all(marks["fault"] <= acks[i].at <= marks["reverted"] + 0.5 for i in lost)  # only during the fault
    assert report.acknowledged > len(lost)  # writes before and after the fault are all there
    assert rows_in_postgres(stack_info.postgres_dsn, lost) == set()


def test_spike_ramps_to_the_peak_and_falls_back(load_run):
    with load_run("spike", users=8, run_time=8) as load:
        result = load.wait()
    users = [n for _, n in user_counts(result.artifacts.history_csv) if n > 0]
    assert max(users) == 8
    assert users[0] < 8 and users[-1] < 8
    assert result.requests > 0 and result.failures == 0


def test_distributed_with_two_workers(load_run, stack_info):
    with load_run("write_ledger", users=4, run_time=20, workers=2) as load:
        assert sorted(load.alive()) == ["master", "worker-1", "worker-2"]
        wait_for_requests(load, "start", 20)
        load.mark("checked")
        live = load.window("start", "checked")
    result = load.result
    assert result.workers == 2
    assert result.window("start", "checked").requests == live.requests  # worker cells reached the master
    assert result.buckets.requests == result.requests > 0
    assert result.ledger is not None and result.ledger.ok and result.ledger.acknowledged > 0
    for index in (1, 2):
        assert result.artifacts.worker_log(index).exists()
    assert result.artifacts.html.exists()


def test_a_hung_locust_is_killed_at_its_hard_time_limit(stack_info, tmp_path):
    options = LoadOptions(profile="steady", target=stack_info.app_url, users=1, run_time=1)
    procs = LocustProcesses(options=options, artifacts=Artifacts(tmp_path / "hung"), startup_timeout=2, stop_grace=1)
    assert procs.hard_limit == 4
    procs.start()
    try:
        found, pid = poll_until(procs._locust_master_pid, timeout=10)
        assert found
        os.kill(pid, signal.SIGSTOP)  # a Locust that hangs: it will never honour its run time
        ended, code = poll_until(procs.master_exit_code, timeout=procs.hard_limit + 3, accept=lambda c: c is not None)
        assert ended and code == -signal.SIGKILL  # `timeout -s KILL` signals its whole group, itself included
        assert not procs.watchdog_fired  # it was the wrapper, not the controller's backstop
    finally:
        procs.kill()
