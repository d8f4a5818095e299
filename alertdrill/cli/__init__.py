"""The `alertdrill` command: one module per sub-command, registered here in the order ``--help`` lists them.

Every failure alertdrill anticipates is an AlertdrillError whose message is one actionable line;
the CLI prints it as ``alertdrill: error: ...`` and exits 2 (1 for a failed check), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from alertdrill.errors import AlertdrillError, StackNotRunningError
from alertdrill.settings import SETTINGS, resolve_setting

from . import down, faults, images, init, inventory, lint, load, prove, record, recover, report, status, up

__all__ = ["build_parser", "main", "parse_args"]

#: The CLI's stack (``alertdrill up``) is not a test session's (``pytest``, stack name "pytest").
DEFAULT_STACK_NAME = "default"

SUBCOMMANDS = (up, down, status, recover, faults, load, lint, prove, inventory, report, record, init, images)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (``alertdrill up: error: ...; see --help``), exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="alertdrill", description="Prove that documented alerts fire, are delivered and resolve.")
    parser.add_argument("--name", default=None,
                        help=f"stack name, a directory under --home (env ${SETTINGS['stack_name'].env}, "
                             f"default: {DEFAULT_STACK_NAME})")
    parser.add_argument("--home", type=Path, default=None,
                        help=f"where stacks live (env ${SETTINGS['home'].env}, default: /tmp/alertdrill-UID)")
    parser.add_argument("--allow-remote", action="store_true", dest="allow_remote_global",
                        help=f"let clients contact addresses off this machine (env ${SETTINGS['allow_remote'].env}; "
                             "default: loopback only)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with ``--name``/``--home`` resolved by the settings' precedence (option >
    environment > default) once for every sub-command: ``args.home / args.name`` is the run directory."""
    from alertdrill.stack.state import default_home

    args = build_parser().parse_args(argv)
    args.name = resolve_setting("stack_name", option=args.name, default=DEFAULT_STACK_NAME)
    args.home = resolve_setting("home", option=args.home, default=default_home())
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        if args.allow_remote_global or getattr(args, "allow_remote", False):
            from alertdrill.netpolicy import allow_remote

            allow_remote()  # for every client of this process and the processes it starts
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


