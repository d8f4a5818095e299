"""Capture a passed drill as a promtool replay: the tested rule, its input series, what ALERTS saw.

Everything is read back from the live Prometheus after the drill, on the rule group's evaluation
grid: the rule as loaded (``/api/v1/rules``), the raw series of every selector in its expression and
``ALERTS{alertstate="firing"}``, from a baseline long enough for the longest range window until a few
evaluations after the resolution. Annotations come from the delivered notifications (the sink), and
from promtool itself where a template renders ``$value`` (see :mod:`.calibrate`).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alertdrill.assertions.durations import parse_duration
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import AlertingRule, PrometheusClient
from alertdrill.assertions.promql import selectors
from alertdrill.errors import ConfigError
from alertdrill.results import AlertResult, DrillResult
from alertdrill.waiting import poll_until

from .calibrate import annotations_for, parse_got_alerts
from .promtest import (
    AnnotationKey,
    Check,
    Firing,
    LabelKey,
    choose_checks,
    dump_yaml,
    label_key,
    promtool_test_doc,
    rule_file_doc,
)
from .series import Grid
from .verify import TEST_SUFFIX, ReplayError, replay

__all__ = ["BASELINE_EVALS", "RULE_FILE", "TAIL_EVALS", "record_drill"]

#: Evaluations recorded before the longest range window that precedes the injection.
BASELINE_EVALS = 5
#: Evaluations recorded after the resolved notification (the resolved check needs two; recording waits for them).
TAIL_EVALS = 3
RULE_FILE = "rules.yml"
META_FILE = "recording.json"
_WINDOW = re.compile(r"\[\s*((?:\d+(?:ms|[smhdwy]))+)\s*(?::[^\]]*)?\]|\boffset\s+-?((?:\d+(?:ms|[smhdwy]))+)")
_VALUE = re.compile(r"\$value\b|\.Value\b")
_GENERATED = ("ALERTS", "ALERTS_FOR_STATE")  # promtool writes these itself


def lookback(expr: str) -> float:
    """Seconds of history ``expr`` reads: every range window and offset added up (nesting is conservative)."""
    return sum(parse_duration(m.group(1) or m.group(2)) for m in _WINDOW.finditer(expr))


@dataclass(frozen=True)
class _Plan:
    rules: tuple[AlertingRule, ...]
    alerts: tuple[AlertResult, ...]
    grid: Grid


def record_drill(result: DrillResult, *, prometheus: PrometheusClient, sink: SinkClient | None,
                 out_dir: Path, time_scale: float | None = None, verify: bool = True) -> Path:
    """Write ``out_dir/<scenario>/`` (rule file, test file, README, metadata); return the test file.

    ``result`` is a passed drill (live, or read back from summary.json); ``prometheus`` must still hold
    the run's samples. With ``verify`` the recording is replayed once and must pass (ReplayError).
    """
    drill = result
    plan = _plan(drill, prometheus)
    grid = plan.grid
    _wait_until_evaluated(grid.end + grid.step, what=f"the end of {drill.scenario}'s recording")
    firing = {rule.name: _firing(prometheus, rule.name, plan.alerts, grid) for rule in plan.rules}
    assert drill.injected_at is not None
    injected = int((drill.injected_at - grid.start) // grid.step)
    for name, instances in firing.items():
        early = [f for f in instances if f.first <= injected]
        if early:
            raise ConfigError(f"{name} was already firing when {drill.scenario}'s fault was injected; "
                              "a recording must start from a quiet alert")
    checks = [c for rule in plan.rules
              for c in choose_checks(rule.name, firing[rule.name], size=grid.size, quiet_before=injected)]
    series = _inputs(prometheus, plan.rules, grid)
    annotations, calibrate = _delivered_annotations(sink, plan.rules, firing)

    target = Path(out_dir) / drill.scenario
    target.mkdir(parents=True, exist_ok=True)
    rule_path, test_path = target / RULE_FILE, target / f"{drill.scenario}{TEST_SUFFIX}"
    group = f"replay-{drill.scenario}"
    rule_path.write_text(dump_yaml(rule_file_doc(plan.rules, group=group, interval=grid.step),
                                   header=[f"The rules as Prometheus evaluated them in scenario {drill.scenario}."]))
    header = _header(drill, prometheus, grid, checks)

    def write(known: Mapping[AnnotationKey, Mapping[str, str]]) -> None:
        name = f"replay of {drill.scenario}: {', '.join(sorted(firing))} fire and resolve as recorded"
        doc = promtool_test_doc(rule_file=RULE_FILE, grid=grid, series=series, checks=checks, annotations=known,
                                name=name)
        test_path.write_text(dump_yaml(doc, header=header))

    write(annotations)
    if calibrate:
        annotations = _calibrated(test_path, grid, checks, annotations, calibrate)
        write(annotations)
    if verify:
        outcome = replay(test_path)
        if not outcome.passed:
            tail = " | ".join(outcome.output.splitlines()[-12:])
            raise ReplayError(f"the recording {test_path} does not replay green: {tail}")
    _write_meta(target, drill, prometheus, grid, firing, checks, time_scale)
    return test_path


def _plan(drill: DrillResult, prometheus: PrometheusClient) -> _Plan:
    if drill.status != "passed":
        raise ConfigError(f"scenario {drill.scenario} {drill.status}; only a passed drill is recorded")
    if drill.injected_at is None or drill.reverted_at is None:
        raise ConfigError(f"scenario {drill.scenario} has no injection or revert time; it did not run its fault")
    alerts = tuple(a for a in drill.alerts if a.status == "passed" and a.fired_after is not None)
    if not alerts:
        raise ConfigError(f"scenario {drill.scenario} proved no alert firing; nothing to record")
    rules: dict[tuple, AlertingRule] = {}
    for alert in alerts:
        rule = prometheus.rule(alert.alert, alert.labels)
        rules.setdefault((rule.name, rule.query, label_key(rule.labels)), rule)
    steps = {rule.group_interval for rule in rules.values() if rule.group_interval}
    if len(steps) > 1:
        raise ConfigError(f"the rules of {drill.scenario} are evaluated at different intervals ({sorted(steps)} s); "
                          "a replay has one evaluation interval")
    step = steps.pop() if steps else prometheus.config().evaluation_interval
    history = max(lookback(rule.query) for rule in rules.values())
    resolved = max((a.resolved_after or 0.0) for a in alerts)
    start = drill.injected_at - history - BASELINE_EVALS * step
    end = drill.reverted_at + resolved + TAIL_EVALS * step
    return _Plan(tuple(rules.values()), alerts, Grid.covering(start, end, step))


def _wait_until_evaluated(when: float, *, what: str) -> None:
    """Samples up to ``when`` exist once the clock has passed it (one more evaluation is in the caller's margin)."""
    limit = max(0.0, when - time.time()) + 5.0
    ok, _ = poll_until(time.time, timeout=limit, interval=0.2, accept=lambda now: now >= when)
    if not ok:
        raise ConfigError(f"the clock did not reach {what} within {limit:.0f}s")


def _firing(prometheus: PrometheusClient, name: str, alerts: Iterable[AlertResult], grid: Grid) -> list[Firing]:
    contracts = [a.labels for a in alerts if a.alert == name]
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    out = []
    for series in prometheus.query_range(f'ALERTS{{alertname="{escaped}",alertstate="firing"}}',
                                         grid.start, grid.end, grid.step):
        labels = {k: v for k, v in series.labels.items() if k not in ("__name__", "alertstate")}
        if not any(all(labels.get(k) == v for k, v in c.items()) for c in contracts):
            continue
        steps = tuple(i for i, v in enumerate(grid.place(series.values)) if v is not None)
        if steps:
            out.append(Firing(name, labels, steps))
    return sorted(out, key=lambda f: (f.first, label_key(f.labels)))


def _inputs(prometheus: PrometheusClient, rules: Iterable[AlertingRule],
            grid: Grid) -> list[tuple[dict[str, str], list[float | None]]]:
    seen: dict[LabelKey, tuple[dict[str, str], list[float | None]]] = {}
    texts = dict.fromkeys(s.text for rule in rules for s in selectors(rule.query) if s.metric not in _GENERATED)
    for text in texts:
        for series in prometheus.query_range(text, grid.start, grid.end, grid.step):
            key = tuple(sorted(series.labels.items()))
            if key not in seen:
                seen[key] = (dict(series.labels), grid.place(series.values))
    return [seen[k] for k in sorted(seen)]


def _delivered_annotations(sink: SinkClient | None, rules: Iterable[AlertingRule], firing: Mapping[str, list[Firing]]
                           ) -> tuple[dict[AnnotationKey, dict[str, str]], dict[tuple[str, LabelKey], set[str]]]:
    """Annotations per instance from the latest firing notification, and the keys promtool must render.

    Keys whose template uses ``$value`` are left to promtool; so is every key of an instance that was
    not delivered (no receiver, inhibited, or no sink).
    """
    notified = sink.notifications() if sink is not None else []
    known: dict[AnnotationKey, dict[str, str]] = {}
    calibrate: dict[tuple[str, LabelKey], set[str]] = {}
    for rule in rules:
        by_value = {k for k, template in rule.annotations.items() if _VALUE.search(template)}
        for instance in firing.get(rule.name, []):
            key = (rule.name, label_key(instance.labels))
            delivered = None
            for note in notified:
                for alert in note.alerts:
                    if alert.status == "firing" and all(alert.labels.get(k) == v for k, v in instance.labels.items()):
                        delivered = alert.annotations
            if delivered is None:
                calibrate[key] = set(rule.annotations)
                continue
            known[(*key, None)] = {k: v for k, v in delivered.items() if k not in by_value}
            if by_value:
                calibrate[key] = by_value
    return known, {k: v for k, v in calibrate.items() if v}


def _calibrated(test_path: Path, grid: Grid, checks: Iterable[Check], known: Mapping[AnnotationKey, Mapping[str, str]],
                calibrate: Mapping[tuple[str, LabelKey], set[str]]) -> dict[AnnotationKey, dict[str, str]]:
    """``known`` completed per check with what promtool rendered; a delivered text rendered otherwise is an error."""
    got = parse_got_alerts(replay(test_path).output)
    out = {k: dict(v) for k, v in known.items()}
    for check in checks:
        for instance in check.firing:
            key = (check.alert, label_key(instance.labels))
            if key not in calibrate:
                continue
            labels = {k: v for k, v in instance.labels.items() if k != "alertname"}
            rendered = annotations_for(got, check.alert, grid.offset(check.step), labels)
            if rendered is None:
                continue  # the alert did not fire there in the replay: the final replay reports it
            for name, text in known.get((*key, None), {}).items():
                if rendered.get(name) != text:
                    raise ReplayError(f"{check.alert} annotation {name!r} was delivered as {text!r} but the recorded "
                                      f"rule renders {rendered.get(name)!r}; the rule file is not the tested rule")
            out[(*key, check.step)] = rendered
    return out


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(drill: DrillResult, prometheus: PrometheusClient, grid: Grid, checks: Iterable[Check]) -> list[str]:
    assert drill.injected_at is not None and drill.reverted_at is not None
    lines = [
        f"Replay of scenario {drill.scenario} (fault {drill.fault}), recorded by alertdrill from {prometheus.url}.",
        f"Series start at {_utc(grid.start)} = 0s, one sample per evaluation ({grid.step:g}s): the fault was "
        f"injected at {drill.injected_at - grid.start:.1f}s and reverted at {drill.reverted_at - grid.start:.1f}s.",
        "Checks (one evaluation of margin from each edge the live ALERTS series showed):",
    ]
    lines += [f"  {grid.offset(c.step):g}s {c.alert}: {c.why}" for c in checks]
    return lines


def _write_meta(target: Path, drill: DrillResult, prometheus: PrometheusClient, grid: Grid,
                firing: Mapping[str, list[Firing]], checks: Iterable[Check], time_scale: float | None) -> None:
    assert drill.injected_at is not None and drill.reverted_at is not None
    meta = {
        "scenario": drill.scenario, "component": drill.component, "fault": drill.fault,
        "recorded_at": _utc(time.time()), "prometheus": prometheus.url, "time_scale": time_scale,
        "start": grid.start, "step": grid.step, "samples": grid.size,
        "injected_at": round(drill.injected_at - grid.start, 3),
        "reverted_at": round(drill.reverted_at - grid.start, 3),
        "firing": {name: [{"labels": f.labels, "from": grid.offset(f.first), "to": grid.offset(f.last)}
                          for f in instances] for name, instances in firing.items()},
        "checks": [{"eval_time": grid.offset(c.step), "alert": c.alert, "firing": len(c.firing), "why": c.why}
                   for c in checks],
    }
    (target / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    alerts = ", ".join(sorted(firing))
    (target / "README.md").write_text(
        f"Recorded {meta['recorded_at']} by alertdrill from the passed drill `{drill.scenario}` (fault "
        f"`{drill.fault}`, alerts {alerts}) against Prometheus at {prometheus.url}"
        + (f", time scale {time_scale:g}" if time_scale else "")
        + f"; replay with `promtool test rules {drill.scenario}{TEST_SUFFIX}` or `alertdrill record verify .`.\n")

