"""Never left behind: a fault holder killed with SIGKILL is undone by `alertdrill recover` and by
recover_run_dir; a holder sent SIGTERM undoes its own faults; a corrupt journal entry is named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from chaostest_support import CHAOS_PREFIX, pg, rds

from alertdrill.chaos.recovery import recover_run_dir
from alertdrill.errors import FaultRevertError
from alertdrill.stack.state import read_state
from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration

ALERTDRILL = Path(sys.executable).with_name("alertdrill")

HOLDER = """
import json, sys, threading
from contextlib import ExitStack
from pathlib import Path
from alertdrill.chaos import Faults
from alertdrill.chaos.backend import attach_backend

run_dir, ready, plan, mode = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
faults = Faults(attach_backend(run_dir), max_duration=120)
with ExitStack() as stack:
    ids = []
    for kind, kwargs in plan:
        fault = faults.build(kind, **kwargs)
        if mode == "with":
            stack.enter_context(fault)  # reverted on the way out, e.g. by SIGTERM
        else:
            fault.inject()  # nothing reverts it: the journal must
        ids.append(fault.id)
    ready.write_text(json.dumps(ids))
    threading.Event().wait(90)  # until the test kills this process
"""


def _start_holder(tmp_path: Path, info, plan: list, mode: str) -> tuple[subprocess.Popen, list[str]]:
    script, ready = tmp_path / "holder.py", tmp_path / "ready.json"
    script.write_text(HOLDER)
    holder = subprocess.Popen([sys.executable, str(script), info.run_dir, str(ready), json.dumps(plan), mode],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    poll_until(lambda: ready.exists() or holder.poll() is not None, timeout=30, interval=0.05)
    if not ready.exists():
        holder.kill()
        _, err = holder.communicate(timeout=10)
        pytest.fail(f"the fault holder did not get ready: {err[-2000:]}")
    return holder, json.loads(ready.read_text())


def _policy(info) -> str:
    with rds(info) as client:
        return client.config_get("maxmemory-policy")["maxmemory-policy"]


def _chaos_sessions(info) -> int:
    with pg(info) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s",
                            (CHAOS_PREFIX + "%",)).fetchone()[0]


def _exporter_usage(info) -> bool:
    with pg(info) as conn:
        return conn.execute("SELECT has_schema_privilege('postgres_exporter', 'monitoring', 'USAGE')").fetchone()[0]


def _journal(info) -> list[str]:
    return sorted(p.name for p in info.journal_dir.glob("*.json"))


def test_sigkilled_holder_is_reverted_by_the_recover_command(faults, stack_info, tmp_path):
    plan = [("redis-memory-fill", {"fraction": 0.3, "policy": "allkeys-lru"}),
            ("pg-slow-queries", {"sessions": 2}),
            ("pg-exporter-error", {})]
    holder, ids = _start_holder(tmp_path, stack_info, plan, "bare")
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=10)
    # The crash left everything in place: the policy, the sleeping queries (Postgres does not notice a
    # vanished client while pg_sleep runs), the revoked grant, and the journal entries.
    assert _policy(stack_info) == "allkeys-lru"
    assert _chaos_sessions(stack_info) == 2
    assert not _exporter_usage(stack_info)
    assert _journal(stack_info) == sorted(f"{i}.json" for i in ids)

    result = subprocess.run([str(ALERTDRILL), "--name", stack_info.name, "recover"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "ALERTDRILL_HOME": str(Path(stack_info.run_dir).parent)})
    assert result.returncode == 0, result.stderr
    reverted = [ln for ln in result.stdout.splitlines() if ln.startswith("reverted: ")]
    assert len(reverted) == 3 and all(any(i in ln for ln in reverted) for i in ids), result.stdout
    assert any("maxmemory-policy restored to noeviction" in ln for ln in reverted)
    assert any("2 terminated server-side" in ln for ln in reverted)
    assert _policy(stack_info) == "noeviction" and _chaos_sessions(stack_info) == 0 and _exporter_usage(stack_info)
    assert _journal(stack_info) == []


def test_sigkilled_holder_is_reverted_by_recover_run_dir(faults, native_stack, stack_info, tmp_path):
    plan = [("pg-connections", {"fraction": 0.5}),
            ("pg-lock-contention", {"waiters": 2}),
            ("redis-maxclients", {"attempts": 2}),
            ("service-pause", {"component": "redis_exporter"}),
            ("service-stop", {"component": "postgres_exporter"})]
    with rds(stack_info) as client:
        maxclients = client.config_get("maxclients")["maxclients"]
    holder, ids = _start_holder(tmp_path, stack_info, plan, "bare")
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=10)
    assert _journal(stack_info) == sorted(f"{i}.json" for i in ids)
    assert native_stack.process("redis_exporter").is_stopped()
    assert not native_stack.process("postgres_exporter").is_alive()

    lines = recover_run_dir(Path(stack_info.run_dir))
    # The component restarted by recovery has a new pid; the session's stack object must know it.
    native_stack.info = read_state(Path(stack_info.run_dir))
    assert len(lines) == len(plan), lines
    assert any("resumed redis_exporter" in ln for ln in lines) and any("started postgres_exporter" in ln
                                                                          for ln in lines)
    assert _chaos_sessions(stack_info) == 0 and _journal(stack_info) == []
    with pg(stack_info) as conn:
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'alertdrill_chaos_%'").fetchone()[0] == 0
    with rds(stack_info) as client:
        assert client.config_get("maxclients")["maxclients"] == maxclients
    for component in ("redis_exporter", "postgres_exporter"):
        proc = native_stack.process(component)
        assert proc.is_alive() and not proc.is_stopped()
    assert recover_run_dir(Path(stack_info.run_dir)) == []  # nothing twice


def test_sigterm_makes_the_holder_revert_its_own_faults(faults, stack_info, tmp_path):
    plan = [("redis-memory-fill", {"fraction": 0.3, "policy": "volatile-lru"}), ("pg-connections", {"fraction": 0.5})]
    holder, _ = _start_holder(tmp_path, stack_info, plan, "with")
    assert _policy(stack_info) == "volatile-lru"
    holder.send_signal(signal.SIGTERM)
    _, err = holder.communicate(timeout=30)
    assert holder.returncode != 0 and "TerminatedBySignal: SIGTERM while fault(s)" in err
    assert _policy(stack_info) == "noeviction" and _journal(stack_info) == []
    ok, _ = poll_until(lambda: _chaos_sessions(stack_info), timeout=5, interval=0.05, accept=lambda n: n == 0)
    assert ok


def test_a_corrupt_journal_entry_on_a_running_stack_is_named_not_skipped(faults, stack_info):
    bad = stack_info.journal_dir / "pg-connections-deadbeef.json"
    stack_info.journal_dir.mkdir(parents=True, exist_ok=True)
    bad.write_text('{"version": 1, "id": "pg-connections-deadbeef"')
    try:
        with pytest.raises(FaultRevertError, match=r"pg-connections-deadbeef\.json is unreadable .*delete the file"):
            recover_run_dir(Path(stack_info.run_dir))
        result = subprocess.run([str(ALERTDRILL), "--name", stack_info.name, "recover"], capture_output=True,
                                text=True, timeout=60,
                                env={**os.environ, "ALERTDRILL_HOME": str(Path(stack_info.run_dir).parent)})
        assert result.returncode == 2 and "alertdrill: error: could not revert 1 fault(s)" in result.stderr
    finally:
        bad.unlink()
