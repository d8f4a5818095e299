"""`alertdrill lint`: rule problems that promtool cannot see, one line per finding.

Registered by :mod:`alertdrill.cli`. Exit status: 0 when
there are only warnings, 1 with any error finding, 2 when the input itself is unusable (invalid
rule file, no live stack, unreachable Prometheus) - the CLI prints that as one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from alertdrill.errors import ConfigError, StackNotRunningError
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
                      help="skip the checks against the live Prometheus (selectors, joins)")
    lint.add_argument("--prometheus-url", metavar="URL",
                      help="the live Prometheus to check against (default: the --name stack's)")
    lint.add_argument("--alertmanager-config", type=Path, default=layout.ALERTMANAGER_CONFIG, metavar="PATH",
                      help="Alertmanager config to check routing and receivers in (default: the shipped one)")
    lint.add_argument("--runbook-root", type=Path, default=layout.ROOT, metavar="DIR",
                      help="where relative runbook_url links start (default: %(default)s)")
    lint.set_defaults(func=cmd_lint)


def _prometheus_url(args: argparse.Namespace) -> str:
    if args.prometheus_url:
        return args.prometheus_url
    from alertdrill.stack.state import read_state

    run_dir = args.home / args.name
    try:
        return read_state(run_dir).prometheus_url
    except StackNotRunningError as exc:
        raise ConfigError(f"{exc}; or pass --prometheus-url URL, or lint with --offline") from None


def cmd_lint(args: argparse.Namespace) -> int:
    from alertdrill.assertions.prometheus import PrometheusClient
    from alertdrill.lint import lint

    prometheus = None
    if not args.offline:
        prometheus = PrometheusClient(_prometheus_url(args))
        prometheus.api("/status/buildinfo")  # unreachable: one ObservationError line naming the URL
    findings = lint(args.rules, prometheus=prometheus, alertmanager_config=args.alertmanager_config,
                    runbook_root=args.runbook_root)
    try:
        for finding in findings:
            print(finding.line())
        sys.stdout.flush()
    except BrokenPipeError:  # `alertdrill lint | head`: the reader has seen enough
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open until exit, so no flush error
    errors = sum(f.level == "error" for f in findings)
    warnings = len(findings) - errors
    live = f"live checks against {prometheus.url}" if prometheus else "offline (no live checks)"
    print(f"alertdrill lint: {errors} error(s), {warnings} warning(s); {live}", file=sys.stderr)
    return 1 if errors else 0
