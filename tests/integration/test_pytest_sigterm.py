"""A chaos run killed with SIGTERM mid-fault reverts the fault and leaves no process or stack behind."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alertdrill.stack.state import default_home
from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _stack_processes(run_dir: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(run_dir) in cmdline:
                found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def test_sigterm_mid_fault_reverts_and_cleans_up(tmp_path):
    name = f"sigterm-{os.getpid()}"
    run_dir = default_home() / name
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider",
         "-k", "redis-out-of-memory", "--report-dir", str(tmp_path / "reports")],
        cwd=ROOT, env={**os.environ, "ALERTDRILL_STACK_NAME": name},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        journal = run_dir / "faults"
        injected, _ = poll_until(lambda: journal.is_dir() and any(journal.glob("*.json")), timeout=120,
                                 interval=0.1)
        assert injected, "the scenario never injected its fault"
        entries = sorted(p.name for p in journal.glob("*.json"))
        session.send_signal(signal.SIGTERM)
        output, _ = session.communicate(timeout=120)
    finally:
        if session.poll() is None:
            session.kill()
    assert "SIGTERM while fault(s) redis-memory-fill" in output, (
        f"exit {session.returncode}; SIGTERM sent when the journal held {entries}:\n{output[-2000:]}")
    assert not run_dir.exists(), "the stack's run directory was left behind"
    assert _stack_processes(run_dir) == []
