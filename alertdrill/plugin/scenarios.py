"""The catalogue as tests: one test per scenario (the ``scenario`` fixture, parametrised from the
catalogue; a module's ``COMPONENT = "redis"`` narrows it to that component), the observers of the
stack, and coverage of the rules under test. Tests marked ``baseline`` run first, on the freshly
started stack, before any fault."""

from __future__ import annotations

import pytest

from alertdrill.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from alertdrill.drill import Observers
from alertdrill.errors import AlertdrillError
from alertdrill.settings import RunSettings

from .options import SETTINGS_KEY

__all__ = ["catalogue", "coverage", "drill_estimates", "observers", "rule_alerts", "session_catalogue"]

CATALOGUE_KEY = pytest.StashKey[Catalogue]()
#: ``alertdrill prove``'s results for the rules under test, when the session proved them first.
PROOFS_KEY = pytest.StashKey[list]()


def session_catalogue(config: pytest.Config) -> Catalogue:
    """The session's catalogue, loaded once (at configure time when one was chosen, else on first use)."""
    if CATALOGUE_KEY not in config.stash:
        chosen = config.stash[SETTINGS_KEY].catalogue
        config.stash[CATALOGUE_KEY] = load_catalogue(chosen if chosen is not None else DEFAULT_CATALOGUE)
    return config.stash[CATALOGUE_KEY]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """A chosen catalogue that is broken is a usage error: one line, before anything is collected or
    started. The shipped one loads on first use, so sessions without drills never read it."""
    if SETTINGS_KEY in config.stash and config.stash[SETTINGS_KEY].catalogue is not None:
        try:
            session_catalogue(config)
        except AlertdrillError as exc:
            raise pytest.UsageError(f"alertdrill: {exc}") from None


