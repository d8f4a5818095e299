"""The shape every fault shares: inject, prove, an idempotent revert, and nothing left behind.

Lifecycle (chaostoolkit style: the undo is registered before the fault is injected)::

    inject():  check targets -> read original settings -> write journal entry -> arm SIGTERM handler
               and watchdog -> _inject(); any failure (or Ctrl-C) reverts at once, then re-raises
    prove():   direct evidence the fault is in effect, or FaultNotInEffectError
    revert():  _revert() (with Ctrl-C/SIGTERM held back) -> remove the journal entry; idempotent; a
               failed revert keeps the entry so `alertdrill recover` can retry it

Every step leaves a :class:`StepRecord` (UTC start and end, status, output, error) for reports.
Subclasses implement ``_inject``, ``_prove`` and ``_revert``; ``_revert`` must work both in the
injecting process and in a later one that only has the journal entry (see chaos/recovery.py).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from alertdrill.errors import (
    AlertdrillError,
    ConfigError,
    FaultError,
    FaultInjectError,
    FaultNotInEffectError,
    FaultRevertError,
)
from alertdrill.stack.process import process_start_ticks
from alertdrill.waiting import poll_until

from .backend import Backend, stack_info
from .guard import StackGuard
from .journal import Journal, JournalEntry, utc_iso
from .signals import SIGTERM_GUARD, signals_deferred

__all__ = [
    "DEFAULT_MAX_DURATION",
    "MAX_MAX_DURATION",
    "Evidence",
    "Fault",
    "StepRecord",
    "check_number",
    "poll",
]

log = logging.getLogger(__name__)

#: A fault reverts itself after this long unless told otherwise (seconds).
DEFAULT_MAX_DURATION = 300.0
#: No fault may be asked to last longer than this (seconds).
MAX_MAX_DURATION = 3600.0


def check_number(name: str, value: Any, *, low: float, high: float, integer: bool = False,
                 low_inclusive: bool = True) -> Any:
    """Validate a numeric constructor argument; ConfigError names the argument and the bad value."""
    kind = "an integer" if integer else "a number"
    expected = f"{name} must be {kind} in {'[' if low_inclusive else '('}{low:g}..{high:g}]"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        raise ConfigError(f"{expected}, got {value!r}")
    too_low = value < low if low_inclusive else value <= low
    if too_low or value > high or value != value:  # value != value: NaN
        raise ConfigError(f"{expected}, got {value!r}")
    return value


@dataclass(frozen=True)
class Evidence:
    """What prove() saw: a one-line summary and the facts, for assertions and the report."""

    fault_id: str
    kind: str
    target: dict[str, Any]
    summary: str
    facts: dict[str, Any]
    observed_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepRecord:
    """One step of a fault's life (inject, prove, revert, expire)."""

    name: str
    started_at: str
    ended_at: str = ""
    duration_s: float = 0.0
    status: str = "running"
    output: Any = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_ACTIVE: weakref.WeakSet[Fault] = weakref.WeakSet()


@atexit.register
def _revert_active_at_exit() -> None:
    """Last line of defence for faults injected without ``with`` or ``finally``."""
    for fault in list(_ACTIVE):
        try:
            fault.revert()
        except Exception as exc:
            log.error("could not revert %s at exit: %s", fault.describe(), exc)


