"""The drill: the ``drill`` fixture runs the scenario's contract (baseline, inject and prove the fault,
fire, deliver, stay silent, revert, resolve, nothing lost), attaches it to the report, keeps its result
for the summary and, with ``--record``, writes its promtool replay."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from alertdrill.catalogue import Scenario
from alertdrill.drill import Observers, run_drill
from alertdrill.results import DrillResult
from alertdrill.settings import RunSettings

from .session import drill_results_of

__all__ = ["FAULT_LIFETIME", "check_no_write_lost", "drill", "drill_results", "faults", "session_quiet_timeout"]

#: How long a fault may stay in effect before its watchdog reverts it.
FAULT_LIFETIME = 300.0


@pytest.fixture(scope="session")
def faults(stack_backend):
    """Faults of any kind on the session's stack: ``faults.build("redis-memory-fill", fraction=0.9)``."""
    from alertdrill.chaos import Faults

    return Faults(stack_backend, max_duration=FAULT_LIFETIME)


@pytest.fixture(scope="session")
def session_quiet_timeout(observers: Observers) -> float:
    """How long a drill waits for the previous one's alerts to resolve (from the rules' deadlines)."""
    from alertdrill.drill import quiet_timeout

    return quiet_timeout(observers)


@pytest.fixture(scope="session")
def drill_results(pytestconfig: pytest.Config) -> list[DrillResult]:
    """Every scenario's result, for the summary matrix printed at the end of the run."""
    return drill_results_of(pytestconfig)


def check_no_write_lost(load, stack_info, result: DrillResult) -> None:
    """The drill's window holds at least the acknowledged writes the load's configured rate implies
    (before the fault and after its alerts resolved, where writes must succeed), and every acknowledged
    write is in Postgres; the client's view of the fault window is kept for the report."""
    import time

    from alertdrill.locustfiles.ledger import WriteFloor, check_ledger, read_ledger

    end = time.time()
    if result.injected_at and result.reverted_at:
        result.load_during_fault = load.window(result.injected_at, result.reverted_at).to_dict()
    load.window(result.started, end)  # returns once the load's files cover the drill
    acks = read_ledger(load.artifacts.ledger)
    mix = load.options.profile_spec.mix
    if mix is not None and load.options.profile_spec.writes:
        floor = WriteFloor.of(users=load.options.users, writes_per_user_second=mix.writes_per_user_second(),
                              healthy_seconds=healthy_seconds(result, end))
        floor.check(sum(1 for a in acks if result.started <= a.at <= end), "in the drill")
    report = check_ledger(acks, stack_info.postgres_dsn)
    result.ledger = report.to_dict()
    report.raise_for_loss()


def healthy_seconds(result: DrillResult, end: float) -> float:
    """Seconds of the drill in which writes must succeed: before the injection, and from the moment every
    alert had resolved (the stack serves again) to ``end``. Between the revert and the resolution a
    dependency is still coming back (the app's pool reconnects with backoff after Postgres restarts),
    so that time is not counted: it made the floor fail a healthy postgres-down drill."""
    if result.injected_at is None or result.reverted_at is None:
        return max(0.0, end - result.started)
    resolved = max([a.resolved_after for a in result.alerts if a.resolved_after is not None] or [0.0])
    back = min(end, result.reverted_at + resolved)
    return max(0.0, result.injected_at - result.started) + max(0.0, end - back)


