"""Fault kinds by name, so a later process can rebuild a fault from its journal entry and revert it."""

from __future__ import annotations

import importlib

from alertdrill.errors import ConfigError

from .backend import Backend
from .base import Fault
from .journal import JournalEntry

__all__ = ["fault_class", "kinds", "rebuild", "register"]

_KINDS: dict[str, type[Fault]] = {}

#: Modules that define fault kinds; imported on first lookup so the registry is complete.
_FAULT_MODULES = (
    "service",
    "pg_connections",
    "pg_queries",
    "pg_counters",
    "pg_load",
    "pg_maintenance",
    "redis_memory",
    "redis_clients",
    "redis_commands",
    "app",
    "network",
    "monitoring",
)


def register(cls: type[Fault]) -> type[Fault]:
    """Class decorator: make ``cls.kind`` rebuildable from the journal."""
    if not cls.kind:
        raise ConfigError(f"{cls.__name__} has no kind; set the class attribute `kind`")
    existing = _KINDS.get(cls.kind)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ConfigError(f"fault kind {cls.kind!r} is taken by {existing.__name__}")
    _KINDS[cls.kind] = cls
    return cls


def _load_all() -> None:
    for module in _FAULT_MODULES:
        importlib.import_module(f"{__package__}.{module}")


def kinds() -> list[str]:
    _load_all()
    return sorted(_KINDS)


def fault_class(kind: str) -> type[Fault]:
    _load_all()
    try:
        return _KINDS[kind]
    except KeyError:
        raise ConfigError(f"unknown fault kind {kind!r}; known kinds: {', '.join(sorted(_KINDS))}") from None


def rebuild(entry: JournalEntry, backend: Backend) -> Fault:
    """The fault ``entry`` describes, rebuilt against ``backend`` and ready for ``revert()``."""
    return fault_class(entry.kind).from_entry(entry, backend)
