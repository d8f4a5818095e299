"""``alertdrill report``: one command from the chaos run's results to the HTML a reviewer opens.

Registered by :mod:`alertdrill.cli`. Defaults follow ``make chaos``: Allure results in
``reports/allure-results``, the summary in ``reports/summary.json``, JUnit XML in ``reports/junit.xml``
(``$ALERTDRILL_REPORT_DIR`` replaces ``reports``); the HTML goes to ``reports/html``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alertdrill.settings import resolve_setting

__all__ = ["cmd_report", "register"]


def _report_dir() -> Path:
    return resolve_setting("report_dir")


def cmd_report(args: argparse.Namespace) -> int:
    from alertdrill.report.render import render_report

    base = _report_dir()
    rendered = render_report(
        Path(args.results or base / "allure-results"),
        Path(args.output or base / "html"),
        summary_path=Path(args.summary or base / "summary.json"),
        junit_path=Path(args.junit or base / "junit.xml"),
        catalogue_path=resolve_setting("catalogue", option=args.catalogue),
        renderer=args.renderer,
        tools_dir=Path(args.tools_dir) if args.tools_dir else None,
    )
    print(f"report: {rendered.index} (summary matrix)")
    print(f"        {rendered.allure_index} (Allure {rendered.renderer.version}, every scenario)")
    for note in rendered.notes:
        print(f"note: {note}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to the ``alertdrill`` parser."""
    report = subparsers.add_parser("report", help="render the HTML report (summary matrix + Allure report)",
                                   description=__doc__.splitlines()[0])
    report.add_argument("--results", metavar="DIR", default=None,
                        help="Allure results of the chaos run (default: reports/allure-results)")
    report.add_argument("--output", metavar="DIR", default=None, help="where the HTML goes (default: reports/html)")
    report.add_argument("--summary", metavar="PATH", default=None,
                        help="alertdrill's summary of the run (default: reports/summary.json)")
    report.add_argument("--junit", metavar="PATH", default=None,
                        help="pytest's JUnit XML, linked when present (default: reports/junit.xml)")
    report.add_argument("--catalogue", metavar="PATH", default=None,
                        help="scenario catalogue for the coverage section (default: the shipped catalogue)")
    report.add_argument("--renderer", choices=("auto", "allure3", "allure2"), default="auto",
                        help="Allure 3 (Node.js) or Allure 2 (Java 17); auto prefers Allure 3 (default: auto)")
    report.add_argument("--tools-dir", metavar="DIR", default=None,
                        help="where Allure is installed from npm on first use (default: .cache; "
                             "env ALERTDRILL_TOOLS_DIR)")
    report.set_defaults(func=cmd_report)
