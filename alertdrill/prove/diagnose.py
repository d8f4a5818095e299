"""Why a rule cannot fire or always fires, found by evaluating its subexpressions with promtool.

The expression is walked from the top: the first subexpression that is empty on every input tried
is followed down; where both operands have series but the operator yields none, the operator is the
cause (labels that never match, or a value that never crosses the threshold, shown with the range of
values the real engine computed). Nothing here evaluates PromQL itself.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import promql_parser as pp

from alertdrill.prove.expression import Signal, children, render
from alertdrill.prove.inventory import Inventory
from alertdrill.prove.promtool import Got, Outcome, Probe
from alertdrill.prove.synthesis import Level

if TYPE_CHECKING:
    from alertdrill.prove.search import Search

__all__ = ["always_fires", "cannot_fire"]

#: Inputs whose subexpressions are evaluated for the diagnosis.
SAMPLES = 8
COMPARISONS = {">", "<", ">=", "<=", "==", "!="}


def _op(node: Any) -> str:
    return str(node.op)


def _evaluable(node: Any) -> bool:
    return not isinstance(node, (pp.NumberLiteral, pp.StringLiteral, pp.MatrixSelector))


def _nodes(node: Any) -> list[Any]:
    out = [node] if _evaluable(node) else []
    for child in children(node):
        out += _nodes(child)
    return out


def _labels(got: Got) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(got.labels.items()))
    return "{" + inner + "}"


def _spread(items: Sequence[Mapping[str, Level]], n: int) -> list[Mapping[str, Level]]:
    if len(items) <= n:
        return list(items)
    stride = len(items) / n
    return [items[int(i * stride)] for i in range(n)]


class _Values:
    """Each subexpression's samples at the end of the fire phase, per input."""

    def __init__(self, search: Search, inputs: Sequence[Mapping[str, Level]], step: int) -> None:
        self.tree = pp.parse(search.rule.expr)
        self.texts = list(dict.fromkeys(render(n) for n in _nodes(self.tree)))
        self.step = step
        probes = [Probe(search.series(a, a), (), tuple((t, step) for t in self.texts)) for a in inputs]
        self.outcomes: list[Outcome] = search.run(probes) if probes else []

    def of(self, node: Any) -> list[list[Got]]:
        text = render(node)
        return [o.samples.get((text, self.step), []) for o in self.outcomes]

    def empty(self, node: Any) -> bool:
        return not any(self.of(node))

    def numbers(self, node: Any) -> list[float]:
        return [g.value for gots in self.of(node) for g in gots if g.value is not None and not math.isnan(g.value)]


def _matching(node: Any) -> str:
    mod = node.modifier
    if mod is None or mod.matching is None:
        return ""
    kind = "on" if "Include" in str(mod.matching.type) else "ignoring"
    return f" {kind} ({', '.join(mod.matching.labels)})"


def _on_labels(node: Any) -> list[str] | None:
    mod = node.modifier
    if mod is None or mod.matching is None or "Include" not in str(mod.matching.type):
        return None
    return list(mod.matching.labels)


def _explain(node: Any, values: _Values) -> tuple[str, list[str]]:
    kids = [c for c in children(node) if _evaluable(c)]
    if isinstance(node, pp.ParenExpr):
        return _explain(node.expr, values)
    if isinstance(node, pp.BinaryExpr) and _op(node) == "or":
        if all(values.empty(k) for k in kids):
            return _explain(kids[0], values)
    else:
        for kid in kids:
            if values.empty(kid):
                return _explain(kid, values)
    text = f"`{render(node)}`"
    if isinstance(node, pp.VectorSelector):
        return f"{text} selects no series in the inventory", []
    if isinstance(node, pp.BinaryExpr):
        op = _op(node)
        number = next((c for c in (node.rhs, node.lhs) if isinstance(c, pp.NumberLiteral)), None)
        if number is not None and op in COMPARISONS:
            side = node.lhs if number is node.rhs else node.rhs
            found = values.numbers(side)
            if found:
                lo, hi = min(found), max(found)
                span = f"stays at {lo:g}" if lo == hi else f"stays between {lo:g} and {hi:g}"
                return (f"`{render(side)}` {span} on every input tried; "
                        f"`{op} {float(number.val):g}` never holds",
                        [f"{len(values.outcomes)} inputs evaluated by promtool; e.g. `{render(side)}` = "
                         f"{values.of(side)[0][0].value:g}" if values.of(side) and values.of(side)[0] else ""])
        left = next((g for gots in values.of(node.lhs) for g in gots), None)
        right = next((g for gots in values.of(node.rhs) for g in gots), None)
        if left is not None and right is not None:
            lnames = set(left.labels) - {"__name__"}
            rnames = set(right.labels) - {"__name__"}
            only_l, only_r = sorted(lnames - rnames), sorted(rnames - lnames)
            on = _on_labels(node)
            if on is not None:  # on (...): only those labels are compared
                only_l, only_r = sorted(set(on) & lnames - rnames), sorted(set(on) & rnames - lnames)
            compared = sorted(lnames & rnames & set(on)) if on is not None else sorted(lnames & rnames)
            differ = [k for k in compared if left.labels[k] != right.labels[k]]
            shared = "" if (only_l or only_r) else ", ".join(
                f"{k}: {left.labels[k]!r} vs {right.labels[k]!r}" for k in differ)
            detail = []
            if only_l:
                detail.append(f"only the left side carries {', '.join(only_l)}")
            if only_r:
                detail.append(f"only the right side carries {', '.join(only_r)}")
            if not lnames:
                detail.insert(0, "the left side carries no labels")
            if not rnames:
                detail.insert(0, "the right side carries no labels")
            if shared:
                detail.append(f"values differ ({shared})")
            reason = (f"`{op}{_matching(node)}` matches nothing: " + "; ".join(detail or ["no series pair matches"])
                      + (" (or no matched pair passes the comparison)" if op in COMPARISONS else ""))
            return reason, [f"left: `{render(node.lhs)}` -> {_labels(left)} {left.value:g}",
                            f"right: `{render(node.rhs)}` -> {_labels(right)} {right.value:g}"]
    if kids:
        return (f"{text} returns nothing although `{render(kids[-1])}` has series on every input tried", [])
    return f"{text} returns nothing on every input tried", []


