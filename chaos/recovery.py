"""Revert what a crashed run left behind (placeholder until the fault journal lands)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["recover_run_dir"]


def recover_run_dir(run_dir: Path) -> list[str]:
    """Revert every fault recorded in ``run_dir``'s journal; return one line per reverted fault."""
    return []
