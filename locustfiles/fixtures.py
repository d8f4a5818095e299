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
With ``--load-master-bind ADDR --load-expect-workers N`` (settings ``load_master_bind`` and
``load_expect_workers``) the master also waits for N workers on other hosts and the worker command is
printed on the terminal: ``load_remote_options`` are the keyword arguments for any LoadRun.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alertdrill.errors import AlertdrillError
from alertdrill.locustfiles.options import remote_workers_setting
from alertdrill.locustfiles.runner import LoadRun
from alertdrill.plugin.options import SETTINGS_KEY

__all__ = ["load_artifacts_dir", "load_remote_options", "load_run", "pytest_configure"]


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


@pytest.hookimpl(trylast=True)  # after the plugin has resolved the settings
def pytest_configure(config: pytest.Config) -> None:
    """Check the remote-worker settings once: bad input is one line before anything runs."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is not None:
        try:
            remote_workers_setting(settings.load_master_bind, settings.load_expect_workers)
        except AlertdrillError as exc:
            raise pytest.UsageError(f"alertdrill: {exc}") from None


@pytest.fixture(scope="session")
def load_remote_options(pytestconfig: pytest.Config, alertdrill_settings: Any) -> dict[str, Any]:
    """``remote`` and ``announce`` for a LoadRun (settings ``load_master_bind``, ``load_expect_workers``);
    empty without remote workers."""
    remote = remote_workers_setting(alertdrill_settings.load_master_bind, alertdrill_settings.load_expect_workers)
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
