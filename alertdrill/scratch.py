"""Scratch directories that a killed run cannot leave behind.

``tempfile.TemporaryDirectory`` cleans up on every exit but SIGKILL. Ours carry their owner process
(pid and start time) in their name, and every new one first sweeps those whose owner is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alertdrill.stack.process import process_start_ticks

__all__ = ["scratch_dir", "sweep_orphaned_scratch"]

_NAME = re.compile(r"^alertdrill-[a-z]+-(?P<pid>\d+)\.(?P<started>\d+)-")


@contextmanager
def scratch_dir(purpose: str) -> Iterator[Path]:
    """A private temporary directory ``alertdrill-<purpose>-<pid>.<start>-*``, removed on exit."""
    sweep_orphaned_scratch()
    pid = os.getpid()
    path = Path(tempfile.mkdtemp(prefix=f"alertdrill-{purpose}-{pid}.{process_start_ticks(pid)}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_orphaned_scratch(root: Path | None = None) -> list[Path]:
    """Remove this user's scratch directories whose owner process has exited; return them."""
    root = root or Path(tempfile.gettempdir())
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _NAME.match(entry.name)
        if match is None or process_start_ticks(int(match["pid"])) == int(match["started"]):
            continue
        try:
            if not entry.is_dir() or entry.is_symlink() or entry.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed
