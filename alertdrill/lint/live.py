"""Checks against a running Prometheus: the series a rule reads exist, and its joins can match them.

Offline, a misspelt metric or label is valid PromQL that silently selects nothing. Asked live, the
exporters' real series show the typo (with the closest real name) and the label sets that
:class:`~alertdrill.lint.labels.LabelShapes` needs to check the joins.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from alertdrill.assertions.diagnostics import describe_samples
from alertdrill.assertions.promql import Selector, selectors
from alertdrill.errors import AlertdrillError, ConfigError
from alertdrill.lint.findings import Finding, listing
from alertdrill.lint.labels import LabelShapes
from alertdrill.lint.promql import RULE_METRICS, Binary, Call, Node, Num, Paren, parse_promql
from alertdrill.lint.rules import Rule

__all__ = ["TARGET_LABELS", "LiveSeries", "check_joins", "check_selectors"]

#: Labels that come from the scrape configuration: a value no target has is a typo, not a quiet time.
TARGET_LABELS = frozenset({"job", "instance"})


class LiveSeries:
    """Answers selectors from a running Prometheus, with a cache (one query per selector text)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.origin: str = getattr(client, "url", "")
        self.cache: dict[str, list[dict[str, str]]] = {}
        self._names: list[str] | None = None

    def query(self, expr: str) -> list[dict[str, str]]:
        if expr not in self.cache:
            self.cache[expr] = [dict(s.labels) for s in self.client.query(expr)]
        return self.cache[expr]

    def series(self, selector: Selector) -> list[dict[str, str]]:
        return self.query(selector.text)

    def of_metric(self, metric: str) -> list[dict[str, str]]:
        """Every series of ``metric``, whatever its labels."""
        return self.query(Selector(metric).text)

    def relaxed(self, selector: Selector) -> list[dict[str, str]]:
        """The selector's series, or, when its matchers select nothing now (5xx only in an incident),
        every series of its metric: their label *names* are what the join check needs."""
        found = self.series(selector)
        if found or not selector.metric:
            return found
        return self.of_metric(selector.metric)

    def metric_names(self) -> list[str]:
        if self._names is None:
            self._names = [str(n) for n in self.client.api("/label/__name__/values") or []]
        return self._names


def check_selectors(rule: Rule, live: LiveSeries) -> list[Finding]:
    """Each selector of the rule returns series now, or the finding says why not."""
    out = []
    for sel in selectors(rule.expr):
        if sel.metric in RULE_METRICS or live.series(sel):
            continue
        where = f"selector `{sel.text}` returns no series"
        if sel.metric and not live.of_metric(sel.metric):
            close = difflib.get_close_matches(sel.metric, live.metric_names(), n=1, cutoff=0.75)
            hint = f"did you mean `{close[0]}`?" if close else "check the name against the exporter's /metrics"
            out.append(rule.finding("error", "selector", f"{where}: no target exports {sel.metric}", hint,
                                    kind="dead-selector", origin=live.origin))
            continue
        base = Selector(sel.metric).text if sel.metric else None
        for m in sel.matchers:
            if m.name == "__name__" or base is None:
                continue
            values = sorted({s[m.name] for s in live.query(f"count by ({m.name}) ({base})") if m.name in s})
            if not values:
                labels = listing({k for s in live.query(base) for k in s} - {"__name__"})
                close = difflib.get_close_matches(m.name, labels.split(", "), n=1, cutoff=0.5)
                out.append(rule.finding("error", "selector",
                                        f"{where}: {sel.metric} has no label {m.name} (its labels: {labels})",
                                        f"did you mean {close[0]}?" if close else "fix the label name in the matcher",
                                        kind="dead-selector", origin=live.origin))
            elif m.op == "=" and m.value not in values:
                close = difflib.get_close_matches(m.value, values, n=1)
                hint = f"did you mean {m.name}=\"{close[0]}\"?" if close else "check the value"
                target = m.name in TARGET_LABELS  # set by the scrape config, not by an incident
                out.append(rule.finding("error" if target else "warning", "selector",
                                        f"{where}: no {sel.metric} has {m.name}=\"{m.value}\" "
                                        f"{'(no target has it)' if target else 'now'} (values: "
                                        f"{listing(values[:8])})",
                                        hint + ("" if target else " (fine if it only appears during an incident)"),
                                        kind="dead-selector", origin=live.origin))
    return out


def check_joins(rule: Rule, live: LiveSeries, group_by: Sequence[str] = ()) -> list[Finding]:
    """Binary operators can match series, and the alert keeps the labels Alertmanager groups by."""
    shapes = LabelShapes(live.relaxed)
    try:
        shape = shapes.evaluate(parse_promql(rule.expr))
    except ConfigError as exc:
        return [rule.finding("warning", "join", f"cannot follow labels through the expression ({exc})",
                             "report the expression to alertdrill's maintainers")]
    out = [rule.finding(p.level, "join", p.problem + _values_now(live, p.node), p.fix, kind=p.kind,
                        origin=live.origin) for p in shapes.problems]
    if shape.series and not shapes.problems and not is_absence(parse_promql(rule.expr)):
        lacking = [n for n in group_by if n not in rule.labels and any(n not in s for s in shape.series)]
        if lacking:
            out.append(rule.finding("error", "join", f"its alerts lack {listing(lacking)}, which "
                                    "Alertmanager groups and inhibits by: instances merge into one notification",
                                    f"keep {listing(lacking)} in the result (by ({listing(lacking)}) / on (...))",
                                    kind="labels-lost-by-aggregation", origin=live.origin))
    return out


def _values_now(live: LiveSeries, node: Binary | None) -> str:
    """``; now: left {...} = 3, right {...} = 50``: the current values of both sides, best effort."""
    if node is None or not node.lhs_text or not node.rhs_text:
        return ""
    try:
        left, right = live.client.query(_unfiltered(node.lhs, node.lhs_text)), live.client.query(
            _unfiltered(node.rhs, node.rhs_text))
    except AlertdrillError:
        return ""
    return f"; now: left {describe_samples(left)}; right {describe_samples(right)}"


def is_absence(node: Node) -> bool:
    """An expression made only of absent()/absent_over_time() calls: its alerts are about a missing
    series, whose only labels are the selector's, so there is no instance to keep."""
    if isinstance(node, Paren):
        return is_absence(node.expr)
    if isinstance(node, Binary) and node.op == "or":
        return is_absence(node.lhs) and is_absence(node.rhs)
    return isinstance(node, Call) and node.func in ("absent", "absent_over_time")


def _unfiltered(node: Node, text: str) -> str:
    """``x`` for a side ``x > 100``: the values a threshold filters are the evidence, not the empty result."""
    while isinstance(node, Paren):
        node = node.expr
    if isinstance(node, Binary) and node.filters and isinstance(node.rhs, Num) and node.lhs_text:
        return node.lhs_text
    if isinstance(node, Binary) and node.filters and isinstance(node.lhs, Num) and node.rhs_text:
        return node.rhs_text
    return text
