"""The defective-rule corpus (tests/rule_corpus/): every defect draws its finding kind, no correct rule a cause.

Each defective file names the kind lint must report in its ``# finding:`` header. Static checks run
on every file without a stack; the live half runs against the session's real native stack, whose
exporters the corpus was written against, and must find every kind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alertdrill.diagnosis import KINDS, diagnose_rules
from alertdrill.lint.rules import load_rules
from alertdrill.stack import layout

CORPUS = Path(__file__).resolve().parents[1] / "rule_corpus"
DEFECTIVE = sorted((CORPUS / "defective").glob("*.yml"))
CORRECT = sorted((CORPUS / "correct").glob("*.yml")) + list(layout.shipped_rule_files())
#: Kinds the expression alone proves (the others need the live types, label sets or values).
STATIC_FILES = {
    "co-firing-1", "co-firing-2", "delta-over-counter-1", "labels-lost-by-aggregation-1",
    "labels-lost-by-aggregation-2", "labels-lost-by-aggregation-3", "raw-counter-threshold-1",
    "threshold-always-met-2", "threshold-unreachable-1", "threshold-unreachable-2", "threshold-unreachable-3",
    "timestamp-age-never-1", "timestamp-age-never-2", "vector-match-never-1",
}


def _header(path: Path, key: str) -> str | None:
    found = re.search(rf"^# {key}: (\S+)", path.read_text(), re.MULTILINE)
    return found.group(1) if found else None


def _causes(path: Path, prometheus=None) -> list:
    return [f for f in diagnose_rules(load_rules([path]), prometheus=prometheus)
            if f.severity in ("broken", "suspicious")]


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_the_corpus_has_two_files_per_kind_and_ten_correct_ones():
    kinds = [_header(p, "finding") for p in DEFECTIVE]
    wanted = set(KINDS) - {"vector-match-ambiguous", "duplicate-alert"}  # not among issue 14's seven
    assert {k: kinds.count(k) for k in wanted if kinds.count(k) < 2} == {}
    assert all(p.name.startswith(f"{k}-") for p, k in zip(DEFECTIVE, kinds, strict=True))
    assert len(list((CORPUS / "correct").glob("*.yml"))) >= 10
    assert all(_header(p, "prove") in ("fireable", "cannot-fire", "always-fires") for p in DEFECTIVE + CORRECT[:14])


@pytest.mark.parametrize("path", [p for p in DEFECTIVE if p.stem in STATIC_FILES], ids=_id)
def test_static_defects_draw_their_kind_without_a_stack(path):
    assert _header(path, "finding") in {f.kind for f in _causes(path)}


@pytest.mark.parametrize("path", CORRECT, ids=_id)
def test_correct_rules_draw_no_static_cause(path):
    assert [f.line() for f in _causes(path)] == []


@pytest.mark.integration
@pytest.mark.parametrize("path", DEFECTIVE, ids=_id)
def test_every_defective_rule_draws_its_kind_live(prometheus, path):
    found = _causes(path, prometheus)
    assert _header(path, "finding") in {f.kind for f in found}, [f.line() for f in found]


@pytest.mark.integration
@pytest.mark.parametrize("path", CORRECT, ids=_id)
def test_no_correct_rule_draws_a_broken_or_suspicious_finding_live(prometheus, path):
    assert [f.line() for f in _causes(path, prometheus)] == []


@pytest.mark.integration
def test_live_findings_name_the_prometheus_they_came_from(prometheus):
    (finding,) = [f for f in _causes(CORPUS / "defective" / "dead-selector-1.yml", prometheus)]
    assert finding.origin == prometheus.url and f"[live: {prometheus.url}]" in finding.line()
    assert finding.fix == "did you mean `redis_connected_clients`?"
