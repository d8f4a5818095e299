"""The summary page: every alert contract of the run at a glance, and what the run did not cover.

One row per alert and scenario: fired / delivered / resolved, each measured time against its deadline
(the ideal pipeline's best..worst case shaded on the bar, and as a column), the status, and a link to
the scenario's page in the Allure report. Below it, coverage (alerts with no scenario, scenarios whose
alerts the rules lack, catalogue scenarios that did not run) and the plots. Written from
``summary.json`` as static HTML.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertdrill.errors import ConfigError
from alertdrill.matrix import matrix_rows
from alertdrill.report.markup import esc, page, table
from alertdrill.report.tables import BOUNDS_NOTE, bounds_cell, deadline_cell, delivered_cell, status_html
from alertdrill.results import DrillResult, RunSummary
from alertdrill.stack.rulefiles import rule_file_alerts

__all__ = ["CoverageView", "coverage_view", "rule_alerts_of", "summary_page"]


@dataclass(frozen=True)
class CoverageView:
    """What the summary page says about coverage, and where the rule names came from."""

    uncovered: list[str] = field(default_factory=list)
    missing_from_rules: dict[str, list[str]] = field(default_factory=dict)
    not_provable: dict[str, str] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    source: str = ""
    #: alert -> "proven by a drill" / "proven by synthesis only" / "cannot fire (reason)" (from prove.json)
    per_alert: dict[str, str] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        """(what, which) pairs for the page; empty when everything is covered and ran."""
        out = []
        if self.uncovered:
            out.append(("alerts in the rules with no scenario", ", ".join(self.uncovered)))
        if self.missing_from_rules:
            out.append(("scenarios whose alerts the rules lack",
                        "; ".join(f"{sid}: {', '.join(names)}" for sid, names in self.missing_from_rules.items())))
        out += [(f"alert {name} cannot be proven", why) for name, why in self.not_provable.items()]
        if self.not_run:
            out.append((f"catalogue scenarios that did not run ({len(self.not_run)})", ", ".join(self.not_run)))
        out += [(f"alert {name}", how) for name, how in sorted(self.per_alert.items())]
        return out


def rule_alerts_of(results: Iterable[DrillResult], rule_files: Iterable[Path]) -> tuple[set[str], str]:
    """The alert names of the rules under test: as recorded by the run, else from the rule files."""
    recorded = {name for r in results for name in r.rule_alerts}
    if recorded:
        return recorded, "the rules the run's Prometheus loaded"
    files = list(rule_files)
    try:
        names = rule_file_alerts(files)
    except ConfigError:
        names = set()
    return names, f"the shipped rule files ({len(files)}), as the run recorded none"


def coverage_view(results: Sequence[DrillResult], catalogue: Any, rule_files: Iterable[Path],
                  proofs: Sequence[Any] = ()) -> CoverageView:
    """Catalogue.coverage over the run's rules, plus catalogue scenarios that have no result, plus what
    ``prove`` found per alert (``proofs``: ProofResults) next to the drills that passed."""
    from alertdrill.prove.result import alert_coverage

    names, source = rule_alerts_of(results, rule_files)
    ran = {r.scenario for r in results}
    cov = catalogue.coverage(names)
    drilled = {a.alert for r in results if r.status == "passed" for a in r.alerts}
    per_alert = ({c.alert: c.kind.value + (f" ({c.reason})" if c.reason else "")
                  for c in alert_coverage(names, proofs, drilled).values()} if proofs else {})
    return CoverageView(uncovered=list(cov.uncovered),
                        missing_from_rules={k: list(v) for k, v in cov.missing_from_rules.items()},
                        not_provable=dict(cov.not_provable),
                        not_run=[s.id for s in catalogue.scenarios if s.id not in ran], source=source,
                        per_alert=per_alert)


def _rows(results: Sequence[DrillResult], links: Mapping[str, str]) -> tuple[list[list[str]], int, int]:
    rows = matrix_rows(results)
    cells = []
    for row in rows:
        sid = row.scenario
        name = f'<a href="{esc(links[sid])}">{esc(sid)}</a>' if sid in links else esc(sid)
        labels = ", ".join(f'{k}="{v}"' for k, v in row.labels.items())
        cells.append([
            name, f"<b>{esc(row.alert)}</b>" + (f'<br><code class="labels">{esc("{" + labels + "}")}</code>'
                                                if labels else ""),
            deadline_cell(row.fired.measured, row.fired.deadline, row.bounds if row.delivered_note else None),
            delivered_cell(row), deadline_cell(row.resolved.measured, row.resolved.deadline),
            bounds_cell(row), status_html(row),
        ])
    return cells, sum(r.passed for r in rows), len(rows)


def summary_page(summary: RunSummary | None, *, coverage: CoverageView | None = None,
                 links: Mapping[str, str] | None = None, scenario_links: Mapping[str, str] | None = None,
                 plots: Mapping[str, Sequence[tuple[str, bytes]]] | None = None, notes: Sequence[str] = ()) -> str:
    """The whole page; ``links`` are the run's files (Allure report, JUnit XML, ...) by title."""
    results = summary.results if summary else []
    rows, passed, total = _rows(results, scenario_links or {})
    body = ["<h1>alertdrill: alert contracts</h1>"]
    if links:
        body.append("<p>" + " · ".join(f'<a href="{esc(href)}">{esc(title)}</a>' for title, href in links.items())
                    + "</p>")
    if summary is None:
        body.append('<p class="failed">No summary.json: the chaos run wrote no alertdrill summary, so only the '
                    "Allure report is available.</p>")
    else:
        wall = summary.wall_seconds
        cards = [("alert contracts passed", f"{passed}/{total}", "passed" if passed == total and total else "failed"),
                 ("scenarios", str(len(results)), ""),
                 ("wall time", f"{wall:.0f} s" if isinstance(wall, (int, float)) else "-", ""),
                 ("time scale", "-" if summary.time_scale is None else f"{summary.time_scale:g}", "")]
        body.append('<div class="cards">' + "".join(f'<div class="card"><b class="{c}">{esc(v)}</b>{esc(k)}</div>'
                                                    for k, v, c in cards) + "</div>")
        headers = ("scenario", "alert", "fired (after injection)", "delivered", "resolved (after revert)",
                   "best..worst case", "status")
        body.append(table(headers, rows) if rows else "<p>No scenario ran.</p>")
        body.append(f'<p class="muted">{esc(BOUNDS_NOTE)}</p>')
    body += [f'<p class="muted">note: {esc(note)}</p>' for note in notes]
    if coverage is not None:
        body.append("<h2>Coverage</h2>")
        rows = coverage.rows()
        body.append(table(("", "which"), [[f"<b>{esc(what)}</b>", esc(which)] for what, which in rows]) if rows
                    else '<p class="ok">Every alert in the rules has a scenario, and every scenario ran.</p>')
        body.append(f'<p class="muted">Rule names from {esc(coverage.source)}.</p>')
    if plots:
        body.append("<h2>Plots</h2>")
        for sid, images in plots.items():
            for name, png in images:
                src = "data:image/png;base64," + base64.b64encode(png).decode()
                link = (scenario_links or {}).get(sid)
                img = f'<img alt="{esc(name)}" src="{src}">'
                if link:
                    img = f'<a href="{esc(link)}">{img}</a>'
                body.append(f"<figure>{img}<figcaption>{esc(sid)}: {esc(name)}</figcaption></figure>")
    return page("alertdrill summary", "".join(body))
