"""A chaos session killed with SIGKILL mid-fault: its Locust stops within seconds, and
`alertdrill recover` reverts the fault and stops the stack nobody owns any more (native backend)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alertdrill.stack.state import default_home
from alertdrill.waiting import poll_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _processes_mentioning(text: str) -> list[str]:
    """Live (not zombie) processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if text in cmdline and stat[stat.rindex(")") + 2] not in "ZX":
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def test_sigkill_mid_fault_then_recover_leaves_nothing(tmp_path):
    name = f"sigkill-{os.getpid()}"
    run_dir = default_home() / name
    load_dir = tmp_path / "reports" / "load"
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider",
         "-k", "redis-out-of-memory", "--report-dir", str(tmp_path / "reports")],
        cwd=ROOT, env={**os.environ, "ALERTDRILL_STACK_NAME": name},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        journal = run_dir / "faults"
        injected, _ = poll_until(lambda: journal.is_dir() and any(journal.glob("*.json")), timeout=120,
                                 interval=0.1)
        assert injected, "the scenario never injected its fault"
        assert _processes_mentioning(str(load_dir)), "no Locust process was running during the fault"
        session.kill()
        session.wait(timeout=10)

        # Locust is tied to the dead session (PR_SET_PDEATHSIG): gone within seconds, not after its run time.
        gone, _ = poll_until(lambda: not _processes_mentioning(str(load_dir)), timeout=5, interval=0.1)
        assert gone, _processes_mentioning(str(load_dir))
        assert _processes_mentioning(str(run_dir)), "the stack should still run: nobody stopped it yet"

        recover = subprocess.run([sys.executable, "-m", "alertdrill.cli", "--name", name, "recover"],
                                 capture_output=True, text=True, timeout=120)
        assert recover.returncode == 0, recover.stderr
        assert "redis-memory-fill" in recover.stdout and "reverted:" in recover.stdout, recover.stdout
        assert f"pid {session.pid}) is gone" in recover.stdout, recover.stdout
        assert not run_dir.exists(), "the orphaned stack's run directory was left behind"
        assert _processes_mentioning(str(run_dir)) == []
    finally:
        if session.poll() is None:
            session.kill()
        subprocess.run([sys.executable, "-m", "alertdrill.cli", "--name", name, "down"], capture_output=True,
                       timeout=120)
