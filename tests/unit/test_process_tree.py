"""Signals reach a component's whole process tree, also children that left its process group."""

import signal
import sys
import textwrap

from alertdrill.stack.process import ProcessSpec, spawn
from alertdrill.waiting import poll_until

# A parent that forks a child which calls setsid(), as Postgres backends do.
SCRIPT = textwrap.dedent("""
    import os, sys, time
    pid = os.fork()
    if pid == 0:
        os.setsid()
        print("child", os.getpid(), flush=True)
        time.sleep(60)
        sys.exit(0)
    time.sleep(60)
""")


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return None
    return raw[raw.rindex(")") + 2]


def test_pause_and_kill_reach_a_child_in_its_own_session(tmp_path):
    proc = spawn(ProcessSpec(name="tree", argv=[sys.executable, "-c", SCRIPT], log=str(tmp_path / "log")))
    try:
        ok, members = poll_until(proc.tree, timeout=10, accept=lambda tree: len(tree) == 2)
        assert ok, members
        child = next(pid for pid in members if pid != proc.pid)
        proc.signal_group(signal.SIGSTOP)
        assert poll_until(lambda: _state(child), timeout=5, accept=lambda s: s == "T")[0]
        proc.signal_group(signal.SIGCONT)
        assert poll_until(lambda: _state(child), timeout=5, accept=lambda s: s in ("S", "R"))[0]
        proc.stop(5, sig=signal.SIGKILL)
        assert _state(child) in (None, "Z")
    finally:
        proc.stop(5, sig=signal.SIGKILL)