def _unfireable(scenario: Scenario, blocked, observers: Observers, stack_info) -> DrillResult:
    """The failed result of a drill not run because ``alertdrill prove`` showed its rule cannot fire:
    the rule's diagnosis (finding kind, evidence, fix) first, then prove's reason and evidence."""
    import time

    from alertdrill.diagnosis import diagnose_rule
    from alertdrill.results import AlertResult

    found = diagnose_rule(blocked.alert, observers.prometheus, scenario=scenario, step="fire")
    why = (f"alertdrill prove: {blocked.title} cannot fire: {blocked.reason} "
           f"(no drill run; evidence: {'; '.join(blocked.evidence) or 'none'})")
    text = f"{found.text()}\n{why}" if found.causes else why
    cause = found.one_line() if found.causes else f"cannot fire: {blocked.reason}"
    now = time.time()
    alerts = [AlertResult(a.name, dict(a.labels), a.receiver, status="failed", diagnosis=text, cause=cause)
              for a in scenario.alerts]
    return DrillResult(scenario=scenario.id, component=scenario.component, fault=scenario.fault.kind,
                       params=dict(scenario.fault.params), alerts=alerts, started=now, ended=now, status="failed",
                       diagnosis=text, stack=stack_info.name, stack_startup_seconds=stack_info.startup_seconds)


@pytest.fixture(scope="session")
def scrape_instances(observers: Observers) -> dict[str, str]:
    """Each scraped component's ``instance`` label as the live Prometheus sets it: the stack's own scrape
    address (127.0.0.1:<port> natively, <service>:<port> on a compose network, an external stack's own)."""
    from alertdrill.stack.components import SCRAPE_JOBS

    return {SCRAPE_JOBS[t.job]: t.instance for t in observers.prometheus.targets() if t.job in SCRAPE_JOBS}


@pytest.fixture
def drill(scenario: Scenario, faults, observers: Observers, coverage, drill_results: list, stack_info,
          steady_load, alertdrill_settings: RunSettings, session_quiet_timeout: float,
          pytestconfig: pytest.Config, scrape_instances: dict[str, str]) -> Callable[[], DrillResult]:
    """``drill()`` runs the scenario and returns its result; skips when the rules under test lack its
    alerts or the backend cannot reach what the fault controls; fails at once when ``alertdrill prove``
    showed its rule cannot fire."""
    from alertdrill.report import attach_drill
    from alertdrill.stack.backends.base import supports_service_faults

    missing = sorted(scenario.alert_names() - coverage.rule_alerts)
    if missing:
        pytest.skip(f"the rules under test have no alert {', '.join(missing)}; map it in the catalogue")
    from alertdrill.prove.session import blocking_proof

    from .scenarios import PROOFS_KEY

    blocked = blocking_proof(scenario.alert_names(), pytestconfig.stash.get(PROOFS_KEY, []))
    needs = scenario.fault.needs_local_stack
    if needs and not supports_service_faults(faults.backend):
        pytest.skip(f"fault {scenario.fault.kind}: {needs}; the {faults.backend.backend} backend reaches its "
                    "stack only over connections (run it against a native or compose stack)")

    scenario = scenario.with_instance(scrape_instances.get(scenario.instance) if scenario.instance else None)

    def run() -> DrillResult:
        if blocked is not None:  # proven unable to fire: no fault is spent on it, the failure says why
            from alertdrill.errors import ExpectationError

            drill_results.append(_unfireable(scenario, blocked, observers, stack_info))
            raise ExpectationError(drill_results[-1].diagnosis)
        try:
            result = run_drill(scenario, backend=faults.backend, observers=observers,
                               quiet_timeout=session_quiet_timeout,
                               after_revert=lambda r: check_no_write_lost(steady_load, stack_info, r))
        except BaseException as exc:
            failed = getattr(exc, "drill_result", None)
            if failed is not None:
                failed.stack, failed.stack_startup_seconds = stack_info.name, stack_info.startup_seconds
                attach_drill(failed, scenario=scenario, observers=observers, stack_info=stack_info)
                drill_results.append(failed)
            raise
        result.stack, result.stack_startup_seconds = stack_info.name, stack_info.startup_seconds
        attach_drill(result, scenario=scenario, observers=observers, stack_info=stack_info)
        drill_results.append(result)
        if alertdrill_settings.record_dir is not None:  # --record: a promtool replay of what this drill saw
            from alertdrill.replay import record_drill

            record_drill(result, prometheus=observers.prometheus, sink=observers.sink,
                         out_dir=alertdrill_settings.record_dir, time_scale=stack_info.time_scale)
        return result

    return run
