"""A real drill recorded and replayed: RedisDown on the native stack, then promtool without a stack.

The drill stops Redis (the catalogue's redis-down scenario), the recorder
reads the tested rule, ``redis_up`` and ``ALERTS`` back from the live Prometheus, and the resulting
promtool test must pass as recorded, pass against today's shipped rule, and fail against a rule
broken on purpose. ``alertdrill record capture`` rebuilds the same file from summary.json.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.cli import main
from alertdrill.drill import Observers, quiet_timeout, run_drill
from alertdrill.replay import record_drill, replay, retarget
from alertdrill.results import DrillResult, RunSummary

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def observers(stack_info) -> Observers:
    return Observers(PrometheusClient(stack_info.prometheus_url), AlertmanagerClient(stack_info.alertmanager_url),
                     SinkClient(stack_info.sink_url))


@pytest.fixture(scope="module")
def recorded(native_stack, stack_info, catalogue, observers, tmp_path_factory) -> tuple[DrillResult, Path]:
    """The passed redis-down drill and its recording's test file."""
    if getattr(native_stack, "backend", "native") != "native":
        pytest.skip(f"stopping Redis needs the native stack, not {native_stack.backend}")
    result = run_drill(catalogue.scenario("redis-down"), backend=native_stack, observers=observers,
                       quiet_timeout=quiet_timeout(observers))
    assert result.status == "passed", result.diagnosis
    out = tmp_path_factory.mktemp("recordings")
    return result, record_drill(result, prometheus=observers.prometheus, sink=observers.sink, out_dir=out,
                                time_scale=stack_info.time_scale)


def _doc(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _meta(test_file: Path) -> dict:
    import json

    return json.loads((test_file.parent / "recording.json").read_text())


def test_the_recording_replays_green(recorded, observers) -> None:
    _, test_file = recorded
    outcome = replay(test_file)
    assert outcome.passed, outcome.output
    assert sorted(p.name for p in test_file.parent.iterdir()) == ["README.md", "recording.json",
                                                                   "redis-down.test.yml", "rules.yml"]
    assert "redis-down" in (test_file.parent / "README.md").read_text()


def test_the_rule_file_is_the_tested_rule(recorded, observers) -> None:
    _, test_file = recorded
    live = observers.prometheus.rule("RedisDown", {"severity": "critical"})
    group = _doc(test_file.parent / "rules.yml")["groups"][0]
    assert group["interval"] == "1s"
    assert group["rules"] == [{"alert": "RedisDown", "expr": live.query, "for": "1s", "labels": live.labels,
                               "annotations": live.annotations}]


def test_checks_come_from_the_recorded_alerts_series(recorded, observers) -> None:
    """Firing is asserted where ALERTS showed it firing, silence two steps before, resolution two after."""
    _, test_file = recorded
    meta = _meta(test_file)
    (firing,) = meta["firing"]["RedisDown"]
    series = observers.prometheus.query_range('ALERTS{alertname="RedisDown",alertstate="firing"}',
                                              meta["start"], meta["start"] + (meta["samples"] - 1) * meta["step"],
                                              meta["step"])
    (alerts,) = series
    assert alerts.values[0][0] - meta["start"] == firing["from"]
    assert alerts.values[-1][0] - meta["start"] == firing["to"]
    assert meta["injected_at"] < firing["from"] < meta["reverted_at"] <= firing["to"] + 1
    cases = _doc(test_file)["tests"][0]["alert_rule_test"]
    firing_cases = [c for c in cases if c["exp_alerts"]]
    assert firing_cases[0]["eval_time"] == f"{firing['from']:g}s"
    (alert,) = firing_cases[0]["exp_alerts"]
    assert alert["exp_labels"] == {k: v for k, v in firing["labels"].items() if k != "alertname"}
    assert alert["exp_labels"]["severity"] == "critical" and alert["exp_labels"]["job"] == "redis"
    assert alert["exp_annotations"]["runbook_url"] == "docs/runbook.md#redisdown"
    assert cases[-1] == {"eval_time": f"{firing['to'] + 2:g}s", "alertname": "RedisDown", "exp_alerts": []}


def test_the_recording_replays_against_todays_shipped_rule(recorded, capsys) -> None:
    _, test_file = recorded
    assert main(["record", "verify", "--current-rules", str(test_file)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("broken", ["inverted", "long-for"])
def test_the_replay_fails_when_the_rule_is_broken(recorded, tmp_path: Path, broken: str) -> None:
    _, test_file = recorded
    doc = _doc(test_file.parent / "rules.yml")
    rule = doc["groups"][0]["rules"][0]
    if broken == "inverted":
        rule["expr"] = "redis_up == 1"
    else:
        firing = _meta(test_file)["firing"]["RedisDown"][0]
        rule["for"] = f"{firing['to'] - firing['from'] + 3:g}s"  # longer than the recorded firing window
    rules = test_file.parent / f"rules.broken-{broken}.yml"
    rules.write_text(yaml.safe_dump(doc, sort_keys=False))
    outcome = replay(retarget(test_file, rules, tmp_path / f"redis-down.broken-{broken}.test.yml"))
    assert not outcome.passed, f"the replay passed against a broken rule ({broken}):\n{outcome.output}"
    assert "alertname: RedisDown" in outcome.output


def test_capture_from_summary_rebuilds_the_same_replay(recorded, stack_info, tmp_path: Path, capsys) -> None:
    result, test_file = recorded
    summary = RunSummary([result]).write(tmp_path / "summary.json")
    argv = ["record", "capture", "--from-summary", str(summary), "--prometheus", stack_info.prometheus_url,
            "--sink", stack_info.sink_url, "--out", str(tmp_path / "out"), "--time-scale", f"{stack_info.time_scale:g}"]
    assert main(argv) == 0, capsys.readouterr().out
    again = tmp_path / "out" / "redis-down" / "redis-down.test.yml"
    assert _doc(again) == _doc(test_file)
    assert main(["record", "collect", "--from", str(tmp_path / "out"), "--to", str(tmp_path / "suite")]) == 0
    assert (tmp_path / "suite" / "redis-down" / "rules.yml").is_file()
