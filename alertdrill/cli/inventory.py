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
    inv.add_argument("--exercise", action="store_true",
                     help="first call every route of the --name stack's app, so its per-route series exist "
                          "(how the shipped inventory is made)")
    inv.set_defaults(func=cmd_inventory)


def cmd_inventory(args: argparse.Namespace) -> int:
    from alertdrill.assertions.prometheus import PrometheusClient
    from alertdrill.prove import save_inventory
    from alertdrill.prove.run import live_inventory

    url, app_url = args.prometheus, None
    if not url or args.exercise:
        from alertdrill.stack.state import default_home, read_state

        run_dir = (Path(args.home) if args.home else default_home()) / args.name
        try:
            state = read_state(run_dir)
        except StackNotRunningError as exc:
            raise ConfigError(f"{exc}; start it with `alertdrill up` or pass --prometheus URL") from None
        url, app_url = url or state.prometheus_url, state.app_url
    client = PrometheusClient(url)
    client.api("/status/buildinfo")
    if args.exercise:
        from alertdrill.prove.native import native_inventory

        inventory = native_inventory(client, app_url, scrape_interval=client.config().scrape_interval_for("app"))
    else:
        inventory = live_inventory(client)
    try:
        path = save_inventory(inventory, args.out)
    except OSError as exc:
        raise ConfigError(f"cannot write the inventory to {args.out} ({exc.strerror}); pass a writable --out FILE") \
            from None
    series = sum(len(m.series) for m in inventory.metrics.values())
    print(f"inventory of {url}: {len(inventory.metrics)} metrics, {series} series -> {path}")
    return 0
