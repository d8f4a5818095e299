"""`alertdrill up / status / down` as a user runs them: real processes, nothing left behind."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "alertdrill.cli"]


def _cli(*args, env=None, timeout=120):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def home():
    """A stack home the postgres user can traverse (pytest's tmp_path is private to root)."""
    import shutil
    import uuid

    from alertdrill.stack.state import default_home

    path = default_home() / f"test-cli-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _pids_alive(pids):
    """Pids that still run; a zombie waiting for init to reap it has already exited."""
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except FileNotFoundError:
            continue
        if stat[stat.rindex(")") + 2] not in "ZX":
            alive.append(pid)
    return alive


def test_up_status_second_up_down(home):
    stack_home = home
    home = ["--home", str(stack_home), "--name", "cli"]
    up = _cli(*home, "up")
    try:
        assert up.returncode == 0, up.stderr
        assert "is up in" in up.stdout
        status = _cli(*home, "status", "--json")
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        for key in ("prometheus_url", "alertmanager_url", "app_url", "postgres_dsn", "redis_url"):
            assert data[key].split("://")[1].startswith("127.0.0.1:") or "@127.0.0.1:" in data[key]
        pids = list(data["pids"].values())
        from alertdrill.stack.components import COMPONENTS

        assert len(pids) == len(COMPONENTS) and not set(pids) - set(_pids_alive(pids))

        again = _cli(*home, "up")
        assert again.returncode != 0
        assert "already running" in again.stderr and "Traceback" not in again.stderr
    finally:
        down = _cli(*home, "down")
    assert down.returncode == 0, down.stderr
    assert _pids_alive(pids) == []
    assert not (stack_home / "cli").exists()


def test_status_without_stack_is_one_line(tmp_path):
    result = _cli("--home", str(tmp_path), "--name", "none", "status")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "alertdrill up" in result.stderr


def test_missing_binary_names_the_package(tmp_path):
    result = _cli("--home", str(tmp_path), "--name", "nobin", "up",
                  env={"ALERTDRILL_REDIS_EXPORTER_BIN": "/nonexistent/redis_exporter"})
    assert result.returncode == 2
    assert "ALERTDRILL_REDIS_EXPORTER_BIN" in result.stderr and "Traceback" not in result.stderr


def test_private_home_is_refused_with_the_fix(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root runs Postgres as another user")
    tmp_path.chmod(0o700)
    result = _cli("--home", str(tmp_path / "home"), "--name", "private", "up")
    assert result.returncode == 2
    assert "cannot reach" in result.stderr and "ALERTDRILL_HOME" in result.stderr


def test_component_that_fails_shows_its_log_and_stops_the_rest(tmp_path, home):
    broken = tmp_path / "prometheus"
    broken.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'prometheus, version 0' && exit 0\n"
                      "echo 'err: simulated bad flag' >&2\nexit 3\n")
    broken.chmod(0o755)
    result = _cli("--home", str(home), "--name", "broken", "up",
                  env={"ALERTDRILL_PROMETHEUS_BIN": str(broken)})
    assert result.returncode == 2
    assert "prometheus exited during start-up (exit status 3)" in result.stderr
    assert "simulated bad flag" in result.stderr and "last error: None" not in result.stderr
    kept = home / "broken.failed-logs" / "prometheus.log"
    assert f"log kept at {kept}" in result.stderr and "simulated bad flag" in kept.read_text()
    assert not (home / "broken").exists()
    leftover = subprocess.run(["pgrep", "-f", str(home / "broken")], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


def test_invalid_rule_file_is_rejected_before_anything_starts(tmp_path):
    rules = tmp_path / "bad.yml"
    rules.write_text("groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: rate(up[5m]\n")
    result = _cli("--home", str(tmp_path / "home"), "--name", "badrules", "up", "--rules", str(rules))
    assert result.returncode == 2
    assert "invalid rule file" in result.stderr and "Traceback" not in result.stderr
