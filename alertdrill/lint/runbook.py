"""Runbook links: every alert's ``runbook_url`` points at a section that exists.

A broken anchor is found only when on-call clicks it during an incident, so relative links are
checked offline against the Markdown files; web links (``https://...``) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from alertdrill.lint.findings import Finding
from alertdrill.lint.rules import Rule

__all__ = ["check_runbooks", "runbook_anchors"]


def runbook_anchors(markdown: str) -> set[str]:
    """GitHub-style heading slugs plus explicit ``<a id=...>``/``{#id}`` anchors of a Markdown file."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            text = re.sub(r"\{#([\w-]+)\}", "", heading.group(1))
            anchors.add(re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-"))
        anchors.update(re.findall(r"""<a\s+(?:id|name)=["']([^"']+)["']""", line))
        anchors.update(re.findall(r"\{#([\w-]+)\}", line))
    return anchors


def check_runbooks(rules: Sequence[Rule], root: Path) -> list[Finding]:
    """Every alert links a runbook section that exists (relative links, checked against ``root``)."""
    out: list[Finding] = []
    missing_files: dict[str, list[Rule]] = {}
    anchors: dict[Path, set[str]] = {}
    for r in rules:
        url = r.annotations.get("runbook_url", "")
        if not url:
            out.append(r.finding("error", "runbook", "no runbook_url annotation",
                                 f"add annotations.runbook_url: docs/runbook.md#{r.name.lower()}"))
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*://", url):
            continue  # a web page: not checkable offline
        path_text, _, anchor = url.partition("#")
        path = root / path_text
        if not path.is_file():
            missing_files.setdefault(path_text, []).append(r)
            continue
        if path not in anchors:
            anchors[path] = runbook_anchors(path.read_text())
        if anchor and anchor not in anchors[path]:
            out.append(r.finding("error", "runbook", f"{path_text} has no section #{anchor}",
                                 f"add a heading `## {r.name}` to {path_text} or fix the anchor"))
    for path_text, linked in missing_files.items():
        names = sorted({r.name for r in linked})
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        out.append(Finding("error", "runbook", shown, f"runbook {path_text} does not exist ({len(linked)} "
                           f"alert(s) link to it, looked in {root})",
                           f"write {path_text} with one section per alert, or fix runbook_url", ""))
    return out
