"""``alertdrill down``: revert leftover faults, stop every process, remove the run directory."""

from __future__ import annotations

import argparse
from typing import Any

from .common import native_stack

__all__ = ["cmd_down", "register"]


def register(subparsers: Any) -> None:
    down = subparsers.add_parser("down", help="revert leftover faults, stop every process, remove the run directory")
    down.set_defaults(func=cmd_down)


def cmd_down(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir
    from alertdrill.stack.backends.base import attach
    from alertdrill.stack.state import STATE_FILE

    stack = native_stack(args)
    if not stack.run_dir.exists():
        print(f"no stack in {stack.run_dir}; nothing to stop")
        return 0
    for line in recover_run_dir(stack.run_dir):
        print(f"recovered: {line}")
    if (stack.run_dir / STATE_FILE).exists():
        stack = attach(stack.run_dir)  # whichever backend started it: a compose stack goes down through compose
    stack.stop()
    print(f"stopped the stack in {stack.run_dir} and removed its run directory")
    return 0
