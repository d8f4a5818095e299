"""Fault kinds by their one name: the catalogue's ``kind``, the journal's, and the key here.

A fault class registers itself by defining ``kind`` (see ``Fault.__init_subclass__``); every module
of this package is imported on the first lookup, so adding a fault is adding one module.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alertdrill.errors import ConfigError

from .params import closest

if TYPE_CHECKING:
    from .backend import Backend
    from .base import Fault
    from .journal import JournalEntry

__all__ = ["Faults", "build_fault", "fault_class", "kinds", "rebuild", "register"]

_KINDS: dict[str, type[Fault]] = {}
_loaded = False


def register(cls: type[Fault]) -> type[Fault]:
    """Make ``cls.kind`` known; a second class with the same kind is a ConfigError."""
    existing = _KINDS.get(cls.kind)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ConfigError(f"fault kind {cls.kind!r} is taken by {existing.__name__}")
    _KINDS[cls.kind] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(importlib.import_module(__package__).__path__):
        importlib.import_module(f"{__package__}.{module.name}")
    _loaded = True


def kinds() -> list[str]:
    """Every fault kind, sorted."""
    _load_all()
    return sorted(_KINDS)


def fault_class(kind: str) -> type[Fault]:
    """The class of ``kind``; an unknown kind is one ConfigError line with the closest names."""
    _load_all()
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown fault kind {kind!r}{closest(str(kind), _KINDS)} "
                          f"(known kinds: {', '.join(sorted(_KINDS))})") from None


def build_fault(kind: str, backend: Backend, *, max_duration: float, **params: Any) -> Fault:
    """A fault of ``kind`` against ``backend``, not injected yet (``with`` injects and reverts it)."""
    return fault_class(kind)(backend=backend, max_duration=max_duration, **params)


def rebuild(entry: JournalEntry, backend: Backend) -> Fault:
    """The fault ``entry`` describes, rebuilt against ``backend`` and ready for ``revert()``."""
    return fault_class(entry.kind).from_entry(entry, backend)


@dataclass(frozen=True)
class Faults:
    """Faults of any kind against one backend, each with the same lifetime bound.

    ``faults.build("redis-memory-fill", fraction=0.9)``; ``with`` injects and reverts what it returns.
    """

    backend: Backend
    max_duration: float

    def build(self, kind: str, *, max_duration: float | None = None, **params: Any) -> Fault:
        return build_fault(kind, self.backend, max_duration=max_duration or self.max_duration, **params)
