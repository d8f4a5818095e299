"""Tiny HTML helpers shared by the attachments and the summary page.

No template engine: the pages are a few tables, and escaping in one place is what keeps label values
and PromQL (which is full of ``<``, ``>`` and quotes) from breaking the markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["CSS", "STATUS_CLASS", "esc", "page", "table"]

#: One stylesheet for every page alertdrill writes, so attachments and the summary look alike.
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d232a; margin: 1.2em; }
h1 { font-size: 1.5em; margin: 0 0 .3em; } h2 { font-size: 1.15em; margin: 1.4em 0 .4em; }
table { border-collapse: collapse; margin: .4em 0 1em; }
th, td { border: 1px solid #d6dbe1; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f1f4f7; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, td small { overflow-wrap: anywhere; } /* long label sets and causes wrap: tables fit the window */
td code.labels { display: inline-block; min-width: 14em; } /* ... but a short label set stays on one line */
code, pre { font: 12.5px/1.4 ui-monospace, 'DejaVu Sans Mono', monospace; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; padding: .6em; white-space: pre-wrap; }
.passed, .ok { color: #1a7f37; font-weight: 600; } .failed, .late, .broken { color: #cf222e; font-weight: 600; }
.skipped, .na { color: #6e7781; } .muted { color: #6e7781; }
tr.prometheus td:nth-child(3) { color: #8250df; } tr.sink td:nth-child(3) { color: #0969da; }
tr.fault td { background: #fff8c5; } tr.alertmanager td:nth-child(3) { color: #bc4c00; }
.bar { display: inline-block; height: 8px; background: #d6dbe1; width: 120px; position: relative; }
.bar span { position: absolute; left: 0; top: 0; bottom: 0; background: #2da44e; }
.bar span.late { background: #cf222e; } .bar i { position: absolute; top: -2px; bottom: -2px; min-width: 2px;
  background: rgba(87, 96, 106, .35); border-left: 2px solid #57606a; border-right: 2px solid #57606a; }
.cards { display: flex; gap: 1em; flex-wrap: wrap; margin: .6em 0 1em; }
.card { border: 1px solid #d6dbe1; border-radius: 6px; padding: .5em .9em; min-width: 9em; }
.card b { display: block; font-size: 1.6em; }
figure { margin: .4em 0 1.2em; } figure img { max-width: 100%; border: 1px solid #e1e4e8; }
"""

STATUS_CLASS = {"passed": "passed", "failed": "failed", "broken": "broken", "skipped": "skipped"}


def esc(value: Any) -> str:
    """``value`` as HTML text; None shows as a dash."""
    return "-" if value is None else html.escape(str(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, row_classes: Sequence[str] | None = None,
          raw: bool = True) -> str:
    """A table whose cells are given as HTML (``raw``) or as text to escape."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{esc(row_classes[i])}"' if row_classes and row_classes[i] else ""
        cells = "".join(c if c.startswith("<td") else f"<td>{c if raw else esc(c)}</td>" for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document (no external resources: viewable offline)."""
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>")
