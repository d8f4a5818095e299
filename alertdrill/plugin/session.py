"""The session around the drills: SIGTERM ends it like Ctrl-C (fixtures tear down, faults revert, the
stack and the load stop), and at the end the summary matrix is printed and ``summary.json`` written."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

import pytest

from alertdrill.results import DrillResult

from .options import SETTINGS_KEY

__all__ = ["drill_results_of"]

RESULTS_KEY = pytest.StashKey[list[DrillResult]]()
STARTED_KEY = pytest.StashKey[float]()


def drill_results_of(config: pytest.Config) -> list[DrillResult]:
    """The session's drill results (what the summary is made of)."""
    return config.stash.setdefault(RESULTS_KEY, [])


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[STARTED_KEY] = time.time()
    # Python's default for SIGTERM (a CI job cancelled, `kill`) would exit on the spot and leave the
    # faults in and the stack running.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)
    config = session.config
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        _CONTROLLER.append(config)


#: The xdist controller's config, when this process is one: its workers hold the stacks and faults.
_CONTROLLER: list[pytest.Config] = []


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM: end like Ctrl-C. A further SIGTERM does not interrupt the shutdown this one started (a
    CI runner may signal the whole process group, and the controller forwards it too); SIGKILL does."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _CONTROLLER:
        _stop_workers(_CONTROLLER[0], signum)
    raise KeyboardInterrupt(f"signal {signum}")


def _stop_workers(config: pytest.Config, signum: int) -> None:
    """Forward the signal to the xdist workers and wait until their stacks are gone.

    A signal to the controller alone never reached them: xdist's teardown gave each worker 10 s
    (execnet interrupts it after 5 s and xdist kills it after 10), too little to revert a fault and
    stop a stack, which were left running. Each worker now starts its own orderly shutdown at once.
    Bounded by the native backend's stop timeout for every component, plus one for the faults.
    """
    from alertdrill.stack.backends.native import STOP_TIMEOUT
    from alertdrill.stack.components import COMPONENTS
    from alertdrill.stack.process import child_pids
    from alertdrill.stack.state import default_home
    from alertdrill.waiting import poll_until

    workers = child_pids(os.getpid())
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    settings = config.stash[SETTINGS_KEY]
    home = settings.home or default_home()
    prefix = f"{settings.stack_name}-gw"
    with contextlib.suppress(OSError):  # the reader of stderr may be gone too (a cancelled CI job, a killed pipe)
        print(f"alertdrill: signal {signum}: stopping {len(workers)} worker(s); waiting for their stacks to stop",
              file=sys.stderr, flush=True)
    poll_until(lambda: not any(p.is_dir() for p in home.glob(f"{prefix}*") if not p.name.endswith(".failed-logs")),
               timeout=STOP_TIMEOUT * (len(COMPONENTS) + 1), interval=0.2)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    from alertdrill.matrix import format_text, matrix_rows
    from alertdrill.results import RunSummary

    results = config.stash.get(RESULTS_KEY, None)
    if not results or getattr(config, "workerinput", None):  # a worker hands its results to the controller
        return
    wall = time.time() - config.stash.get(STARTED_KEY, time.time())
    terminalreporter.section("alertdrill summary")
    terminalreporter.write_line(format_text(matrix_rows(results), wall_seconds=wall))
    settings = config.stash[SETTINGS_KEY]
    from .stack import TIME_SCALE_KEY

    summary = RunSummary(results=list(results), wall_seconds=round(wall, 1),
                         time_scale=config.stash.get(TIME_SCALE_KEY, settings.time_scale))
    path = summary.write(settings.report_dir / "summary.json")
    terminalreporter.write_line(f"summary written to {path}")
