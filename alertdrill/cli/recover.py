"""``alertdrill recover``: revert every fault a crashed run left in the stack's journal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alertdrill.errors import StackNotRunningError

from .common import native_stack

__all__ = ["cmd_recover", "register"]


def register(subparsers: Any) -> None:
    recover = subparsers.add_parser(
        "recover", help="revert every fault a crashed run left in the journal; stop a stack whose session is gone")
    recover.set_defaults(func=cmd_recover)


def cmd_recover(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir

    stack = native_stack(args)
    lines = recover_run_dir(stack.run_dir)
    for line in lines:
        print(f"reverted: {line}")
    orphan = orphaned_owner(stack.run_dir)
    if orphan is not None:
        stack.stop()
        print(f"stopped the stack in {stack.run_dir}: the test session that started it (pid {orphan}) is gone")
    elif not lines:
        print(f"nothing to recover in {stack.run_dir}")
    return 0


def orphaned_owner(run_dir: Path) -> int | None:
    """The pid of the session that started the stack in ``run_dir`` when it has died, else None.

    Stacks started by `alertdrill up` have no owner and run until `alertdrill down`."""
    from alertdrill.stack.process import process_start_ticks
    from alertdrill.stack.state import STATE_FILE, read_state

    if not (run_dir / STATE_FILE).exists():
        return None
    try:
        owner = read_state(run_dir).owner_pid
    except StackNotRunningError:
        return None
    return owner if owner is not None and process_start_ticks(owner) is None else None
