"""The shape every fault shares: inject, prove, an idempotent revert, and nothing left behind.

Lifecycle (chaostoolkit style: the undo is registered before the fault is injected)::

    inject():  check targets -> read original settings -> write journal entry -> arm SIGTERM handler
               and watchdog -> _inject(); any failure (or Ctrl-C) reverts at once, then re-raises
    prove():   direct evidence the fault is in effect, or FaultNotInEffectError
    revert():  _revert() (with Ctrl-C/SIGTERM held back) -> remove the journal entry; idempotent; a
               failed revert keeps the entry so `alertdrill recover` can retry it

Every step leaves an :class:`alertdrill.steps.StepRecord` (start and end, status, detail, error) for reports.
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
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from alertdrill.assertions.thresholds import Threshold
from alertdrill.errors import (
    AlertdrillError,
    ConfigError,
    FaultError,
    FaultInjectError,
    FaultNotInEffectError,
    FaultRevertError,
    FaultTooWeakError,
)
from alertdrill.stack.process import process_start_ticks
from alertdrill.steps import StepRecord, StepRecorder
from alertdrill.waiting import poll_until

from .backend import Backend, stack_info
from .guard import StackGuard
from .journal import Journal, JournalEntry, utc_iso
from .params import Param, check_number, validate_params
from .registry import register
from .signals import SIGTERM_GUARD, signals_deferred

__all__ = [
    "DEFAULT_MAX_DURATION",
    "MAX_MAX_DURATION",
    "Evidence",
    "Fault",
    "Magnitude",
    "poll",
]

log = logging.getLogger(__name__)

#: A fault reverts itself after this long unless told otherwise (seconds).
DEFAULT_MAX_DURATION = 300.0
#: No fault may be asked to last longer than this (seconds).
MAX_MAX_DURATION = 3600.0


@dataclass(frozen=True)
class Magnitude:
    """What a fault measured directly, against the threshold of the rule it must drive."""

    what: str
    measured: float
    need: Threshold

    @property
    def reached(self) -> bool:
        return self.need.met_by(self.measured)

    def line(self) -> str:
        verdict = "reached" if self.reached else "the rule needs"
        return f"{self.what} measured {self.measured:g}, {verdict} {self.need}"


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

    #: The fault's one name: the catalogue's ``kind``, the registry key and the journal kind.
    kind: ClassVar[str] = ""
    #: The parameters this class adds to its bases' (see :meth:`spec`); each becomes an attribute.
    parameters: ClassVar[dict[str, Param]] = {}
    #: A regular expression over metric names: the rule thresholds on those metrics are what this
    #: fault must reach (see :meth:`require` and :meth:`_magnitudes`); empty: no magnitude to prove.
    magnitude_metric: ClassVar[str] = ""
    #: True for a fault that builds up while it is injected (memory filled, connections opened): it is
    #: in effect once inject returns. False: in effect from the moment inject starts acting (a stop).
    builds_up: ClassVar[bool] = False
    #: Why the fault needs a stack that alertdrill started on this machine ("" when it does not): it
    #: stops, kills or pauses processes, writes the app's fault switch, a link proxy's control file or
    #: the Prometheus configuration. Against an external stack, scenarios using it are skipped with it.
    needs_local_stack: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            register(cls)

    @classmethod
    def spec(cls) -> dict[str, Param]:
        """Every parameter of this kind, its bases' first."""
        merged: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            merged.update(klass.__dict__.get("parameters", {}))
        return merged

    @classmethod
    def validate(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """The parameters ``raw`` gives, validated and completed with defaults (one-line ConfigError)."""
        return validate_params(cls.kind or cls.__name__, cls.spec(), raw)

    def __init__(self, *, backend: Backend, max_duration: float = DEFAULT_MAX_DURATION, **params: Any) -> None:
        check_number("max_duration", max_duration, low=0, high=MAX_MAX_DURATION, low_inclusive=False)
        for name, value in self.validate(params).items():
            setattr(self, name, value)
        self.backend = backend
        self.info = stack_info(backend)
        self.guard = StackGuard(self.info)
        self.max_duration = float(max_duration)
        self.id = f"{self.kind}-{uuid.uuid4().hex[:8]}"
        self.original: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.steps = StepRecorder(allure=False)
        self.expired = False
        self.recovered = False
        self._state = "new"
        self._lock = threading.RLock()
        self._journal = Journal(self.info.journal_dir)
        self._watchdog: threading.Timer | None = None
        self._started_at = 0.0
        self.needs: list[Threshold] = []
        #: When the fault took effect (see :attr:`builds_up`); the deadlines of its alerts count from here.
        self.effective_at: float | None = None

    # -- what subclasses provide -------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """The parameters (JSON values) that rebuild this fault from the journal."""
        return {name: getattr(self, name) for name in self.spec()}

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

    def require(self, needs: list[Threshold]) -> None:
        """The thresholds of the rule under test on :attr:`magnitude_metric`: prove() must reach them."""
        self.needs = list(needs)

    def _magnitudes(self, facts: dict[str, Any]) -> list[Magnitude]:
        """What this fault measured against each of :attr:`needs` (from ``_prove``'s facts)."""
        return []

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
                acting_at = time.time()
                try:
                    self._inject()
                    self.effective_at = time.time() if self.builds_up else acting_at
                except BaseException as exc:
                    self._revert_after_failed_inject(exc)
                    if isinstance(exc, AlertdrillError) or not isinstance(exc, Exception):
                        raise
                    raise FaultInjectError(f"{self.describe()} could not be injected: {_one_line(exc)}") from exc
                record.detail["output"] = {"original": self.original, "resources": self.resources}
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
                magnitudes = self._magnitudes(facts)
                if magnitudes:
                    facts["magnitudes"] = [m.line() for m in magnitudes]
                short = [m for m in magnitudes if not m.reached]
                if short:
                    error = FaultTooWeakError(f"fault {self.describe()} too weak: "
                                              + "; ".join(m.line() for m in short))
                    error.facts = facts  # type: ignore[attr-defined]
                    raise error
                evidence = Evidence(self.id, self.kind, self.target(), summary, facts, utc_iso(time.time()))
                record.detail["output"] = evidence.to_dict()
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
        error = type(last[0]) if last[0] is not None else FaultNotInEffectError  # keep "too weak" a FaultTooWeakError
        raise error(f"{last[0]} (still, after waiting {timeout:g}s)")

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
                    record.detail["output"] = summary
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

    @property
    def records(self) -> list[StepRecord]:
        """Every step of this fault's life, in order."""
        return self.steps.records

    def timings(self) -> dict[str, float | None]:
        """Seconds each step took (the last of each name)."""
        return {r.name: r.duration for r in self.records}

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
            self.steps.add("expire", status="passed", output=f"max duration {self.max_duration:g}s passed")
        try:
            self.revert()
        except FaultError as exc:
            log.error("watchdog could not revert %s: %s", self.describe(), exc)

    def _step(self, name: str) -> AbstractContextManager[StepRecord]:
        return self.steps.step(name)


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
