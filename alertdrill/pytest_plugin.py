"""pytest plugin: options and session fixtures over the core, which works without pytest.

Options live in one ``alertdrill`` group; each has an environment variable, and every fixture can be
overridden in a conftest. The stack is session-scoped (starting it costs seconds) and reverted to a
clean state by the scenarios' own fixtures.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertdrill.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from alertdrill.settings import DEFAULT_TIME_SCALE, RunSettings, env_float

#: Load fixtures (load_run, load_artifacts_dir) come with the plugin.
pytest_plugins = ["alertdrill.locustfiles.fixtures"]

RESULTS_KEY = pytest.StashKey[list]()
#: The time scale of the stack the session ran against (an external stack's own, not --time-scale).
TIME_SCALE_KEY = pytest.StashKey[float]()
STARTED_KEY = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("alertdrill", "alertdrill: prove documented alerts")
    group.addoption("--time-scale", type=float, default=None,
                    help=f"divide rule durations by this (env ALERTDRILL_TIME_SCALE, default {DEFAULT_TIME_SCALE:g}); "
                         "1 = production timing")
    group.addoption("--rules", action="append", default=None, metavar="PATH",
                    help="test this rule file instead of the shipped rules (repeatable; env ALERTDRILL_RULES, "
                         "colon-separated)")
    group.addoption("--stack-name", default=None,
                    help="name of the session's native stack (env ALERTDRILL_STACK_NAME, default pytest)")
    group.addoption("--load-workers", type=int, default=None,
                    help="run Locust distributed with this many worker processes (default 0: local)")
    group.addoption("--strict-coverage", action="store_true", default=None,
                    help="fail when an alert in the rules has no scenario")
    group.addoption("--catalogue", default=None, metavar="PATH",
                    help="scenario catalogue mapping alerts to faults (env ALERTDRILL_CATALOGUE, "
                         "default scenarios/catalogue.yml)")
    group.addoption("--backend", default=None, choices=("native", "compose", "external"),
                    help="where the stack runs (env ALERTDRILL_BACKEND, default native); external takes "
                         "--external-config or ALERTDRILL_EXTERNAL_* variables and skips service faults")
    group.addoption("--external-config", default=None, metavar="PATH",
                    help="YAML/JSON file with the external stack's URLs and DSNs")
    group.addoption("--compose-images", default=None, choices=("local", "upstream"),
                    help="compose backend: `local` stand-ins built from Debian packages (default; no registry "
                         "needed) or the `upstream` images docker-compose.yml pins (env ALERTDRILL_COMPOSE_IMAGES)")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="where the summary and artifacts go (env ALERTDRILL_REPORT_DIR, default reports)")
    group.addoption("--record", default=None, metavar="DIR",
                    help="write a promtool replay of every passed drill to DIR/<scenario>/ "
                         "(env ALERTDRILL_RECORD_DIR; e.g. reports/recordings)")


def _settings(config: pytest.Config) -> RunSettings:
    time_scale = config.getoption("--time-scale") or env_float("ALERTDRILL_TIME_SCALE", DEFAULT_TIME_SCALE)
    rules = config.getoption("--rules") or [p for p in os.environ.get("ALERTDRILL_RULES", "").split(":") if p]
    record = config.getoption("--record") or os.environ.get("ALERTDRILL_RECORD_DIR")
    return RunSettings(
        time_scale=time_scale,
        rule_files=tuple(Path(p).resolve() for p in rules),
        stack_name=config.getoption("--stack-name") or os.environ.get("ALERTDRILL_STACK_NAME", "pytest"),
        load_workers=config.getoption("--load-workers") or int(os.environ.get("ALERTDRILL_LOAD_WORKERS", "0")),
        strict_coverage=bool(config.getoption("--strict-coverage")),
        catalogue=Path(config.getoption("--catalogue") or os.environ.get("ALERTDRILL_CATALOGUE") or DEFAULT_CATALOGUE),
        report_dir=Path(config.getoption("--report-dir") or os.environ.get("ALERTDRILL_REPORT_DIR") or "reports"),
        record_dir=Path(record) if record else None,
        backend=config.getoption("--backend") or os.environ.get("ALERTDRILL_BACKEND") or "native",
        external_config=config.getoption("--external-config") or os.environ.get("ALERTDRILL_EXTERNAL_CONFIG"),
        compose_images=config.getoption("--compose-images") or os.environ.get("ALERTDRILL_COMPOSE_IMAGES") or "local",
    )


@pytest.fixture(scope="session")
def alertdrill_settings(pytestconfig: pytest.Config) -> RunSettings:
    """The session's settings (explicit > option > environment > default)."""
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def catalogue(alertdrill_settings: RunSettings) -> Catalogue:
    """The scenario catalogue (alert -> fault), validated."""
    with _one_line_errors():
        return load_catalogue(alertdrill_settings.catalogue)


