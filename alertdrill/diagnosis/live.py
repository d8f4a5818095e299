"""Root causes that only the live Prometheus can show: values now, on the stack the rule watches.

The selector and join checks live in :mod:`alertdrill.lint.live` (they need series and label sets);
this module adds the checks that need current *values*: an expression already true on the idle
stack, and a timestamp that is 0 ("never happened") on real series.
"""

from __future__ import annotations

from alertdrill.assertions.diagnostics import describe_samples
from alertdrill.diagnosis.static import timestamp_ages
from alertdrill.errors import AlertdrillError
from alertdrill.lint.findings import Finding, shorten
from alertdrill.lint.live import LiveSeries
from alertdrill.lint.promql import Node
from alertdrill.lint.rules import Rule

__all__ = ["check_baseline", "check_timestamp_zeros"]


def check_baseline(rule: Rule, live: LiveSeries, *, when: str = "on the idle stack") -> list[Finding]:
    """The rule's expression returns series right now: it fires without any fault."""
    try:
        samples = live.client.query(rule.expr)
    except AlertdrillError:
        return []
    if not samples:
        return []
    return [rule.finding(
        "error", "baseline", f"`{shorten(rule.expr, 60)}` is already true {when}: {describe_samples(samples)}",
        "invert or tighten the condition so that normal operation (the idle or steadily loaded stack) is below "
        "the threshold", kind="threshold-always-met", origin=live.origin)]


def check_timestamp_zeros(rule: Rule, tree: Node, live: LiveSeries) -> list[Finding]:
    """``time() - X > N`` where X is 0 on live series: each of them fires at once with a 56-year age."""
    out = []
    for age in timestamp_ages(tree):
        if age.guarded:
            continue
        text = age.selector.selector.text
        try:
            zeros = live.client.query(f"{text} == 0")
        except AlertdrillError:
            continue
        if zeros:
            out.append(rule.finding(
                "error", "timestamp", f"`{shorten(age.text, 60)}`: {text} is 0 (\"never\") on "
                f"{describe_samples(zeros)}, so the age is about 56 years and those series fire at once",
                f"exclude never: `... and {text} > 0`", kind="timestamp-age-never", origin=live.origin))
    return out
