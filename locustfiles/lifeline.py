"""Locust processes die with the session that started them, within a second, however it dies.

``timeout -s KILL`` bounds every Locust process by the run's own limit, but a SIGKILLed pytest
would leave them loading the stack until then (30 minutes for the session's load). Linux's
``PR_SET_PDEATHSIG`` asks the kernel to SIGKILL a process when its parent dies: the controller sets
it on the ``timeout`` process it spawns (:func:`preexec_die_with_parent`), and each Locust process,
whose parent is that ``timeout``, sets it on itself at import (:func:`die_with_parent`, enabled by
:data:`LIFELINE_ENV` so that workers a user starts by hand on other hosts are left alone).
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from collections.abc import Callable

__all__ = ["LIFELINE_ENV", "die_with_parent", "preexec_die_with_parent"]

#: Set by the controller in the environment of the Locust processes it starts.
LIFELINE_ENV = "ALERTDRILL_LOCUST_DIE_WITH_PARENT"

_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now: nothing may be loaded after fork
except (OSError, AttributeError):  # not Linux
    _prctl = None


def die_with_parent(expected_parent: int | None = None) -> bool:
    """SIGKILL this process when its parent dies; exit now if it already has. False if unsupported."""
    parent = os.getppid() if expected_parent is None else expected_parent
    if _prctl is None or _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    return True


def preexec_die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` tying the child to this process, or None where it cannot be used safely.

    The kernel's "parent" is the thread that forked: only the main thread outlives the session, so a
    child started from another thread keeps only its ``timeout`` bound.
    """
    if _prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    me = os.getpid()

    def preexec() -> None:
        die_with_parent(me)

    return preexec
