"""Revert what a crashed run left behind, from the fault journal in the stack's run directory.

Called before anything else by `alertdrill up`, `down`, `recover` and the pytest plugin's stack
fixture. Each entry is rebuilt through the registry of fault kinds and reverted with the same code
the injecting process would have run; revert copes with the injecting process being gone (its
connections closed with it; leftovers are found by application_name or client name; settings come
back from the values stored in the entry). Entries still owned by a live process within their max
duration are left alone. When the stack itself is gone there is nothing left to undo (its data
directory is rebuilt on the next start), so such entries are only cleared.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from alertdrill.errors import AlertdrillError, FaultRevertError
from alertdrill.stack.process import process_start_ticks
from alertdrill.stack.state import STATE_FILE

from .backend import Backend, attach_backend, stack_is_running
from .journal import Journal, JournalEntry
from .registry import rebuild

__all__ = ["owner_alive", "recover_run_dir"]

log = logging.getLogger(__name__)

#: A live owner whose fault is this far past its max duration is presumed hung; its fault is reverted.
OVERDUE_GRACE_S = 30.0


def owner_alive(entry: JournalEntry) -> bool:
    """The process that injected the fault still runs (same pid *and* start time, not a zombie)."""
    ticks = process_start_ticks(entry.pid)
    if ticks is None or (entry.pid_start_ticks is not None and ticks != entry.pid_start_ticks):
        return False
    try:
        state = Path(f"/proc/{entry.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _backend(run_dir: Path) -> Backend | None:
    if not (run_dir / STATE_FILE).exists():
        return None
    try:
        backend = attach_backend(run_dir)
    except AlertdrillError as exc:
        log.warning("cannot read the stack in %s (%s); treating it as not running", run_dir, exc)
        return None
    return backend if stack_is_running(backend) else None


def recover_run_dir(run_dir: Path) -> list[str]:
    """Revert every fault recorded in ``run_dir``'s journal; return one line per fault handled.

    Raises FaultRevertError (after trying every entry) when an entry could not be read or reverted
    on a running stack; the entry stays in the journal so the next attempt retries it.
    """
    run_dir = Path(run_dir)
    journal = Journal(run_dir / "faults")
    for stale in journal.stale_temp_files():
        stale.unlink(missing_ok=True)
    entries, corrupt = journal.scan()
    if not entries and not corrupt:
        return []
    backend = _backend(run_dir)
    lines: list[str] = []
    problems: list[str] = []
    for entry in reversed(entries):  # newest first, like any undo stack
        if entry.pid == os.getpid():
            continue  # ours and active in this very process; its own revert handles it
        if owner_alive(entry) and time.time() < entry.deadline + OVERDUE_GRACE_S:
            log.warning("left %s alone: pid %s that injected it is still running", entry.id, entry.pid)
            continue
        what = f"{entry.kind} {entry.id} (injected by pid {entry.pid} at {entry.to_dict()['started_at_utc']})"
        if backend is None:
            journal.remove(entry.id)
            lines.append(f"{what}: stack not running, nothing left to undo; journal entry cleared")
            continue
        try:
            fault = rebuild(entry, backend)
            summary = fault.revert()
        except AlertdrillError as exc:
            problems.append(f"{what}: {exc}")
            continue
        lines.append(f"{what}: {summary}")
    for bad in corrupt:
        if backend is None:
            bad.path.unlink(missing_ok=True)
            lines.append(f"unreadable journal entry {bad.path.name} ({bad.reason}) cleared: stack not running")
        else:
            problems.append(bad.message())
    if problems:
        done = f"; reverted: {' | '.join(lines)}" if lines else ""
        raise FaultRevertError(
            f"could not revert {len(problems)} fault(s) from {journal.directory}: {' | '.join(problems)}{done}"
        )
    return lines
