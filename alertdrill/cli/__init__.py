"""The `alertdrill` command: one module per sub-command, registered here in the order ``--help`` lists them.

Every failure alertdrill anticipates is an AlertdrillError whose message is one actionable line;
the CLI prints it as ``alertdrill: error: ...`` and exits 2 (1 for a failed check), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from alertdrill.errors import AlertdrillError, StackNotRunningError

from . import down, images, lint, load, record, recover, report, status, up

__all__ = ["build_parser", "main"]

SUBCOMMANDS = (up, down, status, recover, load, lint, report, record, images)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alertdrill", description="Prove that documented alerts fire, are delivered and resolve.")
    parser.add_argument("--name", default=os.environ.get("ALERTDRILL_STACK", "default"),
                        help="stack name, a directory under --home (default: %(default)s)")
    parser.add_argument("--home", default=None,
                        help="where stacks live (default: $ALERTDRILL_HOME or /tmp/alertdrill-UID)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


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


