"""The parts of a recording without a stack: notation, checks, promtool round trips, errors, CLI.

The round trips run the real promtool on files built from synthetic "live" observations, so the
margins are proven against promtool's own evaluation, not against our idea of it.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import yaml

from alertdrill.assertions.prometheus import AlertingRule
from alertdrill.cli import main
from alertdrill.errors import ConfigError
from alertdrill.replay import find_test_files, replay, retarget
from alertdrill.replay.calibrate import annotations_for, parse_go_labels, parse_got_alerts
from alertdrill.replay.promtest import Firing, choose_checks, dump_yaml, label_key, promtool_test_doc, rule_file_doc
from alertdrill.replay.record import _calibrated, lookback
from alertdrill.replay.series import Grid, encode_values, series_name

SERIES = {"__name__": "thing_up", "instance": "a:1", "job": "thing"}
LABELS = {"alertname": "ThingDown", "instance": "a:1", "job": "thing", "severity": "critical"}
#: The input: up for steps 0-7, down 8-12, up again from 13.
VALUES: list[float | None] = [1.0] * 8 + [0.0] * 5 + [1.0] * 7


def _rule(expr: str = "thing_up == 0", duration: float = 2.0,
          summary: str = "{{ $labels.instance }} is down") -> AlertingRule:
    return AlertingRule(name="ThingDown", query=expr, duration=duration, keep_firing_for=0.0,
                        labels={"severity": "critical"}, annotations={"summary": summary}, state="inactive",
                        health="ok", last_error="", group="g", file="", group_interval=1.0,
                        group_last_evaluation=None)


def _write(tmp: Path, rule: AlertingRule, firing: Firing, annotations=None, *, quiet_before=None) -> Path:
    grid = Grid(start=1000.0, step=1.0, size=len(VALUES))
    checks = choose_checks("ThingDown", [firing], size=grid.size, quiet_before=quiet_before)
    (tmp / "rules.yml").write_text(dump_yaml(rule_file_doc([rule], group="replay", interval=1.0)))
    if annotations is None:
        annotations = {("ThingDown", label_key(LABELS), None): {"summary": "a:1 is down"}}
    doc = promtool_test_doc(rule_file="rules.yml", grid=grid, series=[(SERIES, VALUES)], checks=checks,
                        annotations=annotations, name="synthetic")
    path = tmp / "thing.test.yml"
    path.write_text(dump_yaml(doc, header=["synthetic"]))
    return path


# --- notation -------------------------------------------------------------------------------------
def test_runs_use_the_expanding_notation_and_a_vanished_series_goes_stale() -> None:
    assert encode_values([None, None, 1.0, 1.0, 1.0, 0.5, None, None, None, 2.0]) == "_x2 1x2 0.5 stale _x2 2"
    assert encode_values([None]) == "_"
    assert encode_values([3.0, None, 3.0]) == "3 stale 3"
    assert encode_values([math.nan, math.nan, math.inf, -math.inf, -2.0, 1e-5]) == "NaNx1 Inf -Inf -2 1e-05"


def test_series_names_escape_label_values_like_promql() -> None:
    assert series_name({"__name__": "m", "b": 'q"u\\o\nté', "a": "1"}) == 'm{a="1", b="q\\"u\\\\o\\nté"}'
    assert series_name({"__name__": "m"}) == "m"


def test_grid_places_range_query_points_on_steps() -> None:
    grid = Grid.covering(100.4, 105.0, 1.0)
    assert (grid.start, grid.size, grid.end) == (100.0, 6, 105.0)
    assert grid.place([(101.0, 7.0), (103.0, 8.0), (99.0, 1.0)]) == [None, 7.0, None, 8.0, None, None]
    assert grid.offset(3) == 3.0
    with pytest.raises(ConfigError, match="step > 0"):
        Grid(0.0, 0.0, 3)


def test_lookback_adds_every_window_and_offset() -> None:
    assert lookback("redis_up == 0") == 0
    assert lookback("increase(x[5s]) > 0 and rate(y[1m] offset 30s) > 1") == 95
    assert lookback("max_over_time(rate(a[1m])[5m:10s])") == 360


# --- checks ---------------------------------------------------------------------------------------
def test_checks_keep_a_margin_from_the_recorded_edges() -> None:
    checks = choose_checks("X", [Firing("X", {"alertname": "X"}, tuple(range(10, 15)))], size=20, quiet_before=4)
    assert [(c.step, bool(c.firing)) for c in checks] == [(4, False), (8, False), (10, True), (13, True), (16, False)]


def test_a_two_step_firing_window_is_asserted_once() -> None:
    checks = choose_checks("X", [Firing("X", {}, (8, 9))], size=15)
    assert [(c.step, bool(c.firing)) for c in checks] == [(6, False), (8, True), (11, False)]


def test_only_instances_clear_of_their_edges_are_expected() -> None:
    a, b = Firing("X", {"i": "a"}, tuple(range(10, 20))), Firing("X", {"i": "b"}, tuple(range(15, 17)))
    checks = [c for c in choose_checks("X", [a, b], size=25) if c.firing]
    assert [(c.step, [f.labels["i"] for f in c.firing]) for c in checks] == [(10, ["a"]), (18, ["a"])]


@pytest.mark.parametrize(("instances", "size", "message"), [
    ([], 10, "never fired"),
    ([Firing("X", {}, (1, 2, 3))], 10, "start the recording earlier"),
    ([Firing("X", {}, (5, 6, 7))], 9, "needs 2 to show the resolution"),
    ([Firing("X", {}, (5,))], 10, "fired for only 1 evaluation"),
    ([Firing("X", {}, (5, 6, 8, 9))], 15, "flapping"),
])
def test_an_unreplayable_observation_is_a_config_error(instances, size, message) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_checks("X", instances, size=size)


# --- promtool round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("late", [0, 1], ids=["live-in-step", "live-one-step-late"])
def test_synthetic_recording_replays_green(tmp_path: Path, late: int) -> None:
    """The replay fires at 10..12 (pending at 8, for 2s); live saw it then, or one evaluation later."""
    firing = Firing("ThingDown", LABELS, tuple(range(10 + late, 13 + late)))
    outcome = replay(_write(tmp_path, _rule(), firing, quiet_before=5))
    assert outcome.passed, outcome.output


@pytest.mark.parametrize(("broken", "why"), [
    ({"expr": "thing_up == 1"}, "inverted threshold"),
    ({"duration": 6.0}, "for longer than the firing window"),
    ({"summary": "{{ $labels.instance }} is gone"}, "another annotation"),
])
def test_synthetic_recording_fails_against_a_broken_rule(tmp_path: Path, broken: dict, why: str) -> None:
    test_file = _write(tmp_path, _rule(), Firing("ThingDown", LABELS, (10, 11, 12)))
    broken_rules = tmp_path / "broken.yml"
    broken_rules.write_text(dump_yaml(rule_file_doc([_rule(**broken)], group="replay", interval=1.0)))
    outcome = replay(retarget(test_file, broken_rules, tmp_path / "broken.test.yml"))
    assert not outcome.passed, why
    assert "alertname: ThingDown" in outcome.output


def test_value_annotations_are_rendered_by_promtool(tmp_path: Path) -> None:
    """The delivered text of a $value annotation is not what the replay renders; promtool's is taken."""
    rule = _rule(summary="{{ $labels.instance }} is {{ $value }}")
    firing = Firing("ThingDown", LABELS, (10, 11, 12))
    key = ("ThingDown", label_key(LABELS))
    test_file = _write(tmp_path, rule, firing, annotations={})
    grid = Grid(1000.0, 1.0, len(VALUES))
    checks = choose_checks("ThingDown", [firing], size=grid.size)
    found = _calibrated(test_file, grid, checks, {}, {key: {"summary"}})
    assert found == {(*key, 10): {"summary": "a:1 is 0"}, (*key, 11): {"summary": "a:1 is 0"}}
    _write(tmp_path, rule, firing, annotations=found)
    assert replay(test_file).passed


