"""Settings precedence: argument > option > environment > project file > default; 0 is a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertdrill.cli import parse_args
from alertdrill.errors import ConfigError
from alertdrill.settings import SETTINGS, RunSettings, resolve_setting, resolve_settings


def test_each_level_beats_the_ones_below():
    env = {"ALERTDRILL_TIME_SCALE": "30"}
    assert resolve_setting("time_scale", environ={}) == 60.0
    assert resolve_setting("time_scale", project="45", environ={}) == 45.0
    assert resolve_setting("time_scale", project="45", environ=env) == 30.0
    assert resolve_setting("time_scale", option=10.0, project="45", environ=env) == 10.0
    assert resolve_setting("time_scale", explicit=1, option=10.0, project="45", environ=env) == 1.0


def test_zero_and_false_are_values_not_unset():
    env = {"ALERTDRILL_LOAD_WORKERS": "4", "ALERTDRILL_STRICT_COVERAGE": "1"}
    assert resolve_setting("load_workers", option=0, environ=env) == 0
    assert resolve_setting("load_workers", environ={"ALERTDRILL_LOAD_WORKERS": "0"}) == 0
    assert resolve_setting("strict_coverage", explicit=False, environ=env) is False
    assert resolve_setting("strict_coverage", environ={"ALERTDRILL_STRICT_COVERAGE": "0"}) is False
    assert resolve_setting("load_workers", environ={"ALERTDRILL_LOAD_WORKERS": ""}) == 0  # empty = unset


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"option": 0}, "--time-scale 0 must be > 0"),
    ({"environ": {"ALERTDRILL_TIME_SCALE": "0"}}, "ALERTDRILL_TIME_SCALE '0' must be > 0"),
    ({"environ": {"ALERTDRILL_TIME_SCALE": "fast"}}, "ALERTDRILL_TIME_SCALE 'fast' is not a valid time scale"),
])
def test_a_bad_value_at_any_level_is_one_line_naming_its_source(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        resolve_setting("time_scale", **kwargs)


def test_bad_backend_and_flag_and_unknown_setting():
    with pytest.raises(ConfigError, match="ALERTDRILL_BACKEND 'k8s' must be one of native, compose, external"):
        resolve_settings(environ={"ALERTDRILL_BACKEND": "k8s"})
    with pytest.raises(ConfigError, match="must be 1/true/yes or 0/false/no"):
        resolve_setting("strict_coverage", environ={"ALERTDRILL_STRICT_COVERAGE": "maybe"})
    with pytest.raises(ConfigError, match="unknown setting"):
        resolve_settings(explicit={"time_scael": 1}, environ={})


def test_rules_from_the_environment_are_colon_separated_and_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = resolve_settings(environ={"ALERTDRILL_RULES": "a.yml:/abs/b.yml"})
    assert settings.rule_files == (tmp_path / "a.yml", Path("/abs/b.yml"))
    assert resolve_settings(environ={}) == RunSettings()


def test_one_environment_name_per_setting_shared_by_the_cli(monkeypatch, tmp_path):
    envs = [s.env for s in SETTINGS.values()]
    assert len(envs) == len(set(envs))
    monkeypatch.setenv("ALERTDRILL_STACK_NAME", "nightly")
    monkeypatch.setenv("ALERTDRILL_HOME", str(tmp_path))
    args = parse_args(["status"])
    assert (args.name, args.home) == ("nightly", tmp_path)
    assert parse_args(["--name", "mine", "status"]).name == "mine"
    monkeypatch.delenv("ALERTDRILL_STACK_NAME")
    assert parse_args(["status"]).name == "default"
