"""The session's stack: built from the settings, started once after reverting what a crashed session
left behind, stopped at the end. Bad input (a missing binary, an invalid rule file, an unreachable
stack) ends the session with one line instead of a fixture traceback in every test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertdrill.catalogue import Catalogue
from alertdrill.errors import AlertdrillError
from alertdrill.settings import RunSettings

__all__ = ["native_stack", "one_line_errors", "stack_backend", "stack_info"]


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """An AlertdrillError ends the session with alertdrill's one-line message (exit status 2)."""
    try:
        yield
    except AlertdrillError as exc:
        pytest.exit(f"alertdrill: error: {exc}", returncode=2)


@pytest.fixture(scope="session")
def stack_backend(alertdrill_settings: RunSettings, catalogue: Catalogue, pytestconfig: pytest.Config) -> Iterator:
    """The session's stack (native by default), started after reverting what a crashed session left.

    First the session locks the stack and its report directory: a second session on either refuses
    here, at once, with one line naming the first, before it reverts, stops or deletes anything."""
    from .options import lock_session

    with one_line_errors():
        lock_session(pytestconfig, stack=True, report_dir=True)
        stack = _start_stack(alertdrill_settings, catalogue)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def native_stack(stack_backend):
    """The session's stack backend (historical name: it is native unless --backend says otherwise)."""
    return stack_backend


@pytest.fixture(scope="session")
def stack_info(stack_backend):
    """URLs, DSNs and pids of the session's stack."""
    return stack_backend.info


def _start_stack(settings: RunSettings, catalogue: Catalogue):
    """Build the backend, revert what a crashed run left, then start it (returned started)."""
    from alertdrill.bounds import check_rules_bounded
    from alertdrill.chaos.recovery import recover_run_dir
    from alertdrill.stack.backends.base import create_backend
    from alertdrill.stack.rendering import StackTiming

    if settings.backend == "external":
        stack = create_backend("external", external_config=settings.external_config, home=settings.home)
    else:
        stack = create_backend(
            settings.backend,
            name=settings.stack_name,
            home=settings.home,
            timing=StackTiming(time_scale=settings.time_scale),
            rule_files=list(settings.rule_files) or None,
            rule_overrides=catalogue.rule_overrides,
            owner_pid=os.getpid(),
        )
    if settings.backend != "external":  # valid rules (promtool's reason), every wait bounded: before anything
        if hasattr(stack, "check_config"):
            stack.check_config()
        check_rules_bounded(settings.rule_files, timing=StackTiming(time_scale=settings.time_scale),
                            catalogue=catalogue)
    for line in recover_run_dir(stack.run_dir):
        print(f"alertdrill: reverted a fault left by a crashed run: {line}")
    if settings.backend != "external" and stack.run_dir.exists() and not _owner_alive(stack.run_dir):
        stack.stop()  # a crashed session's stack: its owner is gone, nobody else will stop it
    stack.start()
    return stack


def _owner_alive(run_dir: Path) -> bool:
    from alertdrill.stack.process import process_start_ticks
    from alertdrill.stack.state import read_state

    try:
        owner = read_state(run_dir).owner_pid
    except Exception:
        return False
    return owner is not None and process_start_ticks(owner) is not None