def test_promtool_reports_are_parsed_with_go_escapes() -> None:
    assert parse_go_labels('{a="1", b="x\\"y\\\\z\\nw", c="\\u00e9t\\x41"}') == {"a": "1", "b": 'x"y\\z\nw', "c": "étA"}
    with pytest.raises(ConfigError, match="cannot read"):
        parse_go_labels("a=1")
    output = """  FAILED:
    alertname: X, time: 1m30s,
        exp:[
            0:
              Labels:{alertname="X", i="a"}
              Annotations:{}
            ],
        got:[
            0:
              Labels:{alertname="X", i="a"}
              Annotations:{s="v, is 3"}
            ]
"""
    got = parse_got_alerts(output)
    assert annotations_for(got, "X", 90.0, {"i": "a"}) == {"s": "v, is 3"}
    assert annotations_for(got, "X", 90.0, {"i": "b"}) is None


# --- inputs and errors ----------------------------------------------------------------------------
def test_a_directory_without_test_files_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \.test\.yml files in"):
        find_test_files([tmp_path])
    with pytest.raises(ConfigError, match="does not exist"):
        find_test_files([tmp_path / "nope"])


def test_retarget_points_the_test_at_another_rule_file(tmp_path: Path) -> None:
    test_file = _write(tmp_path, _rule(), Firing("ThingDown", LABELS, (10, 11, 12)))
    copy = retarget(test_file, tmp_path / "other.yml")
    assert copy == tmp_path / "other.test.yml"
    assert yaml.safe_load(copy.read_text())["rule_files"] == [str(tmp_path / "other.yml")]
    with pytest.raises(ConfigError, match="not a promtool test file"):
        retarget(tmp_path / "rules.yml", tmp_path / "x.yml")


