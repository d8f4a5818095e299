"""Load: steady background load for the whole session (every drill's baseline, fault and recovery run
under it), and the per-test ``load_run`` factory (``alertdrill.locustfiles.fixtures``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from alertdrill.settings import RunSettings

__all__ = ["LOAD_USERS", "load_run_seconds", "steady_load"]

pytest_plugins = ["alertdrill.locustfiles.fixtures"]

LOAD_USERS = 10


def load_run_seconds(drill_bound: float, drills: int) -> float:
    """How long the session's load may run (Locust's own hard limit): every drill of the session at its
    upper bound (:func:`alertdrill.drill.drill_time_bound`), plus one for the baseline test; so the load
    outlives any session that keeps its deadlines, and a hung one stops."""
    return drill_bound * (max(drills, 0) + 1)


@pytest.fixture(scope="session")
def steady_load(stack_info, observers, alertdrill_settings: RunSettings, load_remote_options,
                pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Iterator:
    """Steady load for the whole session, with the write ledger in the report directory (a directory
    per xdist worker); it runs as long as this session's drills may take at their deadlines."""
    from alertdrill.drill import drill_time_bound
    from alertdrill.locustfiles.runner import LoadRun

    from .workers import worker_id

    artifacts = alertdrill_settings.report_dir / "load" / (worker_id(pytestconfig) or "")
    shutil.rmtree(artifacts, ignore_errors=True)  # the previous run's artifacts; this run writes its own
    drills = sum(1 for item in request.session.items if "scenario" in getattr(item, "fixturenames", ()))
    run_time = load_run_seconds(drill_time_bound(observers), drills)
    run = LoadRun(profile="steady", target=stack_info.app_url, users=LOAD_USERS, run_time=run_time,
                  workers=alertdrill_settings.load_workers, ledger_dsn=stack_info.postgres_dsn,
                  artifacts_dir=artifacts, **load_remote_options)
    with run:
        yield run
