"""The shared rule corpus, classified by `prove` against the shipped inventory of the native stack.

Every defective rule that never fires or always fires is reported as such with the reason its kind
calls for; no correct rule (the corpus' own and every shipped one) is reported as unprovable. The
search runs once for the module (real promtool, two rules at a time).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alertdrill.lint.rules import Rule, load_rules
from alertdrill.prove import ProofResult, Verdict, load_inventory, shipped_inventory_path
from alertdrill.prove.search import prove_rules
from alertdrill.stack import layout

CORPUS = Path(__file__).resolve().parents[1] / "rule_corpus"
FILES = sorted(CORPUS.glob("*/*.yml")) + layout.shipped_rule_files()
#: What the reason of each kind of defect must say.
REASONS = {
    "dead-selector": "selects nothing",
    "vector-match-never": "matches nothing",
    "threshold-unreachable": "never holds",
    "rate-over-gauge": "never holds",
    "raw-counter-threshold": "never resolves",
    "threshold-always-met": "at baseline",
    "timestamp-age-never": "at baseline",
}


def _expected(path: Path) -> str:
    found = re.search(r"^# prove: (\S+)", path.read_text(), re.M)
    return found.group(1) if found else "fireable"  # the shipped rules are correct


@pytest.fixture(scope="module")
def verdicts() -> dict[Path, list[tuple[Rule, ProofResult]]]:
    inventory = load_inventory(shipped_inventory_path())
    rules = load_rules(FILES)
    results = prove_rules(rules, inventory, workers=2)
    out: dict[Path, list[tuple[Rule, ProofResult]]] = {}
    for rule, result in zip(rules, results, strict=True):
        out.setdefault(rule.file, []).append((rule, result))
    return out


def test_the_corpus_is_there() -> None:
    assert len(list(CORPUS.glob("defective/*.yml"))) >= 20 and len(list(CORPUS.glob("correct/*.yml"))) >= 10


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_rule_is_classified_as_its_header_says(path: Path, verdicts) -> None:
    expected = _expected(path)
    for rule, result in verdicts[path]:
        assert result.verdict.value == expected, f"{rule.title} in {path.name}: {result.line()}"
        kind = next((k for k in REASONS if path.name.startswith(k)), None)
        if kind and result.verdict is not Verdict.FIREABLE:
            assert REASONS[kind] in result.reason, f"{path.name}: reason {result.reason!r}"


def test_a_rule_that_cannot_fire_names_the_evidence(verdicts) -> None:
    (_, result), = verdicts[CORPUS / "defective" / "vector-match-never-1.yml"]
    assert "only the right side carries instance" in result.reason
    assert any(e.startswith("left:") for e in result.evidence) and any(e.startswith("right:") for e in result.evidence)
    (_, result), = verdicts[CORPUS / "defective" / "rate-over-gauge-2.yml"]
    assert "stays at 1" in result.reason and "> 120" in result.reason
