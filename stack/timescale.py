"""Run the shipped rule text faster: scale its durations, and say exactly what changed.

Production rules keep production durations. For an end-to-end run every duration in a rule is
divided by a time-scale factor: ``for``, ``keep_firing_for``, range windows (``[5m]``, subqueries)
and ``offset``. Range windows never shrink below ``min_range`` (a few scrape intervals), because a
``rate()`` over fewer than two samples returns nothing and the alert could never fire. Numbers that
are durations in seconds inside the expression (``pg_long_running_query_seconds > 120``) are only
scaled when the catalogue names them, since a bare number carries no unit. Every change is returned
as a :class:`Difference` so reports can show the tested rule next to the shipped one.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from alertdrill.assertions.durations import format_duration, parse_duration
from alertdrill.errors import ConfigError

__all__ = ["Difference", "RuleTiming", "scale_expr", "scale_rule_groups"]


@dataclass(frozen=True)
class RuleTiming:
    """Per-alert timing overrides from the catalogue."""

    time_scale: float | None = None
    duration_thresholds: tuple[float, ...] = ()
    #: Literal text replacements in the expression, e.g. ("> 86400", "> 5"): a threshold that a fresh
    #: stack cannot wait for. Applied after scaling; each is reported with ``why``.
    substitutions: tuple[tuple[str, str], ...] = ()
    why: str = ""


@dataclass(frozen=True)
class Difference:
    """One way a tested rule differs from the shipped rule."""

    alert: str
    what: str
    shipped: str
    tested: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"alert": self.alert, "what": self.what, "shipped": self.shipped, "tested": self.tested,
                "why": self.why}


_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_DUR = r"(?:\d+(?:y|w|d|h|ms|m|s))+"
_RANGE = re.compile(rf"\[\s*({_DUR})\s*(?::\s*({_DUR})?\s*)?\]")
_OFFSET = re.compile(rf"\boffset\s+(-?)({_DUR})")
_NUMBER = re.compile(r"(?<![\w.:\"'])(\d+(?:\.\d+)?)(?![\w.])")


@dataclass
class _Scaler:
    alert: str
    factor: float
    min_range: float
    thresholds: tuple[float, ...]
    changes: list[Difference] = field(default_factory=list)

    def duration(self, text: str, *, floor: float = 0.0) -> str:
        return format_duration(max(parse_duration(text) / self.factor, floor))

    def _range(self, match: re.Match) -> str:
        window, step = match.group(1), match.group(2)
        tested = self.duration(window, floor=self.min_range)
        if step:
            return f"[{tested}:{self.duration(step, floor=min(1.0, self.min_range))}]"
        return f"[{tested}:]" if ":" in match.group(0) else f"[{tested}]"

    def _offset(self, match: re.Match) -> str:
        return f"offset {match.group(1)}{self.duration(match.group(2))}"

    def _number(self, match: re.Match) -> str:
        value = float(match.group(1))
        if any(abs(value - t) < 1e-9 for t in self.thresholds):
            scaled = value / self.factor
            return f"{scaled:g}"
        return match.group(0)

    def expr(self, expr: str) -> str:
        out, last = [], 0
        for string in _STRING.finditer(expr):
            out.append(self._code(expr[last : string.start()]))
            out.append(string.group(0))
            last = string.end()
        out.append(self._code(expr[last:]))
        return "".join(out)

    def _code(self, code: str) -> str:
        code = _RANGE.sub(self._range, code)
        code = _OFFSET.sub(self._offset, code)
        if self.thresholds:
            code = _NUMBER.sub(self._number, code)
        return code


def scale_expr(expr: str, factor: float, *, min_range: float = 0.0, thresholds: tuple[float, ...] = ()) -> str:
    """``expr`` with its range windows, offsets and named duration thresholds divided by ``factor``."""
    return _Scaler("", factor, min_range, thresholds).expr(expr)


def scale_rule_groups(
    groups_doc: Mapping,
    *,
    time_scale: float,
    min_range: float,
    overrides: Mapping[str, RuleTiming] | None = None,
    absent_for_floor: float = 0.0,
) -> tuple[dict, list[Difference]]:
    """A scaled copy of a rule file's ``{"groups": [...]}`` and the list of what changed.

    ``absent_for_floor``: the shortest scaled ``for`` of a rule on ``absent()``. A freshly started
    Prometheus evaluates rules before its first scrape (it hands targets to its scrapers on a fixed 5 s
    tick that no time scale shortens), so such a rule sees its series absent for that long on every
    start; a shorter ``for`` would page at each start-up, which the shipped ``for`` never does.
    """
    if time_scale <= 0:
        raise ConfigError(f"time scale must be > 0, got {time_scale!r}; use 1 for production timing")
    overrides = overrides or {}
    doc = copy.deepcopy(dict(groups_doc))
    differences: list[Difference] = []
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert") or rule.get("record") or "?"
            timing = overrides.get(name, RuleTiming())
            factor = timing.time_scale or time_scale
            why = f"time scale {factor:g}" + (" (catalogue override)" if timing.time_scale else "")
            scaler = _Scaler(name, factor, min_range, tuple(timing.duration_thresholds))
            on_absence = "absent(" in str(rule.get("expr", ""))
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    shipped = str(rule[key])
                    # never longer than shipped: a rule meant to fire at once keeps firing at once
                    floor = min(absent_for_floor, parse_duration(shipped)) if key == "for" and on_absence else 0.0
                    tested = scaler.duration(shipped, floor=floor) if factor != 1 else shipped
                    if parse_duration(tested) != parse_duration(shipped):
                        rule[key] = tested
                        reason = why
                        if floor and parse_duration(tested) == floor:
                            reason += (f"; at least {format_duration(floor)} on absent(): a fresh Prometheus "
                                       "evaluates before its first scrape (targets come on a fixed 5 s tick)")
                        differences.append(Difference(name, key, shipped, tested, reason))
            shipped_expr = str(rule["expr"])
            tested_expr = scaler.expr(shipped_expr) if factor != 1 else shipped_expr
            for old, new in timing.substitutions:
                if old not in tested_expr:
                    raise ConfigError(f"rule override for {name}: {old!r} does not occur in its expression")
                tested_expr = tested_expr.replace(old, new)
                why = f"{why}; {timing.why}" if timing.why else why
            if tested_expr != shipped_expr:
                rule["expr"] = tested_expr
                floor = f"; range windows at least {format_duration(min_range)}" if min_range else ""
                differences.append(Difference(name, "expr", shipped_expr.strip(), tested_expr.strip(),
                                              why + floor))
    return doc, differences
