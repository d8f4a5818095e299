"""Locust's view of a drill: what the users saw while the fault was in effect, and the write ledger.

The scenarios run one steady load for the whole session and keep, per drill, the window of the fault
(``result.extra["load_during_fault"]``) and the ledger check (``result.extra["ledger"]``); a separate
load run can also be given as its artifacts directory, whose ``locust_stats.csv`` is Locust's own table.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alertdrill.report.markup import esc, page, table

__all__ = ["ledger_line", "locust_csv_html", "window_html", "window_line"]

_CSV_COLUMNS = ("Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%", "100%")


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _row(stats: Mapping[str, Any], *, bold: bool = False) -> list[str]:
    name = esc(f"{stats.get('method', '')} {stats.get('name', '')}".strip())
    codes = ", ".join(f"{k}: {v}" for k, v in sorted((stats.get("status_counts") or {}).items())) or "-"
    ratio = float(stats.get("failure_ratio") or 0.0)
    return [f"<b>{name}</b>" if bold else name, f'<td class="num">{esc(stats.get("requests"))}</td>',
            f'<td class="num">{esc(stats.get("failures"))}</td>',
            f'<td class="num{" late" if ratio else ""}">{100 * ratio:.1f} %</td>',
            f'<td class="num">{float(stats.get("rps") or 0):.1f}</td>',
            *(f'<td class="num">{_ms(stats.get(k))}</td>' for k in ("p50", "p95", "p99", "max_ms")), esc(codes)]


def window_line(window: Mapping[str, Any]) -> str:
    """``1234 requests, 2.1 % failed, p95 40 ms`` for the whole window."""
    total = window.get("total") or {}
    return (f"{total.get('requests', 0)} requests, {100 * float(total.get('failure_ratio') or 0):.1f} % failed, "
            f"p95 {_ms(total.get('p95'))} ms")


def window_html(window: Mapping[str, Any], ledger: Mapping[str, Any] | None = None) -> str:
    """The fault window's per-endpoint table (and the ledger verdict) as a page."""
    start, end = window.get("start"), window.get("end")
    span = f"{float(end) - float(start):.1f} s" if isinstance(start, (int, float)) and isinstance(end, (int, float)) \
        else "the fault"
    rows = [_row(s) for _, s in sorted((window.get("endpoints") or {}).items())]
    if window.get("total"):
        rows.append(_row({**window["total"], "name": "all endpoints"}, bold=True))
    headers = ("endpoint", "requests", "failures", "failed", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
               "status codes")
    body = f"<h2>Locust: what users saw during the fault ({esc(span)})</h2>" + table(headers, rows)
    if ledger is not None:
        body += f"<h2>Write ledger</h2><p>{esc(ledger_line(ledger))}</p>"
    return page("Locust stats", body)


def ledger_line(ledger: Mapping[str, Any]) -> str:
    """``812 acknowledged writes, none lost`` (or which were lost / changed)."""
    lost, changed = ledger.get("lost_ids") or [], ledger.get("mismatched") or []
    verdict = "none lost" if not lost and not changed else f"{len(lost)} lost, {len(changed)} changed"
    return f"{ledger.get('acknowledged', '?')} acknowledged writes, {verdict}"


def locust_csv_html(directory: Path) -> tuple[str, str]:
    """(HTML table, CSV text) from a load run's ``locust_stats.csv``; FileNotFoundError if it has none."""
    stats = Path(directory) / "locust_stats.csv"
    text = stats.read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    keep = [i for i, h in enumerate(rows[0]) if h in _CSV_COLUMNS] if rows else []
    html = table([rows[0][i] for i in keep], [[esc(r[i]) for i in keep] for r in rows[1:] if r]) if rows else ""
    return page("Locust stats", html), text
