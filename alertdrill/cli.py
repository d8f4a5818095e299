"""The `alertdrill` command: start, inspect, stop and recover the monitored stack.

Every failure alertdrill anticipates is an AlertdrillError whose message is one actionable line;
the CLI prints it as ``alertdrill: error: ...`` and exits 2 (1 for a failed check), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from alertdrill.errors import AlertdrillError, StackNotRunningError

__all__ = ["main"]


def _stack(args: argparse.Namespace, **kwargs):
    from alertdrill.stack.backends.native import NativeStack

    home = Path(args.home) if args.home else None
    return NativeStack(name=args.name, home=home, **kwargs)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def cmd_up(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir
    from alertdrill.stack.rendering import StackTiming

    stack = _stack(args, timing=_timing(args, StackTiming), rule_files=args.rules or None)
    if stack.is_running():
        stack.start()  # raises StackRunningError with the pids
    for line in recover_run_dir(stack.run_dir):
        print(f"recovered: {line}")
    info = stack.start()
    print(f"alertdrill stack {info.name!r} is up in {info.startup_seconds:.1f}s (run dir {info.run_dir})")
    for key in ("prometheus_url", "alertmanager_url", "app_url", "sink_url", "postgres_dsn", "redis_url"):
        print(f"  {key:<17} {getattr(info, key)}")
    print("Stop it with `alertdrill down`.")
    return 0


def _timing(args: argparse.Namespace, timing_cls):
    if args.production_timing:
        return timing_cls.production()
    return timing_cls(time_scale=args.time_scale)


def cmd_down(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir

    stack = _stack(args)
    if not stack.run_dir.exists():
        print(f"no stack in {stack.run_dir}; nothing to stop")
        return 0
    for line in recover_run_dir(stack.run_dir):
        print(f"recovered: {line}")
    stack.stop()
    print(f"stopped the stack in {stack.run_dir} and removed its run directory")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from alertdrill.stack.state import read_state

    run_dir = _stack(args).run_dir
    info = read_state(run_dir)
    data = info.public_dict()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"stack {info.name!r} ({info.backend}) in {info.run_dir}")
        for key in ("prometheus_url", "alertmanager_url", "app_url", "sink_url", "postgres_dsn", "redis_url"):
            print(f"  {key:<17} {data[key]}")
        for name, proc in data["processes"].items():
            print(f"  {name:<17} pid {proc['pid']:<8} {'running' if proc['alive'] else 'NOT RUNNING'}")
    alive = all(p["alive"] for p in data["processes"].values())
    return 0 if alive else 1


def cmd_recover(args: argparse.Namespace) -> int:
    from alertdrill.chaos.recovery import recover_run_dir

    run_dir = _stack(args).run_dir
    lines = recover_run_dir(run_dir)
    for line in lines:
        print(f"reverted: {line}")
    if not lines:
        print(f"nothing to recover in {run_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alertdrill", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=os.environ.get("ALERTDRILL_STACK", "default"),
                        help="stack name, a directory under --home (default: %(default)s)")
    parser.add_argument("--home", default=None,
                        help="where stacks live (default: $ALERTDRILL_HOME or /tmp/alertdrill-UID)")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the native stack and wait until every target is healthy")
    up.add_argument("--time-scale", type=_positive_float, default=60.0,
                    help="divide rule durations by this factor; 1 = production timing (default: %(default)s)")
    up.add_argument("--production-timing", action="store_true",
                    help="keep every shipped interval and duration (slow; for pre-release checks)")
    up.add_argument("--rules", action="append", type=Path, metavar="PATH",
                    help="load this rule file instead of the shipped rules (repeatable)")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="revert leftover faults, stop every process, remove the run directory")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="print URLs, DSNs and pids of the running stack")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    recover = sub.add_parser("recover", help="revert every fault a crashed run left in the journal")
    recover.set_defaults(func=cmd_recover)

    _register_extensions(sub)
    return parser


def _register_extensions(sub) -> None:
    """Sub-commands that live next to their feature (lint, report, ...), added when present."""
    import importlib

    modules = ("alertdrill.lint_cli", "alertdrill.report_cli", "alertdrill.record_cli", "alertdrill.locustfiles.cli")
    for module in modules:
        try:
            register: Callable = importlib.import_module(module).register
        except ModuleNotFoundError:
            continue
        register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StackNotRunningError as exc:
        print(f"alertdrill: {exc}", file=sys.stderr)
        return 1
    except AlertdrillError as exc:
        print(f"alertdrill: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("alertdrill: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
