"""The fault journal: one JSON file per active fault, in the stack's run directory.

Why on disk: a fault that is written down *before* it is injected can be reverted by a later process
after the injecting one died (SIGKILL, OOM killer, a lost CI runner). Writes are atomic (temp file,
fsync, rename), so an entry is either complete or absent; a file that still cannot be read is
reported with its path and what to do, never skipped silently.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alertdrill.errors import FaultRevertError

__all__ = ["JOURNAL_VERSION", "CorruptEntry", "Journal", "JournalEntry", "utc_iso", "valid_fault_id"]

JOURNAL_VERSION = 1
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SUFFIX = ".json"


def valid_fault_id(fault_id: str) -> bool:
    """Ids become file names and Postgres application names: lowercase, digits and dashes only."""
    return isinstance(fault_id, str) and bool(_ID.match(fault_id))


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class JournalEntry:
    """Everything a later process needs to rebuild a fault and revert it.

    ``original`` holds the values of settings the fault changes (restored exactly); ``resources``
    what it created (tables, key prefixes, child pids) that revert must remove.
    """

    id: str
    kind: str
    params: dict[str, Any]
    target: dict[str, Any]
    pid: int
    started_at: float
    max_duration: float
    original: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    pid_start_ticks: int | None = None
    stack: str = ""
    version: int = JOURNAL_VERSION

    @property
    def deadline(self) -> float:
        """Epoch time after which the fault's own watchdog should have reverted it."""
        return self.started_at + self.max_duration

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at_utc"] = utc_iso(self.started_at)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> JournalEntry:
        """Validate a decoded entry; ValueError names the first problem."""
        if not isinstance(data, dict):
            raise ValueError("the entry is not a JSON object")
        if data.get("version") != JOURNAL_VERSION:
            raise ValueError(f"unknown journal version {data.get('version')!r} (expected {JOURNAL_VERSION})")
        required = {"id": str, "kind": str, "params": dict, "target": dict, "pid": int,
                    "started_at": (int, float), "max_duration": (int, float)}
        for key, types in required.items():
            if key not in data:
                raise ValueError(f"missing field {key!r}")
            if not isinstance(data[key], types) or isinstance(data[key], bool):
                raise ValueError(f"field {key!r} has the wrong type ({type(data[key]).__name__})")
        if not valid_fault_id(data["id"]):
            raise ValueError(f"invalid fault id {data['id']!r}")
        for key in ("original", "resources"):
            if not isinstance(data.get(key, {}), dict):
                raise ValueError(f"field {key!r} must be an object")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class CorruptEntry:
    """A journal file that could not be read: its path and why."""

    path: Path
    reason: str

    def message(self) -> str:
        return (f"journal entry {self.path} is unreadable ({self.reason}); the fault it recorded may still be "
                "in effect: check the stack by hand (or stop it with `alertdrill down`), then delete the file")


class Journal:
    """The journal directory of one stack (``StackInfo.journal_dir``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, fault_id: str) -> Path:
        if not valid_fault_id(fault_id):
            raise ValueError(f"invalid fault id {fault_id!r}")
        return self.directory / f"{fault_id}{_SUFFIX}"

    def write(self, entry: JournalEntry) -> Path:
        """Atomically (re)write ``entry``; after this returns it survives a crash of this process."""
        path = self.path_for(entry.id)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{entry.id}.{os.getpid()}.tmp"
        data = json.dumps(entry.to_dict(), indent=2, sort_keys=True).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
        _fsync_dir(self.directory)
        return path

    def read(self, fault_id: str) -> JournalEntry:
        """The entry for ``fault_id``; FaultRevertError with the path and a hint when unreadable."""
        path = self.path_for(fault_id)
        entry = self._load(path)
        if isinstance(entry, CorruptEntry):
            raise FaultRevertError(entry.message())
        return entry

    def remove(self, fault_id: str) -> bool:
        """Delete the entry; False when there was none (revert is idempotent)."""
        try:
            self.path_for(fault_id).unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(self.directory)
        return True

    def scan(self) -> tuple[list[JournalEntry], list[CorruptEntry]]:
        """Every entry, oldest first, and every file that could not be read."""
        if not self.directory.is_dir():
            return [], []
        entries: list[JournalEntry] = []
        corrupt: list[CorruptEntry] = []
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            loaded = self._load(path)
            (corrupt if isinstance(loaded, CorruptEntry) else entries).append(loaded)  # type: ignore[arg-type]
        entries.sort(key=lambda e: (e.started_at, e.id))
        return entries, corrupt

    def stale_temp_files(self) -> list[Path]:
        """Temp files of writes that never completed (their writer is gone): the fault was never injected."""
        if not self.directory.is_dir():
            return []
        stale = []
        for path in self.directory.glob(".*.tmp"):
            pid = path.name.rsplit(".", 2)[-2]
            if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
                stale.append(path)
        return stale

    @staticmethod
    def _load(path: Path) -> JournalEntry | CorruptEntry:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entry = JournalEntry.from_dict(data)
        except FileNotFoundError:
            return CorruptEntry(path, "it vanished while being read")
        except (OSError, UnicodeDecodeError) as exc:
            return CorruptEntry(path, f"cannot read it: {exc}")
        except ValueError as exc:  # JSONDecodeError is a ValueError
            return CorruptEntry(path, str(exc))
        if path.name != f"{entry.id}{_SUFFIX}":
            return CorruptEntry(path, f"it names fault {entry.id!r}, not its file name")
        return entry


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
