"""``alertdrill recover``: revert every fault a crashed run left in the stack's journal."""

from __future__ import annotations

import argparse
from typing import Any

from .common import native_stack

__all__ = ["cmd_recover", "register"]


def register(subparsers: Any) -> None:
    recover = subparsers.add_parser("recover", help="revert every fault a crashed run left in the journal")
    recover.set_defaults(func=cmd_recover)


def cmd_recover(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir

    run_dir = native_stack(args).run_dir
    lines = recover_run_dir(run_dir)
    for line in lines:
        print(f"reverted: {line}")
    if not lines:
        print(f"nothing to recover in {run_dir}")
    return 0
