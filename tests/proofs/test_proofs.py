"""Proofs by synthesis of every shipped alerting rule: promtool re-checks each one in `make test`.

Each folder was written by ``alertdrill prove --inventory stack/prometheus/inventory.yml --out
tests/proofs``: the rule as shipped (production ``for``) and series shaped after the native stack's
inventory, checked silent at baseline, pending one evaluation before it fires, firing, and resolved.
A changed shipped rule makes the proof stale, and the test says how to regenerate it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alertdrill.lint.rules import load_rules
from alertdrill.prove.writer import proof_slug
from alertdrill.replay import replay, retarget
from alertdrill.stack import layout

HERE = Path(__file__).resolve().parent
PROOFS = sorted(HERE.glob("*/*.test.yml"))
IDS = [p.parent.name for p in PROOFS]
REGENERATE = "alertdrill prove --inventory stack/prometheus/inventory.yml --out tests/proofs"


def _rule_of(folder: Path) -> dict:
    (group,) = yaml.safe_load((folder / "rules.yml").read_text())["groups"]
    (rule,) = group["rules"]
    return rule


def test_every_shipped_rule_has_a_proof() -> None:
    shipped = {proof_slug(r.name, r.severity) for r in load_rules(layout.shipped_rule_files())}
    assert shipped == {p.parent.name for p in PROOFS}, f"proofs missing or stale; regenerate: {REGENERATE}"


@pytest.mark.parametrize("test_file", PROOFS, ids=IDS)
def test_the_proof_passes_promtool(test_file: Path) -> None:
    outcome = replay(test_file)
    assert outcome.passed, f"promtool test rules {test_file.name} failed:\n{outcome.output}"


@pytest.mark.parametrize("test_file", PROOFS, ids=IDS)
def test_the_proof_holds_todays_shipped_rule(test_file: Path) -> None:
    """The proof's rule is the shipped one, expression, ``for``, labels and annotations alike."""
    rule = _rule_of(test_file.parent)
    shipped = {proof_slug(r.name, r.severity): r for r in load_rules(layout.shipped_rule_files())}
    now = shipped.get(test_file.parent.name)
    assert now is not None, f"no shipped rule {test_file.parent.name}; regenerate: {REGENERATE}"
    assert (rule["expr"], dict(rule.get("labels") or {}), dict(rule.get("annotations") or {})) == \
        (now.expr, dict(now.labels), dict(now.annotations)), f"the shipped rule changed; regenerate: {REGENERATE}"


@pytest.mark.parametrize("test_file", PROOFS, ids=IDS)
def test_the_proof_shows_silent_pending_firing_resolved(test_file: Path) -> None:
    cases = yaml.safe_load(test_file.read_text())["tests"][0]["alert_rule_test"]
    states = [bool(c["exp_alerts"]) for c in cases]
    assert states[0] is False and states[-1] is False and True in states, states
    first = states.index(True)
    assert states[first - 1] is False  # one evaluation before the first firing step: `for` still pending


def test_a_broken_rule_fails_its_proof(tmp_path: Path) -> None:
    """The proofs are not vacuous: RedisDown inverted no longer passes."""
    folder = HERE / "RedisDown-critical"
    rules = tmp_path / "rules.yml"
    rules.write_text((folder / "rules.yml").read_text().replace("redis_up == 0", "redis_up == 1"))
    outcome = replay(retarget(folder / "RedisDown-critical.test.yml", rules, tmp_path / "t.test.yml"))
    assert not outcome.passed and "RedisDown" in outcome.output
