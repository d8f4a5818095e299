"""Put one drill into the Allure results: labels, runbook link, tables, plot, rule, evidence, payloads.

Called by the scenarios' ``drill`` fixture after :func:`alertdrill.drill.run_drill`, for passed and
failed runs alike: a failed drill is exactly the one a reviewer needs to see. The steps themselves are
already in the result (the drill's StepRecorder opens Allure steps as it goes); this adds what a
reviewer looks at. Every part is built on its own and a part that cannot be built becomes a short
"report problem" attachment instead of an exception, so reporting never hides the drill's own verdict.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertdrill.report.labels import RunbookLink, allure_severity, runbook_link
from alertdrill.report.load import ledger_line, locust_csv_html, window_html, window_line
from alertdrill.report.markup import esc, page
from alertdrill.report.plot import fetch_plot_data, marks_from_timeline, render_png, window_of
from alertdrill.report.rules import rule_comparison_html, shipped_rule
from alertdrill.report.tables import contract_html, timeline_csv, timeline_html
from alertdrill.results import DrillResult, TimelineRow

__all__ = ["Attachment", "DrillReport", "attach_drill", "build_report"]


@dataclass(frozen=True)
class Attachment:
    """One file for the report: ``kind`` is html, csv, png, json or txt."""

    name: str
    body: bytes | str
    kind: str


@dataclass
class DrillReport:
    """Everything :func:`attach_drill` hands to Allure, built without Allure (so it is testable)."""

    epic: str
    features: list[str]
    story: str
    severity: str
    links: list[RunbookLink] = field(default_factory=list)
    description_html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rule_alerts: list[str] = field(default_factory=list)


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _live_rule(rules: list[Any], name: str, labels: Mapping[str, str]) -> Any | None:
    named = [r for r in rules if r.name == name]
    fitting = [r for r in named if all(labels.get(k, v) == v for k, v in r.labels.items())]
    return (fitting or named or [None])[0]


def _guard(report: DrillReport, what: str, build: Callable[[], None]) -> None:
    try:
        build()
    except Exception as exc:  # a report part must never replace the drill's own verdict
        report.problems.append(f"{what}: {type(exc).__name__}: {exc}")


def build_report(result: DrillResult, *, scenario: Any, observers: Any, stack_info: Any,
                 load: Any = None) -> DrillReport:
    """Read what the report needs from the live stack and lay it out; never raises for a report part."""
    contracts = list(scenario.alerts)
    report = DrillReport(epic=scenario.component, features=_unique(c.name for c in contracts), story=scenario.id,
                         severity="normal")
    rules: list[Any] = []

    def read_rules() -> None:
        rules.extend(observers.prometheus.rules())
        report.rule_alerts = sorted({r.name for r in rules})

    _guard(report, "reading the live rules", read_rules)
    live = {(c.name, tuple(sorted(c.labels.items()))): _live_rule(rules, c.name, c.labels) for c in contracts}
    report.severity = allure_severity(
        (rule.labels.get("severity") if rule else c.labels.get("severity"))
        for c, rule in zip(contracts, live.values(), strict=False))
    for name in report.features:
        rule = next((r for r in live.values() if r is not None and r.name == name), None)
        link = runbook_link(name, rule.annotations) if rule else None
        if link:
            report.links.append(link)
    rows = result.timeline
    plots: list[tuple[str, bytes]] = []
    _guard(report, "timeline", lambda: _timeline(report, result))
    _guard(report, "plot", lambda: plots.extend(_plots(report, result, contracts, live, rows, observers)))
    _guard(report, "rules", lambda: _rules(report, contracts, live, stack_info))
    _guard(report, "evidence", lambda: _evidence(report, result, scenario))
    _guard(report, "notifications", lambda: _notifications(report, observers))
    if load is not None or result.load_during_fault:
        _guard(report, "load", lambda: _load(report, result, load))
    report.attachments.append(Attachment("drill result (JSON)", json.dumps(result.to_json(), indent=2, default=str),
                                         "json"))
    report.description_html = _description(scenario, result, plots, report.links)
    if report.problems:
        report.attachments.append(Attachment("report problems", "\n".join(report.problems), "txt"))
    return report


def _timeline(report: DrillReport, result: DrillResult) -> None:
    body = "<h1>" + esc(result.scenario) + "</h1>" + contract_html(result) + timeline_html(result.timeline)
    report.attachments.append(Attachment("timeline", page(f"timeline {result.scenario}", body), "html"))
    report.attachments.append(Attachment("timeline (CSV)", timeline_csv(result.timeline), "csv"))


def _plots(report: DrillReport, result: Any, contracts: list[Any], live: Mapping[Any, Any],
           rows: list[TimelineRow], observers: Any) -> list[tuple[str, bytes]]:
    start, end = window_of(result, rows)
    anchor = result.injected_at or result.started
    fault = (result.injected_at, result.reverted_at or result.ended) if result.injected_at else None
    base = result.injected_at or 0.0
    done: set[str] = set()
    out = []
    for contract in contracts:
        rule = live.get((contract.name, tuple(sorted(contract.labels.items()))))
        if rule is None or rule.query in done:
            continue
        done.add(rule.query)
        marks = marks_from_timeline(rows, contract.name, contract.labels, base)
        plot = fetch_plot_data(observers.prometheus, title=f"{result.scenario}: {contract.title}", expr=rule.query,
                               start=start, end=end, anchor=anchor, fault=fault, marks=marks)
        png = render_png(plot)
        name = f"plot: {contract.title}"
        report.attachments.append(Attachment(name, png, "png"))
        out.append((name, png))
    return out


def _rules(report: DrillReport, contracts: list[Any], live: Mapping[Any, Any], stack_info: Any) -> None:
    differences = list(getattr(stack_info, "differences", None) or [])
    files = list(getattr(stack_info, "rule_files", None) or [])
    if not files:
        from alertdrill.stack.layout import shipped_rule_files

        files = [str(p) for p in shipped_rule_files()]
    sections, seen = [], set()
    for contract in contracts:
        rule = live.get((contract.name, tuple(sorted(contract.labels.items()))))
        key = (contract.name, rule.query if rule else None)
        if key in seen:
            continue
        seen.add(key)
        sections.append(rule_comparison_html(contract.name, live=rule,
                                             shipped=shipped_rule(files, contract.name, contract.labels),
                                             differences=differences))
    report.attachments.append(Attachment("rule: shipped vs tested", page("rules", "".join(sections)), "html"))


def _evidence(report: DrillReport, result: Any, scenario: Any) -> None:
    body = {"fault": scenario.fault.kind, "params": scenario.fault.params, "evidence": result.evidence}
    report.attachments.append(Attachment("fault evidence", json.dumps(body, indent=2, default=str), "json"))


def _notifications(report: DrillReport, observers: Any) -> None:
    notes = [n.to_dict() for n in observers.sink.notifications()]
    report.attachments.append(Attachment(f"notification payloads ({len(notes)})",
                                         json.dumps(notes, indent=2, default=str), "json"))


def _load(report: DrillReport, result: DrillResult, load: Any) -> None:
    """Locust's stats: the fault window and ledger the scenarios record, or a load run's own CSV."""
    if result.load_during_fault:
        html = window_html(result.load_during_fault, result.ledger)
        report.attachments.append(Attachment("Locust stats during the fault", html, "html"))
        body = {"load_during_fault": result.load_during_fault, "ledger": result.ledger}
        report.attachments.append(Attachment("Locust stats (JSON)", json.dumps(body, indent=2, default=str), "json"))
    if load is not None:
        directory = Path(getattr(getattr(load, "artifacts", None), "directory", load))
        html, text = locust_csv_html(directory)
        report.attachments.append(Attachment("Locust stats (whole run)", html, "html"))
        report.attachments.append(Attachment("Locust stats (CSV)", text, "csv"))
        if (directory / "report.html").is_file():
            report.attachments.append(Attachment("Locust report", (directory / "report.html").read_text(), "html"))


def _description(scenario: Any, result: DrillResult, plots: list[tuple[str, bytes]],
                 links: list[RunbookLink]) -> str:
    """The test page itself: what was done, the verdict per contract, and the plot, without a click.

    Allure shows this HTML in a sandboxed frame without our stylesheet, so colours are inline.
    """
    runbooks = " ".join(f'<a href="{esc(link.url)}" target="_blank">{esc(link.alert)}</a>' for link in links)
    parts = [f"<p>{esc(scenario.description)}</p>" if scenario.description else "",
             f"<p><b>fault</b> <code>{esc(scenario.fault.kind)}</code> "
             f"<code>{esc(json.dumps(scenario.fault.params))}</code>"
             + (f" &middot; <b>runbook</b> {runbooks}" if runbooks else "") + "</p>"]
    if result.load_during_fault:
        parts.append(f"<p><b>load during the fault</b> {esc(window_line(result.load_during_fault))}"
                     + (f" &middot; <b>ledger</b> {esc(ledger_line(result.ledger))}" if result.ledger else "")
                     + "</p>")
    if result.diagnosis:
        parts.append(f'<p style="color:#cf222e"><b>{esc(result.status)}:</b></p>'
                     f'<pre style="white-space:pre-wrap">{esc(result.diagnosis)}</pre>')
    parts.append(contract_html(result, compact=True))
    for name, png in plots[:2]:
        src = "data:image/png;base64," + base64.b64encode(png).decode()
        parts.append(f'<figure><img alt="{esc(name)}" src="{src}" style="max-width:100%"></figure>')
    return "".join(parts)


_TYPES = {"html": "HTML", "csv": "CSV", "png": "PNG", "json": "JSON", "txt": "TEXT"}


def attach_drill(result: DrillResult, *, scenario: Any, observers: Any, stack_info: Any,
                 load: Any = None) -> DrillReport | None:
    """Attach ``result`` to the running Allure test; records the rules' alert names in ``result.rule_alerts``.

    Never raises: on the failure path an exception here would replace the drill's own error.
    """
    try:
        return _attach(result, scenario=scenario, observers=observers, stack_info=stack_info, load=load)
    except Exception as exc:
        warnings.warn(f"alertdrill report for {getattr(scenario, 'id', '?')}: not attached: "
                      f"{type(exc).__name__}: {exc}", stacklevel=2)
        return None


def _attach(result: DrillResult, *, scenario: Any, observers: Any, stack_info: Any, load: Any) -> DrillReport:
    report = build_report(result, scenario=scenario, observers=observers, stack_info=stack_info, load=load)
    if report.rule_alerts:
        result.rule_alerts = result.rule_alerts or list(report.rule_alerts)  # the summary page's coverage
    for problem in report.problems:
        warnings.warn(f"alertdrill report for {scenario.id}: {problem}", stacklevel=3)
    try:
        import allure
        from allure_commons.types import AttachmentType
    except ImportError:  # pragma: no cover - allure-pytest is a dependency; the drill works without it
        return report
    allure.dynamic.epic(report.epic)
    allure.dynamic.feature(*report.features)
    allure.dynamic.story(report.story)
    allure.dynamic.severity(allure.severity_level(report.severity))
    for link in report.links:
        allure.dynamic.link(link.url, name=link.name)
    allure.dynamic.description_html(report.description_html)
    for item in report.attachments:
        allure.attach(item.body, name=item.name, attachment_type=AttachmentType[_TYPES[item.kind]])
    return report
