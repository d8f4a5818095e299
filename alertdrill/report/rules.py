"""The rule as shipped next to the rule as tested, with every difference and its reason.

DESIGN.md's timing model allows the tested rule to differ from the shipped one (durations divided by
the time scale, catalogue overrides) only if the difference is explicit and shown; this is where the
report shows it. "Tested" is what the live Prometheus loaded (``/api/v1/rules``), not what we meant to
load, and "shipped" is the rule file the stack was rendered from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from alertdrill.assertions.durations import format_duration
from alertdrill.report.markup import esc, table

__all__ = ["rule_comparison_html", "shipped_rule"]


def shipped_rule(rule_files: Iterable[str | Path], alert: str, labels: Mapping[str, str]) -> dict[str, Any] | None:
    """The rule named ``alert`` whose static labels agree with ``labels``, from the shipped files."""
    candidates = []
    for path in rule_files:
        try:
            doc = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                if rule.get("alert") == alert:
                    candidates.append({**rule, "_file": str(path), "_group": group.get("name", "")})
    fitting = [r for r in candidates
               if all(labels.get(k, v) == str(v) for k, v in (r.get("labels") or {}).items())]
    return (fitting or candidates or [None])[0]


def _kv(items: Mapping[str, Any]) -> str:
    return "<br>".join(f"<code>{esc(k)}</code>: {esc(v)}" for k, v in sorted(items.items())) or "-"


def _applies(difference: Mapping[str, str], shipped: Mapping[str, Any]) -> bool:
    """Differences name the alert only; two rules of one alert (warning, critical) differ in their text."""
    what = difference.get("what", "")
    if not shipped or what not in shipped:
        return True
    return str(shipped[what]).strip() == str(difference.get("shipped", "")).strip()


def rule_comparison_html(alert: str, *, live: Any | None, shipped: Mapping[str, Any] | None,
                         differences: Sequence[Mapping[str, str]]) -> str:
    """HTML: shipped and tested rule side by side, then the list of differences with their reasons."""
    shipped = shipped or {}
    rows = [
        ("expr", f"<pre>{esc(str(shipped.get('expr', '')).strip() or '-')}</pre>",
         f"<pre>{esc(live.query if live else '-')}</pre>"),
        ("for", esc(shipped.get("for", "0s")), esc(format_duration(live.duration) if live else "-")),
        ("keep_firing_for", esc(shipped.get("keep_firing_for", "0s")),
         esc(format_duration(live.keep_firing_for) if live else "-")),
        ("labels", _kv(shipped.get("labels") or {}), _kv(live.labels if live else {})),
        ("annotations", _kv(shipped.get("annotations") or {}), _kv(live.annotations if live else {})),
        ("group", esc(f"{shipped.get('_group', '-')} in {shipped.get('_file', '-')}"),
         esc(f"{live.group}, evaluated every {format_duration(live.group_interval)}, health {live.health}"
             + (f", last error {live.last_error}" if live.last_error else "")) if live else "-"),
    ]
    body = [f"<h2>{esc(alert)}: the rule as shipped and as tested</h2>",
            table(("", "shipped", "tested (live /api/v1/rules)"), [[f"<b>{esc(k)}</b>", a, b] for k, a, b in rows])]
    mine = [d for d in differences if d.get("alert") == alert and _applies(d, shipped)]
    if mine:
        body.append("<h2>Differences</h2>")
        body.append(table(("what", "shipped", "tested", "why"),
                          [[esc(d.get("what")), f"<code>{esc(d.get('shipped'))}</code>",
                            f"<code>{esc(d.get('tested'))}</code>", esc(d.get("why"))] for d in mine]))
    else:
        body.append("<p>No differences: the rule was tested exactly as shipped.</p>")
    return "".join(body)
