"""Nothing lost: every write the app acknowledged must be readable from Postgres afterwards.

The Locust side records each ``201 {"id": N}`` to ``POST /items`` with the name and value it sent
(workers ship their records to the master with their stats; the master or local runner appends them
to ``ledger.jsonl``). After the run the controller reads the ledger and looks every id up in the
app's ``items`` table with its own Postgres connection: an id that is missing, or holds another name
or value, is a lost acknowledged write and fails the scenario with :class:`LostWritesError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertdrill.errors import ExpectationError, LoadError

__all__ = ["MIN_WRITE_SHARE", "Ack", "AckRecorder", "LedgerReport", "LostWritesError", "WriteFloor", "check_ledger",
           "read_ledger"]

#: Ids named in the one-line error before "... and N more" (all of them are in the report).
MAX_IDS_IN_MESSAGE = 20
CONNECT_TIMEOUT_S = 5


class LostWritesError(ExpectationError):
    """The app acknowledged writes that Postgres does not hold; ``.report`` names every id."""

    def __init__(self, message: str, report: LedgerReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Ack:
    """One acknowledged write: the id the app answered and what the client sent."""

    id: int
    name: str
    value: int
    at: float  # Unix time the 201 arrived

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "value": self.value, "at": self.at}


class AckRecorder:
    """Collects acks in the Locust process until they are drained to the master or the file."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []

    def record(self, *, item_id: int, name: str, value: int, at: float) -> None:
        self._pending.append({"id": item_id, "name": name, "value": value, "at": at})

    def merge(self, acks: Iterable[dict[str, Any]]) -> None:
        self._pending.extend(acks)

    def drain(self) -> list[dict[str, Any]]:
        pending, self._pending = self._pending, []
        return pending


def read_ledger(path: Path) -> list[Ack]:
    """Every complete line of ``ledger.jsonl`` (a missing file means no acknowledged write)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    acks = []
    for line in text.splitlines(keepends=True):
        if line.endswith("\n") and line.strip():
            raw = json.loads(line)
            acks.append(Ack(id=int(raw["id"]), name=str(raw["name"]), value=int(raw["value"]), at=float(raw["at"])))
    return acks


@dataclass(frozen=True)
class LedgerReport:
    """What the check found: how many acks, which ids are missing or hold different data."""

    acknowledged: int
    missing: list[Ack] = field(default_factory=list)
    mismatched: list[tuple[Ack, dict[str, Any]]] = field(default_factory=list)  # (sent, found row)
    duplicates: list[int] = field(default_factory=list)  # one id acknowledged for two writes

    @property
    def lost(self) -> list[Ack]:
        return [*self.missing, *(ack for ack, _ in self.mismatched)]

    @property
    def lost_ids(self) -> list[int]:
        return sorted({ack.id for ack in self.lost} | set(self.duplicates))

    @property
    def ok(self) -> bool:
        return not self.lost_ids

    def line(self) -> str:
        if self.ok:
            return f"ledger: all {self.acknowledged} acknowledged writes are in Postgres"
        ids = self.lost_ids
        shown = ", ".join(map(str, ids[:MAX_IDS_IN_MESSAGE]))
        more = f" and {len(ids) - MAX_IDS_IN_MESSAGE} more" if len(ids) > MAX_IDS_IN_MESSAGE else ""
        parts = [f"{len(self.missing)} missing"]
        if self.mismatched:
            parts.append(f"{len(self.mismatched)} with other data")
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} ids acknowledged twice")
        return (f"ledger: {len(ids)} of {self.acknowledged} acknowledged writes lost ({', '.join(parts)}): "
                f"ids {shown}{more}")

    def raise_for_loss(self) -> None:
        """Raise LostWritesError naming the ids unless every acknowledged write is in Postgres."""
        if not self.ok:
            raise LostWritesError(self.line(), self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "lost_ids": self.lost_ids,
            "missing": [a.to_dict() for a in self.missing],
            "mismatched": [{"sent": a.to_dict(), "found": row} for a, row in self.mismatched],
            "duplicates": self.duplicates,
        }


#: The share of the configured write rate a window must show: response times and a slow start only
#: lower the rate, never by half on a healthy stack.
MIN_WRITE_SHARE = 0.5


@dataclass(frozen=True)
class WriteFloor:
    """How many acknowledged writes a window must contain, and the arithmetic behind the number."""

    required: int
    formula: str

    @classmethod
    def of(cls, *, users: int, writes_per_user_second: float, healthy_seconds: float) -> WriteFloor:
        required = math.floor(MIN_WRITE_SHARE * users * writes_per_user_second * healthy_seconds)
        return cls(max(1, required), f"{MIN_WRITE_SHARE:g} x {users} users x {writes_per_user_second:.3f} writes/s "
                                     f"per user x {healthy_seconds:.1f} s healthy (before the fault, after its "
                                     f"alerts resolved) = {required}")

    def check(self, acknowledged: int, where: str) -> None:
        """LostWritesError-free, but an ExpectationError when the window holds too few acknowledged writes:
        zero writes cannot show that none was lost."""
        if acknowledged < self.required:
            raise ExpectationError(f"ledger: only {acknowledged} acknowledged writes {where}, at least "
                                   f"{self.required} expected ({self.formula}); the load did not exercise writes, "
                                   "so no loss could have been seen")


def check_ledger(acks: Sequence[Ack], dsn: str) -> LedgerReport:
    """Look every acknowledged id up in the ``items`` table at ``dsn``; the report says what is lost."""
    import psycopg

    by_id: dict[int, Ack] = {}
    duplicates = []
    for ack in acks:
        if ack.id in by_id:
            duplicates.append(ack.id)
        by_id[ack.id] = ack
    found: dict[int, dict[str, Any]] = {}
    if by_id:
        try:
            with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
                rows = conn.execute("SELECT id, name, value FROM items WHERE id = ANY(%s)", (list(by_id),)).fetchall()
        except psycopg.Error as exc:
            raise LoadError(f"cannot check the write ledger against Postgres ({_one_line(exc)}); "
                            f"is the stack's Postgres up?") from exc
        found = {int(r[0]): {"id": int(r[0]), "name": r[1], "value": int(r[2])} for r in rows}
    missing = [ack for i, ack in sorted(by_id.items()) if i not in found]
    mismatched = [(ack, found[i]) for i, ack in sorted(by_id.items())
                  if i in found and (found[i]["name"], found[i]["value"]) != (ack.name, ack.value)]
    return LedgerReport(acknowledged=len(acks), missing=missing, mismatched=mismatched, duplicates=sorted(duplicates))


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
