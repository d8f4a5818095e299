"""`alertdrill inventory --out FILE`: capture the live stack's series inventory, so `prove` runs offline.

Registered by :mod:`alertdrill.cli`. Names, label sets, metric types and the values seen over the
last ten minutes, from the ``--name`` stack's Prometheus (or ``--prometheus URL``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alertdrill.errors import ConfigError, StackNotRunningError

__all__ = ["cmd_inventory", "register"]


def register(subparsers) -> None:
    """Add the ``inventory`` sub-command."""
    inv = subparsers.add_parser("inventory", help="capture the live stack's series inventory for `prove`",
                                description=__doc__.splitlines()[0])
    inv.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the inventory (YAML)")
    inv.add_argument("--prometheus", metavar="URL", help="capture from this Prometheus (default: the --name stack's)")
    inv.set_defaults(func=cmd_inventory)


def cmd_inventory(args: argparse.Namespace) -> int:
    from alertdrill.assertions.prometheus import PrometheusClient
    from alertdrill.prove import save_inventory
    from alertdrill.prove.run import live_inventory

    url = args.prometheus
    if not url:
        from alertdrill.stack.state import default_home, read_state

        run_dir = (Path(args.home) if args.home else default_home()) / args.name
        try:
            url = read_state(run_dir).prometheus_url
        except StackNotRunningError as exc:
            raise ConfigError(f"{exc}; start it with `alertdrill up` or pass --prometheus URL") from None
    client = PrometheusClient(url)
    client.api("/status/buildinfo")
    inventory = live_inventory(client)
    path = save_inventory(inventory, args.out)
    series = sum(len(m.series) for m in inventory.metrics.values())
    print(f"inventory of {url}: {len(inventory.metrics)} metrics, {series} series -> {path}")
    return 0
