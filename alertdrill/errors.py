"""One exception tree for the whole toolkit.

Every error alertdrill raises on purpose derives from :class:`AlertdrillError`, and its message is a
single line that names the thing that is wrong and how to fix it. Third-party errors are wrapped with
``raise ... from exc`` so the cause stays visible in ``--tb=long`` but the CLI can print one line.

    AlertdrillError
    ├── ConfigError               bad input: option, rule file, catalogue, unknown alert name
    ├── StackError
    │   ├── BinaryNotFoundError   a component's executable is missing (names the Debian package)
    │   ├── StackStartError       a component did not become ready (log tail attached)
    │   ├── StackRunningError     `up` while a stack already runs
    │   └── StackNotRunningError  `down` / `status` / a fault with no stack
    ├── FaultError
    │   ├── FaultInjectError      the fault could not be put in place
    │   ├── FaultNotInEffectError prove() found no evidence the fault is in effect
    │   │   └── FaultTooWeakError in effect, but short of the threshold of the rule under test
    │   ├── FaultRevertError      undo failed (recorded; the run fails)
    │   └── ForeignTargetError    a fault aimed at something this stack did not start
    ├── ObservationError          Prometheus / Alertmanager / sink unreachable, HTTP error, bad JSON
    ├── ExpectationError          an alert did not do what the contract says (also an AssertionError)
    │   └── LostWritesError       acknowledged writes missing from Postgres (alertdrill.locustfiles.ledger)
    ├── LoadError                 Locust profile/target/options wrong, or the run failed
    ├── ReplayError               a recorded drill does not replay green under promtool
    └── ReportError               nothing to render, or a renderer is missing

Ctrl-C and SIGTERM are not errors: chaos.signals.TerminatedBySignal is a KeyboardInterrupt, so every
active fault is reverted on the way out exactly as for Ctrl-C.
"""

from __future__ import annotations

__all__ = [
    "AlertdrillError",
    "BinaryNotFoundError",
    "ConfigError",
    "ExpectationError",
    "FaultError",
    "FaultInjectError",
    "FaultNotInEffectError",
    "FaultRevertError",
    "FaultTooWeakError",
    "ForeignTargetError",
    "LoadError",
    "ObservationError",
    "ReplayError",
    "ReportError",
    "StackError",
    "StackNotRunningError",
    "StackRunningError",
    "StackStartError",
]


class AlertdrillError(Exception):
    """Root of every error alertdrill raises on purpose; ``str()`` is one actionable line."""


class ConfigError(AlertdrillError):
    """Invalid input: an option, a rule file, the catalogue, an alert name no rule has."""


class StackError(AlertdrillError):
    """The monitored stack could not be started, found or stopped."""


class BinaryNotFoundError(StackError):
    """A component's executable is not installed; the message names the package to install."""


class StackStartError(StackError):
    """A component did not become ready in time; the message carries the tail of its log."""


class StackRunningError(StackError):
    """A stack is already running in this run directory."""


class StackNotRunningError(StackError):
    """No stack is running where one was expected."""


class FaultError(AlertdrillError):
    """A fault could not be injected, proven or reverted."""


class FaultInjectError(FaultError):
    """The fault could not be put in place."""


class FaultNotInEffectError(FaultError):
    """prove() found no evidence that the fault is in effect, so no alert may be judged on it."""


class FaultTooWeakError(FaultNotInEffectError):
    """The fault is in effect, but what it measures falls short of the rule's threshold: the alert
    could not fire, and the drill says so instead of "did not fire"."""


class FaultRevertError(FaultError):
    """Reverting a fault failed; the stack may be left changed."""


class ForeignTargetError(FaultError):
    """A fault was aimed at a process, port or DSN that the stack's backend did not start."""


class ObservationError(AlertdrillError):
    """Prometheus, Alertmanager or the notification sink could not be read."""


class ExpectationError(AlertdrillError, AssertionError):
    """An alert did not fire, deliver, resolve or stay silent as its contract says."""


class LoadError(AlertdrillError):
    """A load profile, target or option is wrong, or the load run failed."""


class ReplayError(AlertdrillError):
    """A recorded drill does not replay green under ``promtool test rules``, or promtool could not run."""


class ReportError(AlertdrillError):
    """The report cannot be rendered: no results yet, or a renderer is missing."""
