"""Load tests: fixtures from alertdrill.locustfiles, and a guard that no Locust process outlives a test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertdrill.locustfiles.fixtures import load_artifacts_dir, load_run

__all__ = ["load_artifacts_dir", "load_run", "locust_processes_under"]


def locust_processes_under(directory: Path) -> list[str]:
    """Locust processes (and their `timeout` wrappers) whose working directory is under ``directory``."""
    found = []
    root = str(directory.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(root) and "locust" in args:
            found.append(f"{entry.name} {args.strip()}")
    return found


@pytest.fixture(autouse=True)
def no_locust_left_behind(tmp_path: Path) -> Iterator[None]:
    """Every Locust run a test starts (artifacts under tmp_path) must be gone when the test ends."""
    yield
    assert locust_processes_under(tmp_path) == []
