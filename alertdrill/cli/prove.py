"""`alertdrill prove`: show each alerting rule can fire and resolve, on synthesized series, without a fault.

Registered by :mod:`alertdrill.cli`. Series are shaped after an inventory: ``--inventory FILE``, or
captured from ``--prometheus URL``, or from the ``--name`` stack when it runs, else the shipped
inventory of the native stack. Exit status: 0 when every rule is proven, 1 when any cannot fire,
always fires or is undecided, 2 for unusable input (one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alertdrill.errors import ConfigError, StackNotRunningError

__all__ = ["cmd_prove", "register", "resolve_inventory"]


def register(subparsers) -> None:
    """Add the ``prove`` sub-command."""
    prove = subparsers.add_parser(
        "prove", help="prove each rule can fire and resolve on synthesized series checked by promtool",
        description=__doc__.splitlines()[0])
    prove.add_argument("--rules", action="append", type=Path, metavar="FILE",
                       help="prove this rule file instead of the shipped rules (repeatable)")
    source = prove.add_mutually_exclusive_group()
    source.add_argument("--inventory", type=Path, metavar="FILE",
                        help="shape series after this inventory (from `alertdrill inventory --out FILE`)")
    source.add_argument("--prometheus", metavar="URL",
                        help="capture the inventory from this live Prometheus (default: the --name stack's, "
                             "else the shipped inventory)")
    prove.add_argument("--out", type=Path, default=Path("reports/proofs"), metavar="DIR",
                       help="where the promtool proofs go, one folder per rule (default: %(default)s)")
    prove.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON here")
    prove.add_argument("--workers", type=int, default=2, metavar="N",
                       help="rules searched at once, each with its own promtool batches (default: %(default)s)")
    prove.set_defaults(func=cmd_prove)


def resolve_inventory(args: argparse.Namespace):
    """(inventory, where it came from): the file, the URL, the running stack, or the shipped file."""
    from alertdrill.assertions.prometheus import PrometheusClient
    from alertdrill.prove import load_inventory, shipped_inventory_path
    from alertdrill.prove.run import live_inventory

    if args.inventory:
        return load_inventory(args.inventory), str(args.inventory)
    url = args.prometheus
    if not url:
        from alertdrill.stack.state import default_home, read_state

        run_dir = (Path(args.home) if args.home else default_home()) / args.name
        try:
            url = read_state(run_dir).prometheus_url
        except StackNotRunningError:
            path = shipped_inventory_path()
            return load_inventory(path), f"{path} (no stack {args.name!r} running)"
    client = PrometheusClient(url)
    client.api("/status/buildinfo")  # unreachable: one ObservationError line naming the URL
    return live_inventory(client), url


def cmd_prove(args: argparse.Namespace) -> int:
    from alertdrill.prove import Verdict, prove
    from alertdrill.prove.run import save_results
    from alertdrill.stack import layout

    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: give at least 1")
    inventory, source = resolve_inventory(args)
    rule_files = args.rules or layout.shipped_rule_files()
    print(f"alertdrill prove: series shaped after {source}", file=sys.stderr)
    for target in (args.out, args.json.parent if args.json else None):
        if target is not None:
            try:
                target.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create {target} ({exc.strerror}); pass a writable --out DIR / --json FILE") \
                    from None
    results = prove(rule_files, inventory, out_dir=args.out, workers=args.workers,
                    on_result=lambda r: print(r.line(), flush=True))
    if args.json:
        try:
            save_results(results, args.json)
        except OSError as exc:
            raise ConfigError(f"cannot write {args.json} ({exc.strerror}); pass a writable --json FILE") from None
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    total = sum(r.seconds for r in results)
    print("alertdrill prove: " + ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
          + f" of {len(results)} rule(s); search time {total:.1f}s", file=sys.stderr)
    return 0 if counts[Verdict.FIREABLE] == len(results) else 1
