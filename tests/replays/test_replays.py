"""Replays of real nightly drills: promtool re-checks, without a stack, what a live run observed.

Each directory here is a recording (``pytest -m chaos scenarios --record reports/recordings``, then
``alertdrill record collect --scenario ID``): the rule as tested, its input series down-sampled to
the evaluation interval, and checks placed where the live ``ALERTS`` series showed the alert silent,
firing and resolved. Each is replayed as recorded, and against today's shipped rule rendered the way
the stack renders it, so a rule change that would break what the run observed fails here first.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from alertdrill.replay import current_rule_file, replay, retarget

HERE = Path(__file__).resolve().parent
RECORDINGS = sorted(HERE.glob("*/*.test.yml"))
IDS = [p.parent.name for p in RECORDINGS]


def test_the_suite_holds_recordings() -> None:
    assert len(RECORDINGS) >= 1, f"no recordings in {HERE}; collect one with `alertdrill record collect`"


@pytest.mark.parametrize("test_file", RECORDINGS, ids=IDS)
def test_the_recording_replays_green(test_file: Path) -> None:
    outcome = replay(test_file)
    assert outcome.passed, f"promtool test rules {test_file.name} failed:\n{outcome.output}"


@pytest.mark.parametrize("test_file", RECORDINGS, ids=IDS)
def test_todays_shipped_rule_still_does_what_the_run_observed(test_file: Path, tmp_path: Path) -> None:
    rules = current_rule_file(test_file.parent, tmp_path / "current.yml")
    outcome = replay(retarget(test_file, rules, tmp_path / test_file.name))
    scenario = test_file.parent.name
    assert outcome.passed, (
        f"the shipped rule no longer fires and resolves as recorded in {scenario}; if the change is intended, "
        f"re-record: pytest -m chaos scenarios -k {scenario} --record reports/recordings && "
        f"alertdrill record collect --scenario {scenario}\n{outcome.output}")


@pytest.mark.parametrize("test_file", RECORDINGS, ids=IDS)
def test_the_recording_is_complete(test_file: Path) -> None:
    """Its provenance, the tested rule, and silent -> firing -> resolved checks for every recorded alert."""
    folder = test_file.parent
    assert {p.name for p in folder.iterdir()} >= {"README.md", "rules.yml", "recording.json"}
    meta = json.loads((folder / "recording.json").read_text())
    assert meta["scenario"] == folder.name and meta["time_scale"]
    alerts = {r["alert"] for r in yaml.safe_load((folder / "rules.yml").read_text())["groups"][0]["rules"]}
    cases = yaml.safe_load(test_file.read_text())["tests"][0]["alert_rule_test"]
    for alert in alerts:
        states = [bool(c["exp_alerts"]) for c in cases if c["alertname"] == alert]
        assert states[0] is False and True in states and states[-1] is False, (alert, states)


def test_a_changed_shipped_rule_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not vacuous: RedisDown inverted in a copy of the shipped rules fails the replay."""
    from alertdrill.stack import layout

    test_file = HERE / "redis-down" / "redis-down.test.yml"
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for path in layout.shipped_rule_files():
        (shipped / path.name).write_text(path.read_text().replace("expr: redis_up == 0", "expr: redis_up == 1"))
    assert "redis_up == 1" in (shipped / "redis.yml").read_text()
    monkeypatch.setattr(layout, "shipped_rule_files", lambda: sorted(shipped.glob("*.yml")))
    rules = current_rule_file(test_file.parent, tmp_path / "current.yml")
    outcome = replay(retarget(test_file, rules, tmp_path / test_file.name))
    assert not outcome.passed and "alertname: RedisDown" in outcome.output
