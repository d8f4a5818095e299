"""A starting point for a team's own repository (``alertdrill init DIR``): a rule file to edit, the
catalogue that maps its alerts to faults, a short test module and a pytest.ini naming both, so that
``pytest -m chaos`` in that directory drills the team's alerts against the embedded stack.

Everything is cut from what alertdrill ships (the rules and catalogue entries of one component), so the
starting point passes as written and every later failure is the team's own edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from alertdrill.catalogue import COMPONENTS, DEFAULT_CATALOGUE
from alertdrill.errors import ConfigError
from alertdrill.stack import layout
from alertdrill.stack.rendering import load_yaml

__all__ = ["STARTER_FILES", "Starter", "write_starter"]

RULES_NAME = "alerts.yml"
CATALOGUE_NAME = "catalogue.yml"
TEST_NAME = "test_alerts.py"
INI_NAME = "pytest.ini"
STARTER_FILES = (RULES_NAME, CATALOGUE_NAME, TEST_NAME, INI_NAME)

PYTEST_INI = f"""\
# alertdrill's pytest plugin reads its project defaults here; a command-line option or an
# ALERTDRILL_* environment variable overrides them (e.g. --rules candidate.yml, ALERTDRILL_TIME_SCALE=1).
[pytest]
alertdrill_rules = {RULES_NAME}
alertdrill_catalogue = {CATALOGUE_NAME}
addopts = -ra --strict-markers
"""

TEST_MODULE = '''\
"""Drills for the alerts in alerts.yml: one test per scenario in catalogue.yml (`pytest -m chaos`).

The alertdrill plugin starts the stack once with these rules, keeps it under steady load, and for each
scenario proves the fault, then that the alert fires, is delivered to its receiver, and resolves.
"""

import pytest

pytestmark = pytest.mark.chaos


def test_alert_contract(scenario, drill):
    """Baseline silent, fault proven, alert fires, is delivered, resolves, nothing lost."""
    result = drill()
    assert result.status == "passed", result.diagnosis
'''

CATALOGUE_HEADER = """\
# Which fault proves which alert in {rules}. Rename an alert there and rename it here too; add a
# scenario per new alert (the keys are explained in alertdrill's own catalogue: {shipped}).
"""


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL expressions) as literal blocks, as a person would write them."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def _dump(data: dict, *, compact: bool) -> str:
    """YAML in the shipped files' style; ``compact`` writes short leaf mappings and lists on one line."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None if compact else False,
                     width=110)


@dataclass(frozen=True)
class Starter:
    """What ``write_starter`` wrote: the files, the component and the scenario ids."""

    directory: Path
    files: tuple[Path, ...]
    component: str
    scenarios: tuple[str, ...]


def _rule_groups(alerts: set[str]) -> list[dict]:
    """The shipped rule groups holding ``alerts``, with only those alerts' rules."""
    groups = []
    for path in layout.shipped_rule_files():
        for group in load_yaml(path, what="rule file").get("groups") or []:
            rules = [r for r in group.get("rules") or [] if r.get("alert") in alerts]
            if rules:
                groups.append({**group, "rules": rules})
    return groups


def write_starter(directory: Path, *, component: str = "redis", force: bool = False) -> Starter:
    """Write the starter files for ``component``'s shipped alerts into ``directory`` (created)."""
    if component not in COMPONENTS:
        raise ConfigError(f"component {component!r} is not one of {', '.join(COMPONENTS)}")
    directory = Path(directory)
    targets = [directory / name for name in STARTER_FILES]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)} already exist(s); choose another directory or pass --force "
                          "to overwrite")
    shipped = load_yaml(DEFAULT_CATALOGUE, what="catalogue")
    chosen = [s for s in shipped["scenarios"] if s.get("component") == component]
    alerts = {a["name"] for s in chosen for a in s.get("alerts") or []}
    # The rule file holds only these alerts: must-stay-silent names of other components would name
    # alerts no rule under test defines (a load-time error), so they are left out.
    scenarios = [{**s, "silent": [n for n in s.get("silent") or [] if n in alerts]} if "silent" in s else s
                 for s in chosen]
    catalogue = {
        "rule_overrides": {k: v for k, v in (shipped.get("rule_overrides") or {}).items() if k in alerts},
        "not_provable": {k: v for k, v in (shipped.get("not_provable") or {}).items() if k in alerts},
        "scenarios": scenarios,
    }
    directory.mkdir(parents=True, exist_ok=True)
    rules_text = _dump({"groups": _rule_groups(alerts)}, compact=False)
    (directory / RULES_NAME).write_text(f"# The {component} alerts alertdrill ships: edit them, then "
                                        f"`pytest -m chaos` proves them.\n{rules_text}")
    header = CATALOGUE_HEADER.format(rules=RULES_NAME, shipped=DEFAULT_CATALOGUE)
    (directory / CATALOGUE_NAME).write_text(header + _dump(catalogue, compact=True))
    (directory / TEST_NAME).write_text(TEST_MODULE)
    (directory / INI_NAME).write_text(PYTEST_INI)
    return Starter(directory=directory, files=tuple(targets), component=component,
                   scenarios=tuple(s["id"] for s in scenarios))
