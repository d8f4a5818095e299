"""Load: steady background load for the whole session (every drill's baseline, fault and recovery run
under it), and the per-test ``load_run`` factory (``alertdrill.locustfiles.fixtures``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from alertdrill.settings import RunSettings

__all__ = ["LOAD_RUN_TIME", "LOAD_USERS", "steady_load"]

pytest_plugins = ["alertdrill.locustfiles.fixtures"]

#: Upper bound of the session's background load; the suite takes minutes, this only bounds a hang.
LOAD_RUN_TIME = 1800.0
LOAD_USERS = 10


@pytest.fixture(scope="session")
def steady_load(stack_info, alertdrill_settings: RunSettings, load_remote_options,
                pytestconfig: pytest.Config) -> Iterator:
    """Steady load for the whole session, with the write ledger in the report directory (a directory
    per xdist worker)."""
    from alertdrill.locustfiles.runner import LoadRun

    from .workers import worker_id

    artifacts = alertdrill_settings.report_dir / "load" / (worker_id(pytestconfig) or "")
    shutil.rmtree(artifacts, ignore_errors=True)  # the previous run's artifacts; this run writes its own
    run = LoadRun(profile="steady", target=stack_info.app_url, users=LOAD_USERS, run_time=LOAD_RUN_TIME,
                  workers=alertdrill_settings.load_workers, ledger_dsn=stack_info.postgres_dsn,
                  artifacts_dir=artifacts, **load_remote_options)
    with run:
        yield run
