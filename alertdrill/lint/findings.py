"""What lint reports: one :class:`Finding` per problem, and the text helpers that keep its line short.

Every check returns Findings; the CLI prints :meth:`Finding.line`. The helpers make those lines stable
(sorted label lists) and readable (long expressions and tool output cut to a width).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["LEVELS", "Finding", "by_level", "listing", "shorten"]

#: Finding levels, most severe first: an error makes ``alertdrill lint`` exit 1, a warning does not.
LEVELS = ("error", "warning")


@dataclass(frozen=True)
class Finding:
    """One problem: ``rule`` is who has it (an alert, a receiver, a file), ``fix`` what to do."""

    level: str
    check: str
    rule: str
    problem: str
    fix: str
    source: str = ""

    def line(self) -> str:
        """The one line the CLI prints: who, where, what is wrong, what to do."""
        where = f" ({self.source})" if self.source else ""
        return f"{self.level}: {self.rule}{where}: {self.problem}; fix: {self.fix}"


def by_level(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first; within a level the checks' own order stays (the sort is stable)."""
    return sorted(findings, key=lambda f: LEVELS.index(f.level))


def shorten(text: str, limit: int = 70) -> str:
    """``text`` on one line, cut to ``limit`` characters: a finding must stay one readable line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def listing(names: Iterable[str]) -> str:
    """``a, b, c`` sorted, or ``none``: the same labels always read the same way."""
    names = sorted(names)
    return ", ".join(names) if names else "none"
