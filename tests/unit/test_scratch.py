"""Scratch directories: removed on exit, and swept by the next run after their owner was SIGKILLed."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from alertdrill.scratch import scratch_dir, sweep_orphaned_scratch

KILLED_INSIDE = """
import os, signal, sys
from alertdrill.scratch import scratch_dir
with scratch_dir("prove") as path:
    (path / "batch.test.yml").write_text("x")
    print(path, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_scratch_dir_is_removed_on_exit_and_names_its_owner(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_dir("report") as path:
        assert path.is_dir() and path.parent == tmp_path
        assert path.name.startswith(f"alertdrill-report-{os.getpid()}.")
    assert not path.exists()


def test_the_scratch_dir_of_a_sigkilled_run_is_swept_by_the_next_one(tmp_path, monkeypatch):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    killed = subprocess.run([sys.executable, "-c", KILLED_INSIDE], env=env, capture_output=True, text=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    left = tmp_path / os.path.basename(killed.stdout.strip())
    assert (left / "batch.test.yml").exists()  # what TemporaryDirectory would leave forever
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_dir("prove") as mine:
        assert not left.exists()
        assert mine.exists()


def test_live_owners_and_foreign_names_are_left_alone(tmp_path):
    live = tmp_path / f"alertdrill-prove-{os.getpid()}.{_ticks(os.getpid())}-abc"
    foreign = tmp_path / "alertdrill-app-tests-xyz"
    reused = tmp_path / f"alertdrill-prove-{os.getpid()}.1-abc"  # our pid, another start time: a dead owner
    for path in (live, foreign, reused):
        path.mkdir()
    assert sweep_orphaned_scratch(tmp_path) == [reused]
    assert live.exists() and foreign.exists()


def _ticks(pid: int) -> int:
    from alertdrill.stack.process import process_start_ticks

    ticks = process_start_ticks(pid)
    assert ticks is not None
    return ticks
