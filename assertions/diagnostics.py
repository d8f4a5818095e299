"""What a failed expectation shows: the rule, its value now, each selector's value, the timeline.

"The alert did not fire" is only useful with the reason next to it; most often one selector of the
expression returns no series (a renamed metric, a wrong job label), which this makes visible.
Every lookup here is best effort: if Prometheus itself is down, that is what the message says.
"""

from __future__ import annotations

from collections.abc import Mapping

from alertdrill.errors import AlertdrillError

from .alertmanager import AlertmanagerClient
from .prometheus import AlertingRule, PrometheusClient, Sample
from .promql import selectors
from .timeline import Timeline, format_labels

__all__ = ["describe_samples", "diagnose", "selector_report"]

MAX_SHOWN = 3


def describe_samples(samples: list[Sample]) -> str:
    """``2 series: {job="a"} = 1, {job="b"} = 0`` or ``returns no series``."""
    if not samples:
        return "returns no series"
    shown = ", ".join(f"{format_labels(s.labels) or '{}'} = {s.value:g}" for s in samples[:MAX_SHOWN])
    more = f", ... {len(samples) - MAX_SHOWN} more" if len(samples) > MAX_SHOWN else ""
    return f"{len(samples)} series: {shown}{more}"


def selector_report(prometheus: PrometheusClient, expr: str) -> list[tuple[str, list[Sample] | None, str]]:
    """``(selector, samples or None on error, description)`` for each selector in ``expr``."""
    out: list[tuple[str, list[Sample] | None, str]] = []
    try:
        sels = selectors(expr)
    except AlertdrillError as exc:
        return [("(expression)", None, f"cannot parse: {exc}")]
    for sel in sels:
        try:
            samples = prometheus.query(sel.text)
        except AlertdrillError as exc:
            out.append((sel.text, None, f"query failed: {exc}"))
            continue
        out.append((sel.text, samples, describe_samples(samples)))
    return out


def diagnose(*, name: str, labels: Mapping[str, str], rule: AlertingRule | None, prometheus: PrometheusClient,
             alertmanager: AlertmanagerClient | None, timeline: Timeline | None, anchor: float | None) -> str:
    """Indented lines: the rule, the expression's and each selector's value now, the states, the timeline."""
    lines = []
    if rule is not None:
        lines.append(f"  rule: {rule.query}  (for {rule.duration:g} s, group '{rule.group}' every "
                     f"{rule.group_interval:g} s, health {rule.health or '?'}"
                     + (f", last error: {rule.last_error}" if rule.last_error else "") + ")")
        try:
            lines.append(f"  expression now: {describe_samples(prometheus.query(rule.query))}")
        except AlertdrillError as exc:
            lines.append(f"  expression now: unavailable ({exc})")
        for text, _, description in selector_report(prometheus, rule.query):
            lines.append(f"  selector {text}: {description}")
    try:
        active = [a for a in prometheus.alerts() if a.name == name]
        states = ", ".join(f"{a.state} {format_labels(a.labels)}" for a in active) or "not pending or firing"
        lines.append(f"  Prometheus now: {states}")
    except AlertdrillError as exc:
        lines.append(f"  Prometheus now: unavailable ({exc})")
    if alertmanager is not None:
        try:
            held = alertmanager.alerts({"alertname": name, **labels})
            states = ", ".join(
                f"{a.state} {format_labels(a.labels)}" + (f" inhibitedBy={list(a.inhibited_by)}" * bool(a.inhibited_by))
                for a in held) or "holds no such alert"
            lines.append(f"  Alertmanager now: {states}")
        except AlertdrillError as exc:
            lines.append(f"  Alertmanager now: unavailable ({exc})")
    if timeline is not None:
        lines.append("  timeline (t relative to the anchor):" if anchor else "  timeline:")
        lines.extend("    " + row for row in timeline.format(anchor, alert=name).splitlines())
    return "\n".join(lines)