def pytest_collection_finish(session: pytest.Session) -> None:
    """When scenarios were collected: every name in the catalogue is one the rule files define, and
    (strict coverage, the default) every alert has a scenario; one line before the stack starts."""
    if not any("scenario" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    settings = session.config.stash[SETTINGS_KEY]
    if settings.backend == "external":
        return  # its rules are known only from its Prometheus: the coverage fixture checks them
    from alertdrill.bounds import check_rules_bounded
    from alertdrill.stack.layout import shipped_rule_files
    from alertdrill.stack.rendering import StackTiming
    from alertdrill.stack.rulefiles import check_rule_files, rule_file_alerts

    from .stack import one_line_errors

    with one_line_errors():  # an invalid rule file: promtool's reason, exit 2 (as from the stack's start)
        files = list(settings.rule_files) or shipped_rule_files()
        check_rule_files(files)
    try:
        catalogue = session_catalogue(session.config)
        # every wait of the drills bounded (`for: 1000d` refused), before a proof or a stack waits for it
        check_rules_bounded(files, timing=StackTiming(time_scale=settings.time_scale), catalogue=catalogue)
        alerts = rule_file_alerts(files)
        uncovered = catalogue.coverage(alerts).uncovered
        proven: set[str] = set()
        if settings.rule_files or (settings.strict_coverage and uncovered):
            proven = _prove_first(session, files)  # a candidate file, or gaps a synthesized proof may fill
        catalogue.check_names(alerts, strict=settings.strict_coverage, proven=proven)
    except AlertdrillError as exc:
        raise pytest.UsageError(f"alertdrill: {exc}") from None


def _prove_first(session: pytest.Session, files) -> set[str]:
    """``alertdrill prove`` on the rules under test, offline, before the stack starts: one line per rule
    that is not proven; the drill of a rule that cannot fire then fails at once (alertdrill.prove.session).
    Returns the alerts proven by synthesis, which --strict-coverage accepts in place of a scenario."""
    from alertdrill.prove.result import CoverageKind, alert_coverage
    from alertdrill.prove.session import prove_first

    settings = session.config.stash[SETTINGS_KEY]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    echo = reporter.write_line if reporter is not None else print
    try:
        proofs = prove_first(files, settings.report_dir, echo=echo)
    except AlertdrillError as exc:  # an invalid or missing rule file: the stack would refuse it too
        pytest.exit(f"alertdrill: error: {exc}", returncode=2)
    session.config.stash[PROOFS_KEY] = proofs
    coverage = alert_coverage({p.alert for p in proofs}, proofs)
    return {name for name, c in coverage.items() if c.kind is CoverageKind.SYNTHESIS}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario" not in metafunc.fixturenames:
        return
    component = getattr(metafunc.module, "COMPONENT", None)
    catalogue = session_catalogue(metafunc.config)
    scenarios = catalogue.for_component(component) if component else list(catalogue.scenarios)
    metafunc.parametrize("scenario", scenarios, ids=[s.id for s in scenarios])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Baseline tests first, then the drills longest first (their rules' deadlines, from the rule files):
    parallel workers then finish together instead of waiting on one long drill picked up last. A
    stable sort keeps everything else in collection order (every xdist worker sorts alike)."""
    estimates = _drill_estimates(config, items)

    def key(item: pytest.Item) -> tuple[int, float]:
        if item.get_closest_marker("baseline"):
            return (0, 0.0)
        scenario = getattr(getattr(item, "callspec", None), "params", {}).get("scenario")
        return (1, -estimates.get(getattr(scenario, "id", None), 0.0))

    items.sort(key=key)


def _drill_estimates(config: pytest.Config, items: list[pytest.Item]) -> dict[str, float]:
    """Scenario id -> seconds its drill waits at the worst case of its rules (deliver + resolve + one
    more fire deadline, of its longest alert), from the rule files; empty when they cannot be read
    (reported later)."""
    if SETTINGS_KEY not in config.stash or not any("scenario" in getattr(i, "fixturenames", ()) for i in items):
        return {}
    settings = config.stash[SETTINGS_KEY]
    if settings.backend == "external":
        return {}
    from alertdrill.bounds import session_bounds
    from alertdrill.stack.layout import shipped_rule_files
    from alertdrill.stack.rendering import StackTiming

    try:
        catalogue = session_catalogue(config)
        bounds = session_bounds(list(settings.rule_files) or shipped_rule_files(),
                                timing=StackTiming(time_scale=settings.time_scale), overrides=catalogue.rule_overrides)
    except (AlertdrillError, OSError, ValueError):
        return {}
    return drill_estimates(catalogue, bounds)


def drill_estimates(catalogue: Catalogue, bounds) -> dict[str, float]:
    """Scenario id -> the worst-case wait of its longest alert (a SessionBounds' deliver + resolve + one
    more fire deadline): the key that orders drills longest first."""
    per_alert: dict[str, float] = {}
    for rule in bounds.rules:
        per_alert[rule.alert] = max(per_alert.get(rule.alert, 0.0), rule.drill_seconds + rule.fire.seconds)
    return {s.id: max((per_alert.get(a.name, 0.0) for a in s.alerts), default=0.0) for s in catalogue.scenarios}


@pytest.fixture(scope="session")
def catalogue(pytestconfig: pytest.Config) -> Catalogue:
    """The scenario catalogue (alert -> fault), validated."""
    from .stack import one_line_errors

    with one_line_errors():
        return session_catalogue(pytestconfig)


@pytest.fixture(scope="session")
def observers(stack_info) -> Observers:
    """Clients of the stack's Prometheus, Alertmanager and notification sink."""
    from alertdrill.assertions.alertmanager import AlertmanagerClient
    from alertdrill.assertions.notifications import SinkClient
    from alertdrill.assertions.prometheus import PrometheusClient

    return Observers(prometheus=PrometheusClient(stack_info.prometheus_url),
                     alertmanager=AlertmanagerClient(stack_info.alertmanager_url),
                     sink=SinkClient(stack_info.sink_url))


@pytest.fixture(scope="session")
def rule_alerts(observers: Observers) -> set[str]:
    """Alert names in the rules under test (the live Prometheus)."""
    return {rule.name for rule in observers.prometheus.rules()}


@pytest.fixture(scope="session")
def coverage(catalogue: Catalogue, rule_alerts: set[str], alertdrill_settings: RunSettings):
    """Coverage of the rules the stack loaded: gaps fail the run in strict mode (the default), and are
    listed otherwise."""
    cov = catalogue.coverage(rule_alerts)
    for line in cov.lines():
        print(f"alertdrill coverage: {line}")
    if alertdrill_settings.strict_coverage:
        from .stack import one_line_errors

        with one_line_errors():
            catalogue.check_names(rule_alerts, strict=True)
    return cov
