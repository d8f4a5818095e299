"""Faults that really happen: inject, prove with direct evidence, revert, and never leave one behind.

A fault kind is one module here: a :class:`Fault` subclass whose ``kind`` is its one name (the
catalogue's ``kind``, the journal's) and whose ``parameters`` declare its arguments. Build one with
``build_fault(kind, backend, max_duration=..., **params)`` (or ``Faults(backend, max_duration).build``);
every fault is a context manager. See chaos/base.py for the lifecycle and chaos/recovery.py for crash
recovery.
"""

from .backend import Backend
from .base import DEFAULT_MAX_DURATION, MAX_MAX_DURATION, Evidence, Fault
from .journal import Journal, JournalEntry
from .params import Param
from .recovery import recover_run_dir
from .registry import Faults, build_fault, fault_class, kinds
from .signals import TerminatedBySignal

__all__ = [
    "DEFAULT_MAX_DURATION",
    "MAX_MAX_DURATION",
    "Backend",
    "Evidence",
    "Fault",
    "Faults",
    "Journal",
    "JournalEntry",
    "Param",
    "TerminatedBySignal",
    "build_fault",
    "fault_class",
    "kinds",
    "recover_run_dir",
]