class Fault(ABC):
    """Base of every fault; use it as a context manager: ``with fault: fault.prove()``."""

    #: Unique name in the journal and the registry, e.g. ``redis-memory-fill``.
    kind: ClassVar[str] = ""
    #: Why the fault needs a stack that alertdrill started on this machine ("" when it does not): it
    #: stops, kills or pauses processes, writes the app's fault switch, a link proxy's control file or
    #: the Prometheus configuration. Against an external stack, scenarios using it are skipped with it.
    needs_local_stack: ClassVar[str] = ""

    def __init__(self, *, backend: Backend, max_duration: float = DEFAULT_MAX_DURATION) -> None:
        check_number("max_duration", max_duration, low=0, high=MAX_MAX_DURATION, low_inclusive=False)
        self.backend = backend
        self.info = stack_info(backend)
        self.guard = StackGuard(self.info)
        self.max_duration = float(max_duration)
        self.id = f"{self.kind}-{uuid.uuid4().hex[:8]}"
        self.original: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.records: list[StepRecord] = []
        self.expired = False
        self.recovered = False
        self._state = "new"
        self._lock = threading.RLock()
        self._journal = Journal(self.info.journal_dir)
        self._watchdog: threading.Timer | None = None
        self._started_at = 0.0

    # -- what subclasses provide -------------------------------------------------------------------

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The constructor's keyword arguments (JSON values) that rebuild this fault from the journal."""

    @abstractmethod
    def target(self) -> dict[str, Any]:
        """What the fault acts on (component, DSN, URL, file), for the journal and the evidence."""

    def _check_targets(self) -> None:  # noqa: B027 - optional hook
        """Refuse foreign targets that can only be checked at inject time (e.g. a pid)."""

    def _read_original(self) -> dict[str, Any]:
        """The current values of every setting the fault will change (restored exactly on revert)."""
        return {}

    @abstractmethod
    def _inject(self) -> None:
        """Put the fault in place; return only when it is in effect."""

    @abstractmethod
    def _prove(self) -> tuple[str, dict[str, Any]]:
        """Gather direct evidence: ``(summary, facts)``, or raise via :meth:`not_in_effect`."""

    @abstractmethod
    def _revert(self) -> str:
        """Undo, idempotently, from this process's state or from the journal alone; return a summary."""

    # -- public lifecycle --------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """new, active, reverted or revert-failed."""
        return self._state

    @property
    def application_name(self) -> str:
        """What every connection of this fault calls itself, so leftovers can be found and closed."""
        return f"alertdrill-chaos:{self.id}"

    def describe(self) -> str:
        target = ", ".join(f"{k}={v}" for k, v in self.target().items())
        return f"{self.kind} {self.id} ({target})"

    def inject(self) -> Fault:
        """Journal the fault, then inject it; on any failure revert before re-raising."""
        with self._lock:
            if self._state != "new":
                raise FaultInjectError(f"{self.describe()} was already injected ({self._state}); create a new fault")
            with self._step("inject") as record:
                try:  # nothing is changed yet: a failure here needs no revert
                    self._check_targets()
                    self.original = self._read_original()
                    self._started_at = time.time()
                    self._journal.write(self._entry())
                except AlertdrillError:
                    raise
                except Exception as exc:
                    raise FaultInjectError(f"{self.describe()} could not be prepared: {_one_line(exc)}") from exc
                self._state = "active"
                _ACTIVE.add(self)
                SIGTERM_GUARD.activate(self.id)
                self._start_watchdog()
                try:
                    self._inject()
                except BaseException as exc:
                    self._revert_after_failed_inject(exc)
                    if isinstance(exc, AlertdrillError) or not isinstance(exc, Exception):
                        raise
                    raise FaultInjectError(f"{self.describe()} could not be injected: {_one_line(exc)}") from exc
                record.output = {"original": self.original, "resources": self.resources}
        return self

    def prove(self) -> Evidence:
        """Direct evidence that the fault is in effect right now; FaultNotInEffectError otherwise."""
        with self._lock:
            if self._state != "active":
                why = (f"it reverted itself after its max duration of {self.max_duration:g}s" if self.expired
                       else f"it is {self._state}")
                raise FaultNotInEffectError(f"fault {self.describe()} not in effect: {why}")
            with self._step("prove") as record:
                try:
                    summary, facts = self._prove()
                except AlertdrillError:
                    raise
                except Exception as exc:
                    raise self.not_in_effect(f"could not gather evidence: {_one_line(exc)}") from exc
                evidence = Evidence(self.id, self.kind, self.target(), summary, facts, utc_iso(time.time()))
                record.output = evidence.to_dict()
            return evidence

    def wait_until_proven(self, *, timeout: float, interval: float = 0.2) -> Evidence:
        """Poll :meth:`prove` until it succeeds (e.g. a counter that Postgres flushes every second)."""
        last: list[FaultNotInEffectError | None] = [None]

        def attempt() -> Evidence | None:
            try:
                return self.prove()
            except FaultNotInEffectError as exc:
                last[0] = exc
                if self._state != "active":
                    raise
                return None

        ok, evidence = poll_until(attempt, timeout=timeout, interval=interval, accept=lambda e: e is not None)
        if ok and evidence is not None:
            return evidence
        raise FaultNotInEffectError(f"{last[0]} (still, after waiting {timeout:g}s)")

    def revert(self) -> str | None:
        """Undo the fault and remove its journal entry; a no-op when there is nothing to undo."""
        with self._lock:
            if self._state in ("new", "reverted"):
                return None
            try:
                with signals_deferred(), self._step("revert") as record:
                    self._cancel_watchdog()
                    try:
                        summary = self._revert()
                    except Exception as exc:
                        self._state = "revert-failed"
                        raise FaultRevertError(
                            f"could not revert {self.describe()}: {_one_line(exc)}; its journal entry "
                            f"{self._journal.path_for(self.id)} stays so that `alertdrill recover` can retry"
                        ) from exc
                    self._journal.remove(self.id)
                    self._state = "reverted"
                    _ACTIVE.discard(self)
                    record.output = summary
                    return summary
            finally:
                SIGTERM_GUARD.deactivate(self.id)

    def __enter__(self) -> Fault:
        return self.inject()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            self.revert()
        except FaultRevertError as error:
            if exc is None:
                raise
            exc.add_note(f"while unwinding, the revert failed too: {error}")

    def not_in_effect(self, reason: str, **facts: Any) -> FaultNotInEffectError:
        """The error prove() raises; ``facts`` are kept on it for the report."""
        error = FaultNotInEffectError(f"fault {self.describe()} not in effect: {reason}")
        error.facts = facts  # type: ignore[attr-defined]
        return error

    def timings(self) -> dict[str, float]:
        """Seconds each step took (the last of each name)."""
        return {r.name: r.duration_s for r in self.records}

    # -- journal and recovery ----------------------------------------------------------------------

    def _entry(self) -> JournalEntry:
        return JournalEntry(
            id=self.id,
            kind=self.kind,
            params=self.params(),
            target=self.target(),
            original=self.original,
            resources=self.resources,
            pid=os.getpid(),
            pid_start_ticks=process_start_ticks(os.getpid()),
            started_at=self._started_at,
            max_duration=self.max_duration,
            stack=self.info.name,
        )

    def _journal_resources(self, **resources: Any) -> None:
        """Record something the fault created before creating it, so a later revert can remove it."""
        self.resources.update(resources)
        self._journal.write(self._entry())

    @classmethod
    def from_entry(cls, entry: JournalEntry, backend: Backend) -> Fault:
        """Rebuild a fault that another (dead) process injected, ready to be reverted."""
        try:
            fault = cls(backend=backend, max_duration=entry.max_duration, **entry.params)
        except TypeError as exc:
            raise ConfigError(f"journal entry {entry.id} has parameters {cls.__name__} does not take: {exc}") from exc
        fault.id = entry.id
        fault.original = dict(entry.original)
        fault.resources = dict(entry.resources)
        fault._started_at = entry.started_at
        fault._state = "active"
        fault.recovered = True
        return fault

    # -- internals ---------------------------------------------------------------------------------

    def _revert_after_failed_inject(self, cause: BaseException) -> None:
        try:
            self.revert()
        except FaultRevertError as error:
            cause.add_note(str(error))

    def _start_watchdog(self) -> None:
        timer = threading.Timer(self.max_duration, self._expire)
        timer.daemon = True
        timer.name = f"alertdrill-watchdog-{self.id}"
        self._watchdog = timer
        timer.start()

    def _cancel_watchdog(self) -> None:
        timer, self._watchdog = self._watchdog, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()

    def _expire(self) -> None:
        """The watchdog: the fault outlived its max duration, so it reverts itself."""
        with self._lock:
            if self._state != "active":
                return
            self.expired = True
            self.records.append(StepRecord("expire", utc_iso(time.time()), status="succeeded",
                                           output=f"max duration {self.max_duration:g}s passed"))
        try:
            self.revert()
        except FaultError as exc:
            log.error("watchdog could not revert %s: %s", self.describe(), exc)

    @contextmanager
    def _step(self, name: str) -> Iterator[StepRecord]:
        began = time.time()
        started = time.monotonic()
        record = StepRecord(name, utc_iso(began))
        self.records.append(record)
        try:
            yield record
        except BaseException as exc:
            record.status = "failed"
            record.error = f"{type(exc).__name__}: {_one_line(exc)}"
            raise
        else:
            record.status = "succeeded"
        finally:
            record.ended_at = utc_iso(time.time())
            record.duration_s = round(time.monotonic() - started, 3)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def poll(probe: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.05,
         accept: Callable[[Any], bool] = bool, error: type[FaultError] = FaultInjectError) -> Any:
    """poll_until that raises ``error`` naming ``what`` and the last value seen when the deadline passes."""
    ok, value = poll_until(probe, timeout=timeout, interval=interval, accept=accept)
    if not ok:
        raise error(f"{what} did not happen within {timeout:g}s (last seen: {value!r})")
    return value
