"""`alertdrill init`: the starting point is consistent (every name the catalogue uses is in the rule
file, every alert has a scenario), and it never overwrites a team's files by accident."""

from __future__ import annotations

import pytest

from alertdrill.catalogue import COMPONENTS, load_catalogue
from alertdrill.cli import main
from alertdrill.errors import ConfigError
from alertdrill.stack.rulefiles import rule_file_alerts
from alertdrill.starter import STARTER_FILES, write_starter


@pytest.mark.parametrize("component", COMPONENTS)
def test_the_starter_loads_and_covers_its_own_rules_strictly(component, tmp_path):
    starter = write_starter(tmp_path / "team", component=component)
    assert sorted(p.name for p in (tmp_path / "team").iterdir()) == sorted(STARTER_FILES)
    catalogue = load_catalogue(tmp_path / "team" / "catalogue.yml")
    rules = rule_file_alerts([tmp_path / "team" / "alerts.yml"])
    assert rules and {s.id for s in catalogue.scenarios} == set(starter.scenarios)
    catalogue.check_names(rules, strict=True)  # raises on a foreign name or an alert without a scenario
    assert all(s.component == component for s in catalogue.scenarios)


def test_the_ini_names_the_rule_file_and_the_catalogue(tmp_path):
    write_starter(tmp_path)
    ini = (tmp_path / "pytest.ini").read_text()
    assert "alertdrill_rules = alerts.yml" in ini and "alertdrill_catalogue = catalogue.yml" in ini
    assert "pytestmark = pytest.mark.chaos" in (tmp_path / "test_alerts.py").read_text()


def test_existing_files_are_kept_unless_forced(tmp_path):
    (tmp_path / "alerts.yml").write_text("# ours\n")
    with pytest.raises(ConfigError, match=r"alerts\.yml already exist"):
        write_starter(tmp_path)
    assert (tmp_path / "alerts.yml").read_text() == "# ours\n"
    write_starter(tmp_path, force=True)
    assert "RedisDown" in (tmp_path / "alerts.yml").read_text()


def test_the_command_prints_the_files_and_the_next_step(tmp_path, capsys):
    assert main(["init", str(tmp_path / "team")]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "pytest -m chaos -k redis-down" in out
    assert main(["init", str(tmp_path / "team")]) == 2
    assert "already exist" in capsys.readouterr().err
