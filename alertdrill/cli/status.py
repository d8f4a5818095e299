"""``alertdrill status``: URLs, DSNs and pids of the running stack; exit 1 when a process is gone."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import native_stack
from .up import ADDRESS_KEYS

__all__ = ["cmd_status", "register"]


def register(subparsers: Any) -> None:
    status = subparsers.add_parser("status", help="print URLs, DSNs and pids of the running stack")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from alertdrill.stack.state import read_state

    info = read_state(native_stack(args).run_dir)
    data = info.public_dict()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"stack {info.name!r} ({info.backend}) in {info.run_dir}")
        for key in ADDRESS_KEYS:
            print(f"  {key:<17} {data[key]}")
        for name, proc in data["processes"].items():
            print(f"  {name:<17} pid {proc['pid']:<8} {'running' if proc['alive'] else 'NOT RUNNING'}")
    alive = all(p["alive"] for p in data["processes"].values())
    return 0 if alive else 1
