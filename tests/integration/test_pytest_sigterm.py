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


def test_sigterm_to_the_xdist_controller_stops_every_worker_cleanly(tmp_path):
    """`kill <pid>` of a parallel session (`-n 2`) reaches only the controller: it forwards the signal to
    its workers and waits until their stacks are gone, so no fault stays injected and nothing runs."""
    name = f"sigterm-x{os.getpid()}"
    run_dirs = [default_home() / f"{name}-gw{i}" for i in range(2)]
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider", "-n", "2",
         "-k", "redis-out-of-memory or redis-too-many-connections", "--report-dir", str(tmp_path / "reports")],
        cwd=ROOT, env={**os.environ, "ALERTDRILL_STACK_NAME": name},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        injected, _ = poll_until(lambda: any(d.joinpath("faults").is_dir() and any(d.joinpath("faults").glob("*.json"))
                                             for d in run_dirs), timeout=180, interval=0.1)
        assert injected, "no worker injected its fault"
        session.send_signal(signal.SIGTERM)  # the controller only, as `kill PID` does
        output, _ = session.communicate(timeout=180)
    finally:
        if session.poll() is None:
            session.kill()
    assert "stopping 2 worker(s)" in output, output[-2000:]
    for run_dir in run_dirs:
        assert not run_dir.exists(), f"{run_dir} was left behind:\n{output[-2000:]}"
        assert _stack_processes(run_dir) == []
