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
    from alertdrill.settings import time_scale_setting

    if args.production_timing:
        return timing_cls.production()
    return timing_cls(time_scale=time_scale_setting(args.time_scale))


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

    stack = _stack(args)
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


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (``alertdrill up: error: ...; see --help``), exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="alertdrill", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=os.environ.get("ALERTDRILL_STACK", "default"),
                        help="stack name, a directory under --home (default: %(default)s)")
    parser.add_argument("--home", default=None,
                        help="where stacks live (default: $ALERTDRILL_HOME or /tmp/alertdrill-UID)")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the native stack and wait until every target is healthy")
    up.add_argument("--time-scale", default=None,
                    help="divide rule durations by this factor; 1 = production timing "
                         "(default: $ALERTDRILL_TIME_SCALE or 60)")
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
        if getattr(args, "allow_remote", False):
            from alertdrill.netpolicy import allow_remote

            allow_remote()
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
