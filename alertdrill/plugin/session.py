"""The session around the drills: SIGTERM ends it like Ctrl-C (fixtures tear down, faults revert, the
stack and the load stop), and at the end the summary matrix is printed and ``summary.json`` written."""

from __future__ import annotations

import signal
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


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


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