def _dead(signal: Signal, inventory: Inventory) -> str:
    """Why a selector has no series: no such metric (with the closest name), or no label value."""
    info = inventory.metric(signal.metric)
    if info is None:
        close = difflib.get_close_matches(signal.metric, list(inventory.metrics), n=1, cutoff=0.75)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        return f"no target exports `{signal.metric}`{hint}: `{signal.key}` selects nothing"
    for m in signal.matchers:
        values = sorted({s.labels.get(m.name, "") for s in info.series})
        if not any(m.matches({m.name: v}) for v in values):
            shown = ", ".join(f'"{v}"' for v in values[:8] if v)
            if not any(values):
                names = ", ".join(sorted({k for s in info.series for k in s.labels}))
                return f"`{signal.metric}` has no label {m.name} (its labels: {names}): `{signal.key}` selects nothing"
            return (f"no `{signal.metric}` series has {m.name}{m.op}\"{m.value}\" (values: {shown}): "
                    f"`{signal.key}` selects nothing")
    return f"no series of `{signal.key}` in the inventory"


def cannot_fire(search: Search, tried: Sequence[Mapping[str, Level]]) -> tuple[str, list[str]]:
    """The deepest subexpression that is empty on every input, and why."""
    missing = [s for s in search.analysis.signals if not any(u.signal == s.key for u in search.units)]
    inventory_note = [n for n in search.notes]
    if not search.domains:
        if not missing:
            return "the expression reads no series", inventory_note
        return _dead(missing[0], search.inventory), inventory_note
    values = _Values(search, _spread(tried, SAMPLES), search.timeline.t_fire)
    reason, evidence = _explain(values.tree, values)
    if missing:
        evidence.insert(0, "no series in the inventory for " + ", ".join(f"`{s.key}`" for s in missing))
    return reason, [e for e in [*evidence, *inventory_note] if e]


def always_fires(search: Search, quiet: Sequence[Mapping[str, Level]],
                 fired: Sequence[Mapping[str, Level]]) -> tuple[str, list[str]]:
    """True on every input, or true forever once it has been true."""
    expr = search.rule.expr
    t = search.timeline
    if not quiet:
        baseline = {d.signal: d.baseline for d in search.domains}
        outcome = search.run([Probe(search.series(baseline, baseline), (), ((expr, t.t_fire),))])[0]
        got = outcome.samples.get((expr, t.t_fire), [])
        example = f"at the inventory's baseline it returns {_labels(got[0])} {got[0].value:g}" if got else ""
        return ("true on the stack as inventoried: it fires at baseline, with no fault",
                [e for e in [example, *search.notes] if e])
    q, f = quiet[0], fired[0]
    outcome = search.run([Probe(search.series(q, f), (t.t_after,), ((expr, t.t_after),))])[0]
    got = outcome.samples.get((expr, t.t_after), [])
    counters = [d.signal for d in search.domains if d.kind == "counter"]
    reason = "once it has fired it never resolves: the expression stays true after the input returns to quiet"
    evidence = [f"after the fire phase it still returns {_labels(got[0])} {got[0].value:g}" if got else ""]
    if counters:
        evidence.append(f"{', '.join(counters)} is a counter: it never goes back down, compare its rate() instead")
    return reason, [e for e in [*evidence, *search.notes] if e]
