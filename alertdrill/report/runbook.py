"""The runbook (docs/runbook.md) as an HTML page next to the report, so runbook links work offline.

Each rule's ``runbook_url`` annotation is ``docs/runbook.md#<anchor>`` with GitHub's heading anchors;
this renders the small Markdown subset the runbook uses (headings, lists, paragraphs, code, bold,
links) with the same anchors, rather than pulling in a Markdown library for one page.
"""

from __future__ import annotations

import re
from pathlib import Path

from alertdrill.report.markup import esc, page
from alertdrill.stack import layout

__all__ = ["RUNBOOK", "markdown_html", "slug", "write_runbook"]

RUNBOOK = layout.RUNBOOK
_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _inline(text: str) -> str:
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(esc(text[last:m.start()]))
        if m.group(1) is not None:
            out.append(f"<code>{esc(m.group(1))}</code>")
        elif m.group(2) is not None:
            out.append(f"<b>{esc(m.group(2))}</b>")
        else:
            out.append(f'<a href="{esc(m.group(4))}">{esc(m.group(3))}</a>')
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


def markdown_html(text: str) -> str:
    """HTML for headings, ``-`` lists (with continuation lines), paragraphs and fenced code."""
    html: list[str] = []
    block: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal block, kind
        if kind == "ul":
            html.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block) + "</ul>")
        elif kind == "p":
            html.append(f"<p>{_inline(' '.join(block))}</p>")
        elif kind == "pre":
            html.append(f"<pre>{esc(chr(10).join(block))}</pre>")
        block, kind = [], ""

    for line in text.splitlines():
        if kind == "pre":
            if line.startswith("```"):
                flush()
            else:
                block.append(line)
            continue
        if line.startswith("```"):
            flush()
            kind = "pre"
        elif m := re.match(r"^(#{1,6})\s+(.*)$", line):
            flush()
            level = len(m.group(1))
            html.append(f'<h{level} id="{esc(slug(m.group(2)))}">{_inline(m.group(2))}</h{level}>')
        elif m := re.match(r"^\s*[-*]\s+(.*)$", line):
            if kind != "ul":
                flush()
                kind = "ul"
            block.append(m.group(1))
        elif not line.strip():
            flush()
        elif kind == "ul" and line.startswith(" "):
            block[-1] += " " + line.strip()
        else:
            if kind != "p":
                flush()
                kind = "p"
            block.append(line.strip())
    flush()
    return "".join(html)


def write_runbook(target: Path, source: Path = RUNBOOK) -> Path | None:
    """Render ``source`` to ``target``; None when the checkout has no runbook."""
    if not source.is_file():
        return None
    target.write_text(page("Runbook", markdown_html(source.read_text(encoding="utf-8"))), encoding="utf-8")
    return target
