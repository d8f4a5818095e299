"""``alertdrill up``: start the native stack, revert what a crashed run left, wait until healthy."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alertdrill.settings import DEFAULT_TIME_SCALE, SETTINGS, resolve_setting

from .common import native_stack, positive_float, stack_timing

__all__ = ["cmd_up", "register"]

#: The stack's addresses, in the order ``up`` and ``status`` print them.
ADDRESS_KEYS = ("prometheus_url", "alertmanager_url", "app_url", "sink_url", "postgres_dsn", "redis_url")


def register(subparsers: Any) -> None:
    up = subparsers.add_parser("up", help="start the native stack and wait until every target is healthy")
    up.add_argument("--time-scale", type=positive_float, default=None,
                    help=f"divide rule durations by this factor; 1 = production timing "
                         f"(env ${SETTINGS['time_scale'].env}, default: {DEFAULT_TIME_SCALE:g})")
    up.add_argument("--production-timing", action="store_true",
                    help="keep every shipped interval and duration (slow; for pre-release checks)")
    up.add_argument("--rules", action="append", type=Path, metavar="PATH",
                    help=f"load this rule file instead of the shipped rules (repeatable; env "
                         f"${SETTINGS['rule_files'].env}, colon-separated)")
    up.set_defaults(func=cmd_up)


def cmd_up(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir

    rules = resolve_setting("rule_files", option=args.rules)
    stack = native_stack(args, timing=stack_timing(args), rule_files=list(rules) or None)
    if stack.is_running():
        stack.start()  # raises StackRunningError with the pids
    for line in recover_run_dir(stack.run_dir):
        print(f"recovered: {line}")
    info = stack.start()
    print(f"alertdrill stack {info.name!r} is up in {info.startup_seconds:.1f}s (run dir {info.run_dir})")
    for key in ADDRESS_KEYS:
        print(f"  {key:<17} {getattr(info, key)}")
    print("Stop it with `alertdrill down`.")
    return 0
