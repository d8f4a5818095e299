"""The drill as tables: the timeline (every state change and notification) and the contract results.

Times are seconds relative to the fault's injection, the one instant every deadline counts from, so a
reviewer reads "+1.3 s firing, +2.1 s notified" without subtracting timestamps.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from alertdrill.matrix import Bounds, MatrixRow, matrix_rows
from alertdrill.report.markup import STATUS_CLASS, esc, table
from alertdrill.results import DrillResult, TimelineRow

__all__ = ["BOUNDS_NOTE", "TIMELINE_COLUMNS", "bounds_cell", "contract_html", "deadline_cell", "delivered_cell",
           "first_line", "status_html", "timeline_csv", "timeline_html"]

#: What the bounds column and the bar's shaded band mean, said once under each table.
BOUNDS_NOTE = ("Bars: the measured time as a share of the deadline derived from the live configuration. The "
               "shaded band runs from the best case (for + group_wait) to the worst case (scrape + evaluation + "
               "what the expression waits for + for + one evaluation + group_wait) of the ideal pipeline, to the "
               "notification (to firing for an alert not delivered); the deadline adds the scrape's duration and "
               "slack.")

TIMELINE_COLUMNS = ("t", "source", "kind", "alert", "labels", "detail")


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):+.3f} s"


def timeline_csv(rows: Sequence[TimelineRow]) -> str:
    """The timeline as CSV (``t`` in seconds from injection), for spreadsheets and diffing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("t_seconds", *TIMELINE_COLUMNS[1:]))
    for row in rows:
        writer.writerow(["" if row.t is None else row.t, row.source, row.kind, row.alert or "", row.labels, row.detail])
    return out.getvalue()


def timeline_html(rows: Sequence[TimelineRow], *, title: str = "Timeline") -> str:
    """The timeline as an HTML table; fault marks highlighted, sources coloured."""
    if not rows:
        return f"<h2>{esc(title)}</h2><p class=\"muted\">no events were recorded</p>"
    cells = [[f'<td class="num">{_seconds(r.t)}</td>', esc(r.source), esc(r.kind), esc(r.alert or ""),
              f"<code>{esc(r.labels)}</code>", esc(r.detail)] for r in rows]
    classes = [r.source for r in rows]
    note = "<p class=\"muted\">t: seconds relative to the fault's injection (negative: before it)</p>"
    return f"<h2>{esc(title)}</h2>{note}" + table(TIMELINE_COLUMNS, cells, row_classes=classes)


def deadline_cell(measured: float | None, deadline: float | None, bounds: Bounds | None = None, *,
                  compact: bool = False) -> str:
    """``measured / deadline`` with ok/LATE and a bar: where the measurement sits in its budget, with
    the ideal pipeline's best..worst case shaded on it."""
    if measured is None:
        return '<td class="na">-</td>'
    if deadline is None:
        return f'<td class="num">{measured:.1f} s</td>'
    late = measured > deadline
    verdict = (f'<span class="{"late" if late else "ok"}" style="color:{"#cf222e" if late else "#1a7f37"}">'
               f'{"LATE" if late else "ok"}</span>')
    best, worst = (bounds.best, bounds.worst) if bounds is not None else (None, None)
    title = f"measured {measured:.3f} s, deadline {deadline:.3f} s"
    if bounds is not None and best is not None and worst is not None:
        title += f", best case {best:.3f} s, worst case {worst:.3f} s ({bounds.place(measured)})"
    cell = f'<td class="num" title="{esc(title)}">{measured:.1f} s / {deadline:.1f} s {verdict}'
    if compact:
        return cell + "</td>"
    width = 100 * min(measured / deadline, 1.0) if deadline > 0 else 100
    band = ""
    if best is not None and worst is not None and deadline > 0:
        left, right = (100 * min(v / deadline, 1.0) for v in (best, worst))
        band = f'<i style="left:{left:.0f}%;width:{max(right - left, 1.0):.0f}%"></i>'
    return (f'{cell}<br><span class="bar"><span class="{"late" if late else ""}" style="width:{width:.0f}%"></span>'
            f"{band}</span></td>")


def first_line(text: str | None, limit: int = 160) -> str:
    """The first line of a long diagnosis, cut at ``limit`` characters."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def delivered_cell(row: MatrixRow, *, compact: bool = False) -> str:
    """The delivery time against its deadline, or why there is none (inhibited, n/a)."""
    if row.delivered_note:
        return f'<td class="na">{esc(row.delivered_note)}</td>'
    return deadline_cell(row.delivered.measured, row.delivered.deadline, row.bounds, compact=compact)


def bounds_cell(row: MatrixRow) -> str:
    """``best..worst`` of the ideal pipeline, and where the measured time lies against them."""
    if row.bounds.best is None or row.bounds.worst is None:
        return '<td class="na">-</td>'
    place = row.bounds.place(row.bounded.measured)
    mark = f'<br><small class="muted">measured {esc(place)}</small>' if place else ""
    return f'<td class="num">{row.bounds.best:.1f}..{row.bounds.worst:.1f} s{mark}</td>'


def status_html(row: MatrixRow) -> str:
    """The status, with the one-line cause (or the diagnosis' first line) under it."""
    why = row.cause or first_line(row.diagnosis)
    return (f'<span class="{STATUS_CLASS.get(row.status, "")}">{esc(row.status)}</span>'
            + (f'<br><small title="{esc(row.diagnosis or why)}">{esc(why)}</small>' if why else ""))


def contract_html(result: DrillResult, *, compact: bool = False) -> str:
    """One row per alert contract: fired / delivered / resolved against deadline and the ideal bounds."""
    rows = []
    for row in matrix_rows([result]):
        labels = ", ".join(f'{k}="{v}"' for k, v in row.labels.items())
        cells = [
            f"<b>{esc(row.alert)}</b><br><small><code>{esc(labels)}</code></small>",
            esc(row.receiver or "-"),
            deadline_cell(row.fired.measured, row.fired.deadline,
                          row.bounds if row.delivered_note else None, compact=compact),
            delivered_cell(row, compact=compact),
            deadline_cell(row.resolved.measured, row.resolved.deadline, compact=compact),
            bounds_cell(row),
            status_html(row),
        ]
        rows.append([cells[0], *cells[2:5], cells[6]] if compact else cells)
    headers = (("alert", "fired", "delivered", "resolved", "status") if compact else
               ("alert", "receiver", "fired (after injection)", "delivered", "resolved (after revert)",
                "best..worst case", "status"))
    return table(headers, rows) + ("" if compact else f'<p class="muted">{esc(BOUNDS_NOTE)}</p>')
