"""Parallel drills (pytest-xdist): each worker runs its own stack, sink, load and run directory, and
the controller merges every worker's drill results into the one summary, as a serial run's.

A worker's stack is named ``<stack name>-<worker id>`` (``pytest-gw0``), so its faults, journal and
crash recovery never touch another worker's; its load writes under ``<report dir>/load/<worker id>``.
Results travel to the controller through xdist's ``workeroutput`` as the JSON of
:meth:`alertdrill.results.DrillResult.to_json`, the one serialisation of a result.
"""

from __future__ import annotations

import json

import pytest

from alertdrill.results import DrillResult

from .session import drill_results_of

__all__ = ["worker_id"]

_OUTPUT_KEY = "alertdrill_results"


def worker_id(config: pytest.Config) -> str | None:
    """``gw0``, ``gw1``... in an xdist worker; None in a serial session or the controller."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get("workerid") if workerinput else None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its drill results to the controller."""
    if worker_id(session.config) is not None:
        results = drill_results_of(session.config)
        session.config.workeroutput[_OUTPUT_KEY] = json.dumps([r.to_json() for r in results])  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """The controller adds a finished worker's results to the session's (the summary is printed once)."""
    raw = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if raw:
        drill_results_of(node.config).extend(DrillResult.from_json(r) for r in json.loads(raw))