# --- CLI ------------------------------------------------------------------------------------------
def _recordings(tmp_path: Path) -> Path:
    good = tmp_path / "runs" / "good"
    good.mkdir(parents=True)
    _write(good, _rule(), Firing("ThingDown", LABELS, (10, 11, 12)))
    bad = tmp_path / "runs" / "bad"
    shutil.copytree(good, bad)
    (bad / "rules.yml").write_text(dump_yaml(rule_file_doc([_rule("thing_up == 1")], group="r", interval=1.0)))
    return tmp_path / "runs"


def test_cli_verify_reports_each_file_and_fails_on_a_red_one(tmp_path: Path, capsys) -> None:
    runs = _recordings(tmp_path)
    assert main(["record", "verify", str(runs / "good")]) == 0
    assert main(["record", "verify", str(runs)]) == 1
    out = capsys.readouterr().out
    assert f"PASS  {runs / 'good' / 'thing.test.yml'}" in out and f"FAIL  {runs / 'bad' / 'thing.test.yml'}" in out
    assert "1 failed" in out


def test_cli_collect_copies_only_green_recordings(tmp_path: Path, capsys) -> None:
    runs = _recordings(tmp_path)
    assert main(["record", "collect", "--from", str(runs), "--to", str(tmp_path / "suite")]) == 1
    assert sorted(p.name for p in (tmp_path / "suite").iterdir()) == ["good"]
    assert "FAIL  bad: does not replay green" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["record", "verify", "{tmp}/nope"], ["record", "verify", "{tmp}"],
                                  ["record", "capture", "--from-summary", "{tmp}/summary.json", "--prometheus", "x"],
                                  ["record", "collect", "--from", "{tmp}"]])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys, argv: list[str]) -> None:
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alertdrill: error: ") and err.count("\n") == 1, err
