"""`prove` inside a chaos session and the report: prove first, fail a drill of a rule that cannot
fire at once, per-alert coverage for --strict-coverage and the summary page."""

from __future__ import annotations

from pathlib import Path

from alertdrill.catalogue import load_catalogue
from alertdrill.prove import ProofResult, Verdict
from alertdrill.prove.run import load_results
from alertdrill.prove.session import PROVE_JSON, blocking_proof, prove_first, strict_coverage_failures
from alertdrill.report.matrix import coverage_view, summary_page

CORPUS = Path(__file__).resolve().parents[1] / "rule_corpus"


def test_prove_first_reports_what_cannot_fire_and_writes_prove_json(tmp_path: Path) -> None:
    lines: list[str] = []
    results = prove_first([CORPUS / "defective" / "dead-selector-2.yml", CORPUS / "correct" / "simple-1.yml"],
                          tmp_path, echo=lines.append)
    assert [r.verdict for r in results] == [Verdict.CANNOT_FIRE, Verdict.FIREABLE]
    assert any("PostgresExporterDown" in line and "selects nothing" in line for line in lines)
    assert lines[-1] == "alertdrill prove: 1 of 2 rule(s) proven fireable on synthesized series"
    assert load_results(tmp_path / PROVE_JSON) == results
    assert list((tmp_path / "proofs").rglob("*.test.yml"))


def _proof(alert: str, verdict: Verdict, reason: str = "") -> ProofResult:
    return ProofResult(alert, "critical", verdict, reason)


def test_a_drill_is_blocked_only_by_a_rule_that_cannot_fire() -> None:
    proofs = [_proof("RedisDown", Verdict.CANNOT_FIRE, "no"), _proof("ApiDown", Verdict.FIREABLE),
              _proof("X", Verdict.ALWAYS_FIRES, "baseline")]
    assert blocking_proof(["RedisDown"], proofs).reason == "no"
    assert blocking_proof(["ApiDown"], proofs) is None
    assert blocking_proof(["X"], proofs) is None  # fires: the drill still has something to show
    assert blocking_proof(["Unknown"], proofs) is None


def test_strict_coverage_accepts_a_drill_or_a_synthesized_proof() -> None:
    proofs = [_proof("A", Verdict.FIREABLE), _proof("B", Verdict.CANNOT_FIRE, "dead"), _proof("C", Verdict.FIREABLE)]
    failures = strict_coverage_failures(["A", "B", "C", "D"], proofs, drilled=["C"])
    assert [(f.alert, f.kind.value) for f in failures] == [("B", "cannot fire"), ("D", "unproven")]
    assert strict_coverage_failures(["A", "C"], proofs, drilled=[]) == []


def test_the_summary_page_lists_coverage_per_alert() -> None:
    from alertdrill.stack.layout import shipped_rule_files

    proofs = [_proof("RedisDown", Verdict.FIREABLE), _proof("ApiDown", Verdict.CANNOT_FIRE, "no target exports it")]
    coverage = coverage_view([], load_catalogue(), shipped_rule_files(), proofs)
    assert coverage.per_alert["RedisDown"] == "proven by synthesis only"
    assert coverage.per_alert["ApiDown"] == "cannot fire (ApiDown[critical]: no target exports it)"
    assert coverage.per_alert["RedisOutOfMemory"].startswith("unproven")
    html = summary_page(None, coverage=coverage)
    assert "proven by synthesis only" in html and "no target exports it" in html
    assert coverage_view([], load_catalogue(), shipped_rule_files()).per_alert == {}  # no prove.json: unchanged


def test_parallel_workers_reuse_one_proof_of_the_same_rules(tmp_path: Path, monkeypatch) -> None:
    """Workers of one session (xdist) prove once: same rule files and inventory -> prove.json reused."""
    import alertdrill.prove as prove_pkg

    rules = tmp_path / "rules.yml"
    rules.write_text((CORPUS / "correct" / "simple-1.yml").read_text())
    first = prove_first([rules], tmp_path / "reports", echo=lambda line: None)
    calls = []
    monkeypatch.setattr(prove_pkg, "prove", lambda *a, **k: calls.append(a) or first)
    assert prove_first([rules], tmp_path / "reports", echo=lambda line: None) == first and calls == []
    rules.write_text(rules.read_text().replace("redis_up == 0", "redis_up == 1"))
    prove_first([rules], tmp_path / "reports", echo=lambda line: None)
    assert len(calls) == 1  # the rule changed: proven again
