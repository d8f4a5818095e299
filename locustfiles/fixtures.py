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
With ``--load-master-bind ADDR --load-expect-workers N`` (options of this module, as the remote-worker
settings live in the load layer) the master also waits for N workers on other hosts and the worker
command is printed on the terminal: ``load_remote_options`` are the keyword arguments for any LoadRun.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alertdrill.errors import AlertdrillError
from alertdrill.locustfiles.options import (
    EXPECT_WORKERS_HELP,
    MASTER_BIND_HELP,
    RemoteWorkers,
    remote_workers_setting,
)
from alertdrill.locustfiles.runner import LoadRun

__all__ = ["load_artifacts_dir", "load_remote_options", "load_run", "pytest_addoption", "pytest_configure"]

REMOTE_KEY = pytest.StashKey[RemoteWorkers | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("alertdrill", "alertdrill: prove documented alerts")
    group.addoption("--load-master-bind", default=None, metavar="ADDR[:PORT]", help=MASTER_BIND_HELP)
    group.addoption("--load-expect-workers", default=None, type=int, metavar="N", help=EXPECT_WORKERS_HELP)


def _terminal_announcer(config: pytest.Config) -> Callable[[str], None]:
    """Print past pytest's output capture: whoever starts the remote workers must see the command."""
    def announce(text: str) -> None:
        capture = config.pluginmanager.get_plugin("capturemanager")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None:
                reporter.write_line(text)
            else:
                print(text, flush=True)
    return announce


def pytest_configure(config: pytest.Config) -> None:
    """The remote-worker setting, once (option > environment): bad input is one line before anything runs."""
    try:
        config.stash[REMOTE_KEY] = remote_workers_setting(config.getoption("--load-master-bind", None),
                                                          config.getoption("--load-expect-workers", None))
    except AlertdrillError as exc:
        raise pytest.UsageError(f"alertdrill: {exc}") from None


@pytest.fixture(scope="session")
def load_remote_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """``remote`` and ``announce`` for a LoadRun: empty without remote workers."""
    remote = pytestconfig.stash.get(REMOTE_KEY, None)
    return {"remote": remote, "announce": _terminal_announcer(pytestconfig)} if remote else {}


@pytest.fixture
def load_artifacts_dir(tmp_path: Path) -> Path:
    """Where this test's load runs leave Locust's CSV, HTML report, logs, buckets and ledger."""
    return tmp_path / "load"


@pytest.fixture
def load_run(stack_info: Any, alertdrill_settings: Any, load_artifacts_dir: Path,
             load_remote_options: dict[str, Any]) -> Iterator[Callable[..., LoadRun]]:
    """Factory: ``load_run(profile="steady", **LoadRun options)`` -> a LoadRun to use as a context manager."""
    runs: list[LoadRun] = []

    def make(profile: str = "steady", **options: Any) -> LoadRun:
        options.setdefault("workers", alertdrill_settings.load_workers)
        for key, value in load_remote_options.items():
            options.setdefault(key, value)
        options.setdefault("ledger_dsn", stack_info.postgres_dsn)
        options.setdefault("artifacts_dir", load_artifacts_dir / f"{len(runs) + 1:02d}-{profile}")
        run = LoadRun(profile=profile, target=stack_info.app_url, **options)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.kill()
