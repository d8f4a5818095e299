"""The session's stack: built from the settings, started once after reverting what a crashed session
left behind, stopped at the end. Bad input (a missing binary, an invalid rule file, an unreachable
stack) ends the session with one line instead of a fixture traceback in every test.

The compose backend also needs a Docker engine and its images. The controller (or a serial session)
provides them once, before any xdist worker starts: the engine that answers, else alertdrill's own
dockerd (stopped when the session ends), exported as DOCKER_HOST for the workers; and, unless
``--compose-images upstream``, the local stand-in images built from Debian packages.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertdrill.catalogue import Catalogue
from alertdrill.errors import AlertdrillError
from alertdrill.settings import RunSettings

__all__ = ["TIME_SCALE_KEY", "native_stack", "one_line_errors", "stack_backend", "stack_info"]

#: The time scale of the stack the session ran against (an external stack's own, not --time-scale).
TIME_SCALE_KEY = pytest.StashKey[float]()
_ENGINE_KEY = pytest.StashKey[contextlib.ExitStack]()


@pytest.hookimpl(tryfirst=True)  # before xdist starts its workers (they inherit DOCKER_HOST)
def pytest_sessionstart(session: pytest.Session) -> None:
    from .options import SETTINGS_KEY

    config = session.config
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.backend != "compose" or getattr(config, "workerinput", None) \
            or config.option.collectonly:
        return
    resources = contextlib.ExitStack()
    config.stash[_ENGINE_KEY] = resources
    with one_line_errors():
        engine, images = _compose_resources(settings, resources)
    os.environ.update(engine.environment())
    if images is not None:
        print(f"alertdrill: compose images ready ({images.build_seconds:g} s) on {engine.host}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    resources = session.config.stash.get(_ENGINE_KEY, None)
    if resources is not None:
        resources.close()  # a private dockerd stops, with everything it ran


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

    with contextlib.ExitStack() as resources:
        with one_line_errors():
            lock_session(pytestconfig, stack=True, report_dir=True)
            stack = _start_stack(alertdrill_settings, catalogue, resources)
        pytestconfig.stash[TIME_SCALE_KEY] = stack.info.time_scale
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


def _compose_resources(settings: RunSettings, resources: contextlib.ExitStack) -> tuple:
    """The engine (entered into ``resources``) and the images for a compose stack."""
    from alertdrill.stack.engine.compose_cli import compose_command
    from alertdrill.stack.engine.daemon import provide_engine
    from alertdrill.stack.engine.images import build_images

    compose_command()  # a missing Compose is one line, before an engine starts or an image is built
    engine = resources.enter_context(provide_engine())  # the session's (DOCKER_HOST) when it provided one
    return engine, (build_images(engine) if settings.compose_images == "local" else None)


def _start_stack(settings: RunSettings, catalogue: Catalogue, resources: contextlib.ExitStack):
    """Build the backend, revert what a crashed run left, then start it (returned started)."""
    from alertdrill.bounds import check_rules_bounded
    from alertdrill.chaos.recovery import recover_run_dir
    from alertdrill.stack.backends.base import create_backend
    from alertdrill.stack.rendering import StackTiming

    if settings.backend == "external":
        stack = create_backend("external", external_config=settings.external_config, home=settings.home)
    else:
        extra = {}
        if settings.backend == "compose":
            extra["engine"], extra["images"] = _compose_resources(settings, resources)
        stack = create_backend(
            settings.backend,
            name=settings.stack_name,
            home=settings.home,
            timing=StackTiming(time_scale=settings.time_scale),
            rule_files=list(settings.rule_files) or None,
            rule_overrides=catalogue.rule_overrides,
            owner_pid=os.getpid(),
            **extra,
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
