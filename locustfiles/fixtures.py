"""pytest fixtures over LoadRun (the core works without pytest).

Register them with ``from alertdrill.locustfiles.fixtures import load_artifacts_dir, load_run`` in a
conftest, or ``pytest_plugins = ["alertdrill.locustfiles.fixtures"]`` in the root conftest/plugin.

    def test_cache_outage(load_run, stack_info):
        with load_run("steady", users=20, run_time=120) as load:
            load.mark("fault")
            ...
        assert load.result.window("fault").endpoint("/helloworld").failure_ratio == 0

Each run gets the session stack's app as target, ``--load-workers`` workers, the stack's Postgres
for the write ledger, and its own artifacts directory; a run the test left running is killed after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alertdrill.locustfiles.runner import LoadRun

__all__ = ["load_artifacts_dir", "load_run"]


@pytest.fixture
def load_artifacts_dir(tmp_path: Path) -> Path:
    """Where this test's load runs leave Locust's CSV, HTML report, logs, buckets and ledger."""
    return tmp_path / "load"


@pytest.fixture
def load_run(stack_info: Any, alertdrill_settings: Any, load_artifacts_dir: Path) -> Iterator[Callable[..., LoadRun]]:
    """Factory: ``load_run(profile="steady", **LoadRun options)`` -> a LoadRun to use as a context manager."""
    runs: list[LoadRun] = []

    def make(profile: str = "steady", **options: Any) -> LoadRun:
        options.setdefault("workers", alertdrill_settings.load_workers)
        options.setdefault("ledger_dsn", stack_info.postgres_dsn)
        options.setdefault("artifacts_dir", load_artifacts_dir / f"{len(runs) + 1:02d}-{profile}")
        run = LoadRun(profile=profile, target=stack_info.app_url, **options)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.kill()
