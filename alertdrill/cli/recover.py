"""``alertdrill recover``: revert every fault a crashed run left in the stack's journal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alertdrill.errors import StackNotRunningError
from alertdrill.session_lock import remove_stale_lock

from .common import native_stack

__all__ = ["cmd_recover", "register"]


def register(subparsers: Any) -> None:
    recover = subparsers.add_parser(
        "recover", help="revert every fault a crashed run left in the journal; stop a stack whose session is gone")
    recover.set_defaults(func=cmd_recover)


def cmd_recover(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir
    from alertdrill.scratch import sweep_orphaned_scratch

    stack = native_stack(args)
    lines = recover_run_dir(stack.run_dir)
    for line in lines:
        print(f"reverted: {line}")
    for path in sweep_orphaned_scratch():
        print(f"removed {path}: a scratch directory of a run that was killed")
    orphan = orphaned_owner(stack.run_dir)
    remove_stale_lock(stack.home / f"{stack.name}.session.lock")  # the killed session's, if any
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
