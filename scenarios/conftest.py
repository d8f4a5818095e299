"""Fixtures for the chaos scenarios: one parametrized test per catalogue scenario and component.

The stack, load and observers are session-scoped (starting them costs seconds); each scenario starts
from a quiet stack (no alert pending or firing, sink cleared) and leaves its fault reverted.
"""

from __future__ import annotations

import pytest

from alertdrill.catalogue import Catalogue, Scenario, load_catalogue
from alertdrill.drill import DrillResult, Observers, run_drill
from alertdrill.report import attach_drill

CATALOGUE_KEY = pytest.StashKey[Catalogue]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The baseline (no alert under steady load) runs first, on the freshly started stack."""
    items.sort(key=lambda item: 0 if item.path.name == "test_baseline.py" else 1)


def pytest_configure(config: pytest.Config) -> None:
    """A broken catalogue is a usage error: one line, before anything is collected or started."""
    from alertdrill.errors import AlertdrillError
    from alertdrill.pytest_plugin import _settings

    try:
        config.stash[CATALOGUE_KEY] = load_catalogue(_settings(config).catalogue)
    except AlertdrillError as exc:
        raise pytest.UsageError(f"alertdrill: {exc}") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario" not in metafunc.fixturenames:
        return
    component = getattr(metafunc.module, "COMPONENT", None)
    catalogue = metafunc.config.stash[CATALOGUE_KEY]
    scenarios = catalogue.for_component(component) if component else list(catalogue.scenarios)
    metafunc.parametrize("scenario", scenarios, ids=[s.id for s in scenarios])


@pytest.fixture(scope="session")
def observers(stack_info) -> Observers:
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
def coverage(catalogue: Catalogue, rule_alerts: set[str], alertdrill_settings):
    """Alerts with no scenario fail the run in strict mode and are listed otherwise."""
    cov = catalogue.coverage(rule_alerts)
    for line in cov.lines():
        print(f"alertdrill coverage: {line}")
    if alertdrill_settings.strict_coverage and cov.uncovered:
        pytest.fail(f"--strict-coverage: alerts without a scenario: {', '.join(cov.uncovered)}", pytrace=False)
    return cov


@pytest.fixture(scope="session")
def faults(native_stack):
    from alertdrill.chaos import Faults

    return Faults(native_stack)


#: Upper bound of the session's background load; the suite takes minutes, this only bounds a hang.
LOAD_RUN_TIME = 1800.0
LOAD_USERS = 10


@pytest.fixture(scope="session")
def steady_load(stack_info, alertdrill_settings):
    """Steady load for the whole session: every scenario's baseline, fault and recovery run under it."""
    import shutil

    from alertdrill.locustfiles.runner import LoadRun

    artifacts = alertdrill_settings.report_dir / "load"
    shutil.rmtree(artifacts, ignore_errors=True)  # the previous run's artifacts; this run writes its own
    run = LoadRun(profile="steady", target=stack_info.app_url, users=LOAD_USERS, run_time=LOAD_RUN_TIME,
                  workers=alertdrill_settings.load_workers, ledger_dsn=stack_info.postgres_dsn,
                  artifacts_dir=artifacts)
    with run:
        yield run


def check_no_write_lost(load, stack_info, result: DrillResult) -> None:
    """Every write the app acknowledged so far is in Postgres; the client's view of the fault window is kept."""
    from alertdrill.locustfiles.ledger import check_ledger, read_ledger

    if result.injected_at and result.reverted_at:
        window = load.window(result.injected_at, result.reverted_at)
        result.extra["load_during_fault"] = window.to_dict()
    report = check_ledger(read_ledger(load.artifacts.ledger), stack_info.postgres_dsn)
    result.extra["ledger"] = report.to_dict()
    report.raise_for_loss()


def _fault_class(faults, name: str) -> type:
    """The fault class the factory method ``name`` builds (its return annotation)."""
    import typing

    return typing.get_type_hints(getattr(type(faults), name))["return"]


@pytest.fixture(scope="session")
def scrape_instances(observers: Observers) -> dict[str, str]:
    """Each scraped component's ``instance`` label as the live Prometheus sets it: the stack's own scrape
    address (127.0.0.1:<port> natively, <service>:<port> on a compose network, an external stack's own)."""
    from alertdrill.stack.components import SCRAPE_JOBS

    return {SCRAPE_JOBS[t.job]: t.instance for t in observers.prometheus.targets() if t.job in SCRAPE_JOBS}


@pytest.fixture
def drill(scenario: Scenario, faults, observers: Observers, coverage, drill_results, request, stack_info,
          steady_load, scrape_instances):
    """Run the scenario's drill; skip it when the rules under test lack its alerts."""
    missing = sorted(scenario.alert_names() - coverage.rule_alerts)
    if missing:
        pytest.skip(f"the rules under test have no alert {', '.join(missing)}; map it in the catalogue")
    from alertdrill.stack.backends.base import supports_service_faults

    # Decided from the fault's class, before building it: building may already need what is missing.
    needs = _fault_class(faults, scenario.fault).needs_local_stack
    if needs and not supports_service_faults(faults.backend):
        pytest.skip(f"fault {scenario.fault}: {needs}; the {faults.backend.backend} backend reaches its stack "
                    "only over connections (run it against a native or compose stack)")
    getattr(faults, scenario.fault)(**scenario.params)  # built, not injected: bad parameters fail here

    scenario = scenario.with_instance(scrape_instances.get(scenario.instance) if scenario.instance else None)

    def run() -> DrillResult:
        def make_fault(s: Scenario):
            return getattr(faults, s.fault)(**s.params)

        try:
            result = run_drill(scenario, make_fault=make_fault, observers=observers,
                               after_revert=lambda r: check_no_write_lost(steady_load, stack_info, r))
        except BaseException as exc:
            failed = getattr(exc, "drill_result", None)
            if failed is not None:
                attach_drill(failed, scenario=scenario, observers=observers, stack_info=stack_info)
                drill_results.append(failed.to_dict())
            raise
        attach_drill(result, scenario=scenario, observers=observers, stack_info=stack_info)
        drill_results.append(result.to_dict())
        record_dir = request.getfixturevalue("alertdrill_settings").record_dir
        if record_dir is not None:  # --record: a promtool replay of what this drill observed
            from alertdrill.replay import record_drill

            record_drill(result, prometheus=observers.prometheus, sink=observers.sink, out_dir=record_dir,
                         time_scale=stack_info.time_scale)
        return result

    return run
