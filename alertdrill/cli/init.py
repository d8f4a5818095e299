"""``alertdrill init DIR``: a starting point for a team's repository (alertdrill.starter)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from alertdrill.catalogue import COMPONENTS

__all__ = ["cmd_init", "register"]


def register(subparsers: Any) -> None:
    init = subparsers.add_parser("init", help="write a rule file, a catalogue and a test module to start from")
    init.add_argument("directory", type=Path, help="where to write them (created if missing)")
    init.add_argument("--component", choices=COMPONENTS, default="redis",
                      help="whose shipped alerts to start from (default: %(default)s)")
    init.add_argument("--force", action="store_true", help="overwrite files that already exist")
    init.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    from alertdrill.starter import write_starter

    starter = write_starter(args.directory, component=args.component, force=args.force)
    for path in starter.files:
        print(f"wrote {path}")
    print(f"{len(starter.scenarios)} {starter.component} scenario(s): {', '.join(starter.scenarios)}")
    print(f"Next: cd {starter.directory} && pytest -m chaos   (one drill: pytest -m chaos -k {starter.scenarios[0]})")
    return 0
