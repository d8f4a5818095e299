"""Root causes visible in a rule's expression alone (with metric types when a Prometheus told them).

Each check walks the syntax tree of :func:`~alertdrill.lint.promql.parse_promql` and returns
Findings with a kind from :mod:`alertdrill.diagnosis.kinds`, the evidence and the fix. No check
evaluates PromQL: value ranges are interval arithmetic over what the metrics' names and types say
(:mod:`alertdrill.diagnosis.metrics`), and label flow is which labels each step can keep.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from alertdrill.diagnosis.metrics import INF, UNKNOWN, Domain, MetricTypes, is_limit, is_timestamp, metric_domain
from alertdrill.lint.findings import Finding, listing, shorten
from alertdrill.lint.promql import (
    COMPARISONS,
    Agg,
    Binary,
    Call,
    Node,
    Num,
    Paren,
    Sel,
    Str,
    Unary,
    walk,
)
from alertdrill.lint.rules import Rule

__all__ = [
    "COFIRING_CAUSES",
    "CoFiringCause",
    "check_cofiring",
    "check_counter_types",
    "check_labels_lost",
    "check_static_matching",
    "check_thresholds",
    "check_timestamp_ages",
    "domain",
    "kept_labels",
    "timestamp_ages",
]

RATE_FUNCS = frozenset({"rate", "irate", "increase"})
DELTA_FUNCS = frozenset({"delta", "idelta", "deriv"})
_SAME_DOMAIN = frozenset({"avg_over_time", "min_over_time", "max_over_time", "last_over_time", "quantile_over_time",
                          "round", "ceil", "floor", "sort", "sort_desc", "label_replace", "label_join", "scalar",
                          "vector", "mad_over_time"})
_NON_NEGATIVE_FUNCS = frozenset({"rate", "irate", "increase", "changes", "resets", "count_over_time", "abs", "time",
                                 "timestamp", "stddev_over_time", "stdvar_over_time", "day_of_month", "hour"})
#: Functions whose value is not the value of their argument: a counter inside is not "raw".
_VALUE_FREE = frozenset({"absent", "absent_over_time", "present_over_time", "count_over_time", "timestamp",
                         "changes", "resets", *RATE_FUNCS, *DELTA_FUNCS, "predict_linear", "holt_winters",
                         "histogram_quantile"})


# --- value domains -------------------------------------------------------------------------------

#: Sizes of the host, not of the service: a usage divided by one of them never reaches a limit the service
#: enforces itself (maxmemory, a container's memory limit) -> the configured limit to divide by instead.
HOST_SIZES = {"redis_total_system_memory_bytes": "redis_memory_max_bytes",
              "node_memory_MemTotal_bytes": "the service's configured memory limit",
              "machine_memory_bytes": "the container's memory limit"}


def _mul(a: float, b: float) -> float:
    return 0.0 if a == 0 or b == 0 else a * b


def _scale(d: Domain, k: float, what: str) -> Domain:
    ends = (_mul(d.lo, k), _mul(d.hi, k))
    return Domain(min(ends), max(ends), what)


def _show(text: str, limit: int = 60) -> str:
    """An expression as Prometheus prints it, without its empty ``{}`` matchers, cut to ``limit``."""
    return shorten(text.replace("{}", ""), limit)


def _selectors(node: Node) -> list[Sel]:
    return [n for n in walk(node) if isinstance(n, Sel)]


def _limit_only(node: Node) -> bool:
    """The node reads only configured limits (max_connections, maxmemory, ...), maybe filtered or aggregated."""
    sels = _selectors(node)
    return bool(sels) and all(is_limit(s.selector.metric) for s in sels)


def _part_of_whole(num: Node, den: Node) -> bool:
    """``num`` counts a subset of what ``den`` counts: each numerator selector has a denominator selector of
    the same metric with a subset of its matchers (5xx of all requests, hits of hits + reads)."""
    nums, dens = _selectors(num), _selectors(den)
    return bool(nums) and all(
        any(d.selector.metric == n.selector.metric and set(d.selector.matchers) <= set(n.selector.matchers)
            for d in dens) for n in nums)


def domain(node: Node, types: MetricTypes) -> Domain:
    """The values ``node`` can take ([-inf, +inf] when nothing is known)."""
    if isinstance(node, Num):
        return Domain(node.value, node.value)
    if isinstance(node, Str):
        return UNKNOWN
    if isinstance(node, Sel):
        return metric_domain(node.selector.metric, types)
    if isinstance(node, Paren):
        return domain(node.expr, types)
    if isinstance(node, Unary):
        inner = domain(node.expr, types)
        return Domain(-inner.hi, -inner.lo)
    if isinstance(node, Call):
        return _call_domain(node, types)
    if isinstance(node, Agg):
        inner = domain(node.expr, types)
        if node.op in ("avg", "min", "max", "quantile", "topk", "bottomk", "limitk", "limit_ratio"):
            return inner
        if node.op in ("count", "count_values", "stddev", "stdvar"):
            return Domain(0, INF, f"a {node.op}(), never negative,")
        if node.op == "group":
            return Domain(1, 1)
        if node.op == "sum" and inner.lo >= 0:
            return Domain(0, INF, "a sum of non-negative values,")
        return UNKNOWN
    return _binary_domain(node, types)


def _value_arg(node: Call) -> Node:
    """The argument whose values a function passes on (quantile_over_time's second, else the first)."""
    return node.args[1] if node.func == "quantile_over_time" and len(node.args) > 1 else node.args[0]


def _call_domain(node: Call, types: MetricTypes) -> Domain:
    args = [a for a in node.args if not isinstance(a, Str)]
    if node.func in ("absent", "absent_over_time"):
        return Domain(1, 1)
    if node.func in _NON_NEGATIVE_FUNCS:
        return Domain(0, INF, f"a {node.func}(), never negative,")
    if node.func in _SAME_DOMAIN and args:
        return domain(_value_arg(node), types)
    if node.func == "clamp_min" and len(args) == 2 and isinstance(args[1], Num):
        inner = domain(args[0], types)
        return Domain(max(inner.lo, args[1].value), max(inner.hi, args[1].value))
    if node.func == "clamp_max" and len(args) == 2 and isinstance(args[1], Num):
        inner = domain(args[0], types)
        return Domain(min(inner.lo, args[1].value), min(inner.hi, args[1].value))
    return UNKNOWN


def _binary_domain(node: Binary, types: MetricTypes) -> Domain:
    if node.op in COMPARISONS:
        if node.bool_:
            return Domain(0, 1, "0 or 1 (a comparison with bool),")
        vector = node.rhs if isinstance(node.lhs, Num) else node.lhs
        return domain(vector, types)
    if node.op in ("and", "unless"):
        return domain(node.lhs, types)
    lhs, rhs = domain(node.lhs, types), domain(node.rhs, types)
    if node.op == "or":
        return Domain(min(lhs.lo, rhs.lo), max(lhs.hi, rhs.hi))
    if node.op == "+":
        return Domain(lhs.lo + rhs.lo, lhs.hi + rhs.hi) if lhs.known and rhs.known else UNKNOWN
    if node.op == "-":
        return Domain(lhs.lo - rhs.hi, lhs.hi - rhs.lo) if lhs.known and rhs.known else UNKNOWN
    if node.op == "*":
        for scaled, k in ((lhs, rhs), (rhs, lhs)):
            if k.lo == k.hi and scaled.known:
                what = ("a percentage" if scaled.what.startswith("a ratio") and k.lo == 100
                        else scaled.what.rstrip(",") + f" times {k.lo:g}" if scaled.what else "")
                return _scale(scaled, k.lo, (what + ",") if what else "")
        return UNKNOWN
    if node.op == "/":
        if lhs.lo >= 0 and rhs.lo >= 0 and (_limit_only(node.rhs) or _part_of_whole(node.lhs, node.rhs)):
            return Domain(0, 1, "a ratio (a part of its whole, or a usage of its limit),")
        if rhs.lo == rhs.hi and rhs.lo > 0 and lhs.known:
            return _scale(lhs, 1 / rhs.lo, "")
        if lhs.lo >= 0 and rhs.lo >= 0:
            return Domain(0, INF, "a quotient of non-negative values,")
    return UNKNOWN


# --- labels --------------------------------------------------------------------------------------

def kept_labels(node: Node) -> frozenset[str] | None:
    """The labels ``node``'s series can carry at most, or None when that depends on the inputs."""
    if isinstance(node, (Num, Str)):
        return frozenset()
    if isinstance(node, Sel):
        return None
    if isinstance(node, (Paren, Unary)):
        return kept_labels(node.expr)
    if isinstance(node, Call):
        if node.func in ("absent", "absent_over_time"):
            arg = node.args[0] if node.args else None
            return frozenset(m.name for m in arg.selector.matchers if m.op == "=") if isinstance(arg, Sel) \
                else frozenset()
        if node.func in ("vector", "time", "scalar", "pi"):
            return frozenset()
        vectors = [a for a in node.args if not isinstance(a, (Num, Str))]
        inner = kept_labels(vectors[0]) if vectors else frozenset()
        if node.func in ("label_replace", "label_join") and inner is not None and len(node.args) > 1 \
                and isinstance(node.args[1], Str):
            return inner | {node.args[1].value}
        if node.func == "histogram_quantile" and inner is not None:
            return inner - {"le"}
        return inner
    if isinstance(node, Agg):
        if node.op in ("topk", "bottomk", "limitk", "limit_ratio"):
            return kept_labels(node.expr)
        if node.without:
            return None
        extra = {node.param.value} if node.op == "count_values" and isinstance(node.param, Str) else set()
        return frozenset(node.labels) | extra
    lhs, rhs = kept_labels(node.lhs), kept_labels(node.rhs)
    if isinstance(node.lhs, Num) or _scalar(node.lhs):
        return rhs
    if isinstance(node.rhs, Num) or _scalar(node.rhs):
        return lhs
    if node.op in ("and", "unless"):
        return lhs
    if node.op == "or":
        return None if lhs is None or rhs is None else lhs | rhs
    if node.card == "one-to-one" and node.on:
        return frozenset(node.labels)
    many = rhs if node.card == "group_right" else lhs
    return None if many is None else many | set(node.include)


def _scalar(node: Node) -> bool:
    return isinstance(node, Call) and node.func in ("scalar", "time", "pi")


# --- checks --------------------------------------------------------------------------------------

def check_static_matching(rule: Rule, tree: Node) -> list[Finding]:
    """``on (x)`` where a side cannot carry x, or default matching between sides that keep different labels."""
    out = []
    for node in walk(tree):
        if not isinstance(node, Binary) or node.op == "or":
            continue
        if isinstance(node.lhs, Num) or isinstance(node.rhs, Num) or _scalar(node.lhs) or _scalar(node.rhs):
            continue
        lhs, rhs = kept_labels(node.lhs), kept_labels(node.rhs)
        where = f"`{_show(node.text, 70)}`"
        if node.on:
            for side, kept, text in (("left", lhs, node.lhs_text), ("right", rhs, node.rhs_text)):
                if kept is not None and not set(node.labels) <= kept:
                    out.append(rule.finding(
                        "error", "join", f"{where} matches on ({listing(node.labels)}), but the {side} side "
                        f"`{_show(text, 50)}` keeps only ({listing(kept)}): no pair can ever match",
                        f"aggregate the {side} side by ({listing(set(node.labels) | kept)}), or match on labels it "
                        "keeps", kind="vector-match-never"))
                    break
        elif node.on is None and lhs is not None and rhs is not None and lhs != rhs:
            out.append(rule.finding(
                "error", "join", f"{where} matches on all labels, and the sides keep different ones: only left "
                f"has ({listing(lhs - rhs)}), only right has ({listing(rhs - lhs)})",
                f"aggregate both sides by the same labels, or add on ({listing(lhs & rhs)})",
                kind="vector-match-never"))
    return out


def _comparisons(tree: Node) -> Iterable[tuple[Binary, Node, float, str]]:
    """(node, vector side, threshold, operator as read with the vector on the left) of each filter comparison."""
    flip = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
    for node in walk(tree):
        if isinstance(node, Binary) and node.filters:
            if isinstance(node.rhs, Num) and not isinstance(node.lhs, Num):
                yield node, node.lhs, node.rhs.value, node.op
            elif isinstance(node.lhs, Num) and not isinstance(node.rhs, Num):
                yield node, node.rhs, node.lhs.value, flip[node.op]


def _never(op: str, t: float, d: Domain) -> bool:
    return {">": t >= d.hi, ">=": t > d.hi, "<": t <= d.lo, "<=": t < d.lo,
            "==": not d.lo <= t <= d.hi, "!=": d.lo == d.hi == t}[op]


def _always(op: str, t: float, d: Domain) -> bool:
    return {">": t < d.lo, ">=": t <= d.lo, "<": t > d.hi, "<=": t >= d.hi,
            "==": d.lo == d.hi == t, "!=": not d.lo <= t <= d.hi}[op]


def _host_denominator(node: Node) -> str | None:
    """The host-size metric ``node`` divides by (``used / redis_total_system_memory_bytes``), if any."""
    for n in walk(node):
        if isinstance(n, Binary) and n.op == "/":
            hosts = [x.selector.metric for x in _selectors(n.rhs) if x.selector.metric in HOST_SIZES]
            if hosts:
                return hosts[0]
    return None


def check_thresholds(rule: Rule, tree: Node, types: MetricTypes) -> list[Finding]:
    """A threshold no value in the domain reaches (``pg_up > 1``, a ratio ``> 90``), or one every value meets;
    a usage divided by the host's size where the service's own limit is what fills up."""
    out = []
    for node, vector, t, op in _comparisons(tree):
        host = _host_denominator(vector)
        if host is not None and op in (">", ">="):
            out.append(rule.finding(
                "warning", "threshold", f"`{_show(node.text)}` divides by {host}, the host's size: the service "
                f"runs out at its configured limit long before the ratio reaches {t:g}",
                f"divide by {HOST_SIZES[host]}", kind="threshold-unreachable", severity="suspicious"))
        d = domain(vector, types)
        if not d.known:
            continue
        text = _show(node.lhs_text if vector is node.lhs else node.rhs_text)
        if _never(op, t, d):
            hint = (f"compare with a value in [{d.lo:g}, {d.hi:g}]" + (" (a ratio: 0.9 means 90 %)"
                    if d.hi == 1 and t > 1 else ""))
            out.append(rule.finding("error", "threshold", f"`{text}` is {d.show()}, so `{op} {t:g}` can never hold: "
                                    "the alert cannot fire", hint, kind="threshold-unreachable"))
        elif _always(op, t, d):
            out.append(rule.finding("error", "threshold", f"`{text}` is {d.show()}, so `{op} {t:g}` holds for every "
                                    "series: the alert fires whenever the series exists",
                                    "use a threshold inside the range that separates normal from broken "
                                    f"(e.g. `> {t:g}` instead of `>= {t:g}`)", kind="threshold-always-met"))
    return out


def _metric_of(node: Node) -> Sel | None:
    """The selector whose raw value ``node`` passes on (through parens, aggregations, *_over_time)."""
    while True:
        if isinstance(node, Sel):
            return node
        if isinstance(node, Paren) or (isinstance(node, Agg) and node.op in ("sum", "max", "min", "avg", "topk",
                                                                             "bottomk")):
            node = node.expr
        elif isinstance(node, Call) and node.func in _SAME_DOMAIN and node.args:
            node = _value_arg(node)
        elif isinstance(node, Binary) and node.filters:
            node = node.rhs if isinstance(node.lhs, Num) else node.lhs
        else:
            return None


def check_counter_types(rule: Rule, tree: Node, types: MetricTypes) -> list[Finding]:
    """rate()/increase() over a gauge, delta()/deriv() over a counter, a raw counter against a threshold."""
    out = []
    origin = types.origin
    for node in walk(tree):
        if not isinstance(node, Call) or not node.args or not isinstance(node.args[0], Sel):
            continue
        metric = node.args[0].selector.metric
        kind = types.type_of(metric)
        said = f"{types.origin}/api/v1/metadata says" if types.declared(metric) else "by its name it is"
        if node.func in RATE_FUNCS and kind == "gauge":
            out.append(rule.finding(
                "error", "types", f"{node.func}() over {metric}, a gauge ({said} gauge): {node.func}() reads "
                "every decrease as a counter reset, so the result is not a rate of anything",
                f"compare the gauge itself, or use deriv({metric}[...]) / delta() for its change",
                kind="rate-over-gauge", origin=origin if types.declared(metric) else ""))
        elif node.func in DELTA_FUNCS and kind == "counter":
            out.append(rule.finding(
                "error", "types", f"{node.func}() over {metric}, a counter ({said} counter): {node.func}() "
                "ignores counter resets, so a restart shows as a huge drop or hides the increase",
                f"use rate({metric}[...]) or increase({metric}[...])",
                kind="delta-over-counter", origin=origin if types.declared(metric) else ""))
    for node, vector, t, op in _comparisons(tree):
        sel = _metric_of(vector)
        if sel is None or types.type_of(sel.selector.metric) != "counter" or op not in (">", ">=", "!="):
            continue
        metric = sel.selector.metric
        out.append(rule.finding(
            "error", "types", f"`{_show(node.text)}` compares the raw counter {metric} (a total since the "
            "exporter started) with a threshold: it fires after the first event ever and never resolves",
            f"compare its rate or increase over a window: increase({metric}[5m]) {op} {t:g}",
            kind="raw-counter-threshold", origin=types.origin if types.declared(metric) else ""))
    return out


@dataclass(frozen=True)
class TimestampAge:
    """``time() - <timestamp>`` in a rule, compared with a threshold, and whether a guard excludes 0."""

    selector: Sel
    text: str
    guarded: bool


def timestamp_ages(tree: Node) -> list[TimestampAge]:
    """Every ``time() - X`` of a timestamp metric X under a comparison, with or without a ``X > 0`` guard."""
    guards = set()
    for _node, vector, t, op in _comparisons(tree):
        sel = _metric_of(vector)
        if sel is not None and ((op in (">", "!=") and t >= 0) or (op == ">=" and t > 0)):
            guards.add(sel.selector.metric)
    out = []
    for node in walk(tree):
        if isinstance(node, Binary) and node.op == "-" and isinstance(node.lhs, Call) and node.lhs.func == "time":
            sel = _metric_of(node.rhs)
            if sel is not None and sel.selector.metric and is_timestamp(sel.selector.metric):
                out.append(TimestampAge(sel, node.text, sel.selector.metric in guards))
    return out


def check_timestamp_ages(rule: Rule, tree: Node) -> list[Finding]:
    """Static half of the timestamp check: an unguarded age is suspicious until live values show zeros."""
    return [rule.finding(
        "warning", "timestamp", f"`{_show(age.text)}`: if {age.selector.selector.metric} is 0 for "
        "\"never happened\", the age is about 56 years and every such series fires at once",
        f"exclude never: `... and {age.selector.selector.text} > 0`", kind="timestamp-age-never",
        severity="suspicious")
        for age in timestamp_ages(tree) if not age.guarded]


def _is_absence(node: Node) -> bool:
    if isinstance(node, Paren):
        return _is_absence(node.expr)
    if isinstance(node, Binary) and node.op == "or":
        return _is_absence(node.lhs) and _is_absence(node.rhs)
    return isinstance(node, Call) and node.func in ("absent", "absent_over_time")


def check_labels_lost(rule: Rule, tree: Node, needed: Collection[str], why: str) -> list[Finding]:
    """Labels ``needed`` (Alertmanager's group_by/inhibit equal, the contract's) that the result cannot carry."""
    if _is_absence(tree):
        return []  # an alert about a missing series has only its selector's labels, by design
    kept = kept_labels(tree)
    if kept is None:
        return []
    lost = sorted(set(needed) - kept - set(rule.labels) - {"alertname"})
    if not lost:
        return []
    culprit = next((n for n in walk(tree) if isinstance(n, Agg) and not n.without
                    and not set(lost) <= set(n.labels)), None)
    by = f"`{culprit.op}{' by (' + listing(culprit.labels) + ')' if culprit.grouped else ''}(...)`" \
        if culprit else "the expression"
    return [rule.finding(
        "error", "aggregation", f"{by} keeps only ({listing(kept)}); {listing(lost)} is lost, but {why} need it: "
        "alerts of different instances merge into one notification and inhibition cannot pair them",
        f"keep the labels: {culprit.op if culprit else 'sum'} by ({listing(kept | set(lost))}) (...)",
        kind="labels-lost-by-aggregation")]


@dataclass(frozen=True)
class CoFiringCause:
    """One cause that makes an exporter report an error too: ``signal`` is 0 and ``symptom`` becomes 1."""

    signal: str
    symptom: str
    cause: str


#: Seen on the real exporters of the native stack (Postgres or Redis stopped): the exporter's own error
#: flag goes to 1 at the same time as its up flag goes to 0.
COFIRING_CAUSES = (
    CoFiringCause("pg_up", "pg_exporter_last_scrape_error", "Postgres is down"),
    CoFiringCause("redis_up", "redis_exporter_last_scrape_error", "Redis is down"),
)


def check_cofiring(rule: Rule, tree: Node, others: Sequence[Rule]) -> list[Finding]:
    """An alert on an exporter's error flag without a guard on its up flag fires with the "down" alert."""
    metrics = {s.selector.metric for s in _selectors(tree)}
    out = []
    for cause in COFIRING_CAUSES:
        if cause.symptom not in metrics or cause.signal in metrics:
            continue
        partners = sorted({o.name for o in others if o.name != rule.name and cause.signal in o.expr})
        partner = f"fires together with {', '.join(partners)}" if partners else "fires as if the exporter failed"
        out.append(rule.finding(
            "error" if partners else "warning", "cofiring",
            f"{cause.symptom} is 1 whenever {cause.cause} ({cause.signal} == 0), so {rule.name} {partner} for "
            "that one cause", f"separate them with the guard `and on (instance) {cause.signal} == 1`",
            kind="co-firing", severity="" if partners else "suspicious"))
    return out
