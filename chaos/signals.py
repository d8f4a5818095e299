"""Signals while faults are active: SIGTERM unwinds like Ctrl-C, and nothing interrupts a revert.

Why: a CI runner cancels a job with SIGTERM, whose default action kills the process on the spot and
leaves the fault in place (the journal would catch it, but only at the next run). While at least one
fault is active, SIGTERM raises :class:`TerminatedBySignal` (a KeyboardInterrupt) in the main thread,
so every ``with fault:`` block and pytest's fixture teardown reverts as for Ctrl-C. The previous
handler comes back when the last fault is reverted. A revert itself runs with SIGINT and SIGTERM
held back, and they are re-delivered once it is done, so a second Ctrl-C cannot cut an undo in half.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["SIGTERM_GUARD", "SigtermGuard", "TerminatedBySignal", "signals_deferred"]


class TerminatedBySignal(KeyboardInterrupt):
    """SIGTERM arrived while a fault was active; raised so that every active fault is reverted."""


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class SigtermGuard:
    """Installs the SIGTERM handler while any fault is active (main thread only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: set[str] = set()
        self._previous: Any = None
        self._installed = False

    @property
    def active(self) -> frozenset[str]:
        return frozenset(self._active)

    def activate(self, fault_id: str) -> None:
        with self._lock:
            self._active.add(fault_id)
            if not self._installed and _in_main_thread():
                self._previous = signal.getsignal(signal.SIGTERM)
                signal.signal(signal.SIGTERM, self._handle)
                self._installed = True

    def deactivate(self, fault_id: str) -> None:
        with self._lock:
            self._active.discard(fault_id)
            # Off the main thread (a watchdog) the handler stays; it delegates once nothing is active.
            if not self._active and self._installed and _in_main_thread():
                signal.signal(signal.SIGTERM, self._restorable(self._previous))
                self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._active:
            raise TerminatedBySignal(f"SIGTERM while fault(s) {', '.join(sorted(self._active))} were active")
        previous = self._previous
        with self._lock:
            if self._installed and _in_main_thread():
                signal.signal(signal.SIGTERM, self._restorable(previous))
                self._installed = False
        _deliver(signum, frame, previous)

    @staticmethod
    def _restorable(handler: Any) -> Any:
        return signal.SIG_DFL if handler is None else handler


def _deliver(signum: int, frame: FrameType | None, handler: Any) -> None:
    """Act as ``handler`` would have for ``signum``."""
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_IGN:
        return
    else:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


SIGTERM_GUARD = SigtermGuard()


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the duration of the block, then deliver them (main thread only)."""
    if not _in_main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        pending.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, SigtermGuard._restorable(handler))
        for signum in dict.fromkeys(pending):
            _deliver(signum, None, previous[signum] if previous[signum] is not None else signal.SIG_DFL)
