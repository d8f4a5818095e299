"""The Prometheus command-line tools lint delegates to (promtool, amtool), each run with a finite timeout."""

from __future__ import annotations

import subprocess

from alertdrill.stack.binaries import resolve

__all__ = ["TOOL_TIMEOUT", "run_tool"]

#: Seconds a tool may take; both answer in well under a second, so this only stops a hung process.
TOOL_TIMEOUT = 60


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the stack's own ``name`` binary (the version the stack runs) and capture its text output."""
    return subprocess.run([resolve(name), *args], capture_output=True, text=True, timeout=TOOL_TIMEOUT)
