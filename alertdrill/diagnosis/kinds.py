"""The named root causes a diagnosis reports, each with the severity it has when it is certain.

A kind is a stable name (CI, the report and the corpus under tests/rule_corpus/ use it) for one way a
rule is broken. A check may lower a finding to ``suspicious`` when the evidence is only static (no
live Prometheus said so) or only possible (values may filter the series).
"""

from __future__ import annotations

__all__ = ["KINDS", "describe"]

#: kind -> (severity when certain, what it means in a few words)
KINDS: dict[str, tuple[str, str]] = {
    "vector-match-never": ("broken", "a binary operator whose two sides never match"),
    "vector-match-ambiguous": ("broken", "a one-to-one match that finds several series per key"),
    "rate-over-gauge": ("broken", "rate()/irate()/increase() over a gauge"),
    "delta-over-counter": ("broken", "delta()/deriv() over a counter"),
    "raw-counter-threshold": ("broken", "a raw counter compared with a threshold"),
    "threshold-unreachable": ("broken", "a threshold outside the value's domain"),
    "threshold-always-met": ("broken", "a condition true for every value, or already true at baseline"),
    "timestamp-age-never": ("broken", "an age computed from a timestamp that is 0 for never"),
    "labels-lost-by-aggregation": ("broken", "labels routing, grouping, inhibition or the contract need are lost"),
    "co-firing": ("broken", "fires together with another alert for one cause"),
    "dead-selector": ("broken", "a selector that matches no series"),
    "duplicate-alert": ("broken", "one alert name in two groups"),
}


def describe(kind: str) -> str:
    """The few words that explain ``kind`` (its own name when unknown)."""
    return KINDS.get(kind, ("", kind))[1]
