"""The drill as tables: the timeline (every state change and notification) and the contract results.

Times are seconds relative to the fault's injection, the one instant every deadline counts from, so a
reviewer reads "+1.3 s firing, +2.1 s notified" without subtracting timestamps.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from alertdrill.report.markup import STATUS_CLASS, esc, table

__all__ = ["TIMELINE_COLUMNS", "contract_html", "deadline_cell", "first_line", "timeline_csv", "timeline_html"]

TIMELINE_COLUMNS = ("t", "source", "kind", "alert", "labels", "detail")


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):+.3f} s"


def timeline_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The timeline as CSV (``t`` in seconds from injection), for spreadsheets and diffing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("t_seconds", *TIMELINE_COLUMNS[1:]))
    for row in rows:
        writer.writerow([row.get(col, "") for col in TIMELINE_COLUMNS])
    return out.getvalue()


def timeline_html(rows: Sequence[Mapping[str, Any]], *, title: str = "Timeline") -> str:
    """The timeline as an HTML table; fault marks highlighted, sources coloured."""
    if not rows:
        return f"<h2>{esc(title)}</h2><p class=\"muted\">no events were recorded</p>"
    cells = [[f'<td class="num">{_seconds(r.get("t"))}</td>', esc(r.get("source")), esc(r.get("kind")),
              esc(r.get("alert") or ""), f"<code>{esc(r.get('labels') or '')}</code>", esc(r.get("detail") or "")]
             for r in rows]
    classes = [str(r.get("source") or "") for r in rows]
    note = "<p class=\"muted\">t: seconds relative to the fault's injection (negative: before it)</p>"
    return f"<h2>{esc(title)}</h2>{note}" + table(("t", "source", "kind", "alert", "labels", "detail"), cells,
                                                  row_classes=classes)


def deadline_cell(measured: float | None, deadline: float | None, minimum: float | None = None, *,
                  compact: bool = False) -> str:
    """``measured / deadline`` with ok/LATE and a bar: where the measurement sits in its budget."""
    if measured is None:
        return '<td class="na">-</td>'
    if deadline is None:
        return f'<td class="num">{measured:.1f} s</td>'
    late = measured > deadline
    verdict = (f'<span class="{"late" if late else "ok"}" style="color:{"#cf222e" if late else "#1a7f37"}">'
               f'{"LATE" if late else "ok"}</span>')
    title = f"measured {measured:.3f} s, deadline {deadline:.3f} s" + (
        f", theoretical minimum {minimum:.3f} s" if minimum else "")
    cell = f'<td class="num" title="{esc(title)}">{measured:.1f} s / {deadline:.1f} s {verdict}'
    if compact:
        return cell + "</td>"
    width = 100 * min(measured / deadline, 1.0) if deadline > 0 else 100
    tick = f'<i style="left:{100 * min(minimum / deadline, 1.0):.0f}%"></i>' if minimum and deadline > 0 else ""
    return (f'{cell}<br><span class="bar"><span class="{"late" if late else ""}" style="width:{width:.0f}%"></span>'
            f"{tick}</span></td>")


def first_line(text: str | None, limit: int = 160) -> str:
    """The first line of a long diagnosis, cut at ``limit`` characters."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def contract_html(result: Mapping[str, Any], *, compact: bool = False) -> str:
    """One row per alert contract: fired / delivered / resolved against deadline and theoretical minimum."""
    rows = []
    for alert in result.get("alerts", []):
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted((alert.get("labels") or {}).items()))
        minimum = alert.get("theoretical_min")
        delivered = (deadline_cell(alert.get("delivered_after"), alert.get("deliver_deadline"), minimum,
                                   compact=compact) if alert.get("receiver")
                     else '<td class="na">inhibited</td>' if alert.get("inhibited") else '<td class="na">n/a</td>')
        status = str(alert.get("status") or "")
        diagnosis = alert.get("diagnosis")
        row = [
            f"<b>{esc(alert.get('alert'))}</b><br><small><code>{esc(labels)}</code></small>",
            esc(alert.get("receiver") or "-"),
            deadline_cell(alert.get("fired_after"), alert.get("fire_deadline"), compact=compact),
            delivered,
            deadline_cell(alert.get("resolved_after"), alert.get("resolve_deadline"), compact=compact),
            f'<td class="num">{esc(_min(minimum))}</td>',
            f'<span class="{STATUS_CLASS.get(status, "")}">{esc(status)}</span>'
            + (f'<br><small title="{esc(diagnosis)}">{esc(alert.get("cause") or first_line(diagnosis))}</small>'
               if diagnosis else ""),  # issue 14: the one-line root cause when there is one
        ]
        rows.append([row[0], *row[2:5], row[6]] if compact else row)
    headers = (("alert", "fired", "delivered", "resolved", "status") if compact else
               ("alert", "receiver", "fired (after injection)", "delivered", "resolved (after revert)",
                "theoretical min", "status"))
    return table(headers, rows)


def _min(value: float | None) -> str | None:
    return None if value is None else f"{value:.1f} s"