@pytest.fixture(scope="session")
def stack_backend(alertdrill_settings: RunSettings, catalogue: Catalogue, pytestconfig: pytest.Config) -> Iterator:
    """The session's stack (native by default), started after reverting what a crashed session left.

    The compose backend also gets its engine (the one that answers, else a private dockerd stopped at
    the end) and, unless ``--compose-images upstream``, the local stand-in images.
    """
    with contextlib.ExitStack() as resources:
        with _one_line_errors():
            stack = _start_stack(alertdrill_settings, catalogue, resources)
        pytestconfig.stash[TIME_SCALE_KEY] = stack.info.time_scale
        try:
            yield stack
        finally:
            stack.stop()


def _compose_resources(settings: RunSettings, resources: contextlib.ExitStack) -> dict:
    from alertdrill.stack.engine.compose_cli import compose_command
    from alertdrill.stack.engine.daemon import provide_engine
    from alertdrill.stack.engine.images import build_images

    compose_command()  # a missing Compose is one line, before an engine starts or an image is built
    engine = resources.enter_context(provide_engine())
    images = build_images(engine) if settings.compose_images == "local" else None
    return {"engine": engine, "images": images}


def _start_stack(settings: RunSettings, catalogue: Catalogue, resources: contextlib.ExitStack):
    """Build the backend, revert what a crashed run left, then start it (returned started)."""
    from alertdrill.chaos.recovery import recover_run_dir
    from alertdrill.stack.backends.base import create_backend
    from alertdrill.stack.rendering import StackTiming

    if settings.backend == "external":
        stack = create_backend("external", external_config=settings.external_config, home=settings.home)
    else:
        extra = _compose_resources(settings, resources) if settings.backend == "compose" else {}
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
    for line in recover_run_dir(stack.run_dir):
        print(f"alertdrill: reverted a fault left by a crashed run: {line}")
    if settings.backend != "external" and stack.run_dir.exists() and not _owner_alive(stack.run_dir):
        stack.stop()  # a crashed session's stack: its owner is gone, nobody else will stop it
    stack.start()
    return stack


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Bad input (a missing binary, an invalid rule file, an unreachable stack) ends the session with
    alertdrill's one-line message instead of a fixture traceback in every test."""
    from alertdrill.errors import AlertdrillError

    try:
        yield
    except AlertdrillError as exc:
        pytest.exit(f"alertdrill: error: {exc}", returncode=2)


@pytest.fixture(scope="session")
def native_stack(stack_backend):
    """The session's stack backend (historical name: it is native unless --backend says otherwise)."""
    return stack_backend


@pytest.fixture(scope="session")
def stack_info(native_stack):
    """URLs, DSNs and pids of the session's stack."""
    return native_stack.info


def _owner_alive(run_dir: Path) -> bool:
    from alertdrill.stack.process import process_start_ticks
    from alertdrill.stack.state import read_state

    try:
        owner = read_state(run_dir).owner_pid
    except Exception:
        return False
    return owner is not None and process_start_ticks(owner) is not None


@pytest.fixture(scope="session")
def drill_results(pytestconfig: pytest.Config) -> list:
    """Every scenario's result, for the summary matrix printed at the end of the run."""
    return pytestconfig.stash.setdefault(RESULTS_KEY, [])


def pytest_sessionstart(session: pytest.Session) -> None:
    import signal
    import time

    session.config.stash[STARTED_KEY] = time.time()
    # SIGTERM (a CI job cancelled, `kill`) ends the session like Ctrl-C: fixtures tear down, faults
    # revert, the stack and the load stop. Python's default would exit on the spot and leave them.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    import time

    from alertdrill.summary import format_matrix, write_summary

    results = config.stash.get(RESULTS_KEY, None)
    if not results:
        return
    wall = time.time() - config.stash.get(STARTED_KEY, time.time())
    terminalreporter.section("alertdrill summary")
    terminalreporter.write_line(format_matrix(results, wall_seconds=wall))
    settings = _settings(config)
    path = write_summary(settings.report_dir / "summary.json", results, wall_seconds=round(wall, 1),
                         time_scale=config.stash.get(TIME_SCALE_KEY, settings.time_scale))
    terminalreporter.write_line(f"summary written to {path}")
