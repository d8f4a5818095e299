"""`alertdrill lint`: why a rule cannot work - the root causes promtool cannot see, then policy.

Registered by :mod:`alertdrill.cli`. Findings are grouped broken, suspicious, policy (one line each,
or JSON, or GitHub annotations). Exit status: 0 when nothing is broken, 1 with a broken finding, 3
with (shown) policy errors only, 2 when the input itself is unusable (an invalid or empty rule
file, an unreachable --prometheus-url) - printed as one line. With no stack running the static
checks still run, and one line says the live ones were skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alertdrill.errors import StackNotRunningError
from alertdrill.lint.output import FORMATS, LintReport
from alertdrill.stack import layout

__all__ = ["cmd_lint", "register"]


def register(subparsers) -> None:
    """Add the ``lint`` sub-command."""
    lint = subparsers.add_parser(
        "lint", help="check rules: documented alerts, labels, runbooks, routing, and live selectors and joins",
        description=__doc__.splitlines()[0])
    lint.add_argument("--rules", action="append", type=Path, metavar="PATH",
                      help="lint this rule file instead of the shipped rules (repeatable)")
    lint.add_argument("--offline", action="store_true",
                      help="skip the checks against the live Prometheus (selectors, joins, types, values)")
    lint.add_argument("--format", choices=FORMATS, default="text",
                      help="text (default), json, or github (workflow annotations for a pull request)")
    lint.add_argument("--policy", action="store_true",
                      help="show this project's policy findings for a rule file that is not the shipped one")
    lint.add_argument("--prometheus-url", metavar="URL",
                      help="the live Prometheus to check against (default: the --name stack's)")
    lint.add_argument("--alertmanager-config", type=Path, default=layout.ALERTMANAGER_CONFIG, metavar="PATH",
                      help="Alertmanager config to check routing and receivers in (default: the shipped one)")
    lint.add_argument("--runbook-root", type=Path, default=layout.ROOT, metavar="DIR",
                      help="where relative runbook_url links start (default: %(default)s)")
    lint.set_defaults(func=cmd_lint)


def _prometheus(args: argparse.Namespace):
    """(client or None, the line that says where live findings come from or why there are none)."""
    from alertdrill.assertions.prometheus import PrometheusClient
    from alertdrill.errors import ObservationError

    if args.offline:
        return None, "offline (--offline): static checks only"
    if args.prometheus_url:  # asked for by name: unreachable is an error, not a silent skip
        client = PrometheusClient(args.prometheus_url)
        client.api("/status/buildinfo")  # unreachable: one ObservationError line naming the URL
        return client, f"live checks against {client.url}"
    from alertdrill.stack.state import read_state

    run_dir = args.home / args.name
    try:
        client = PrometheusClient(read_state(run_dir).prometheus_url)
        client.api("/status/buildinfo")
    except (StackNotRunningError, ObservationError) as exc:
        return None, (f"live checks skipped: no reachable stack ({str(exc).split(';')[0]}); start one with "
                      "`alertdrill up` or pass --prometheus-url")
    return client, f"live checks against {client.url}"


def cmd_lint(args: argparse.Namespace) -> int:
    from alertdrill.lint import lint

    prometheus, live = _prometheus(args)
    shipped = not args.rules or {p.resolve() for p in args.rules} == {p.resolve() for p in layout.shipped_rule_files()}
    findings = lint(args.rules, prometheus=prometheus, alertmanager_config=args.alertmanager_config,
                    runbook_root=args.runbook_root)
    if prometheus is None and not args.offline:
        print(f"alertdrill lint: {live}", file=sys.stderr)
        live = "static checks only"
    report = LintReport.of(findings, show_policy=shipped or args.policy, live=live)
    try:
        text = report.render(args.format)
        if text:
            print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `alertdrill lint | head`: the reader has seen enough
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit, so no flush error
    print(report.summary(), file=sys.stderr)
    return report.exit_status
