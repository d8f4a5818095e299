"""``prove`` before the drills of a chaos session: rules that cannot fire are reported up front.

A drill for a rule that cannot fire would wait its whole fire deadline to learn what ``prove`` says
in seconds, offline (the shipped inventory of the native stack), so the session proves the rules under
test first, prints one line per rule that is not proven, and lets the drills of those rules fail at
once with the reason. The results go to ``<report dir>/prove.json`` for the report's coverage section.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from alertdrill.prove.result import AlertCoverage, ProofResult, Verdict, alert_coverage

__all__ = ["PROVE_JSON", "blocking_proof", "prove_first", "strict_coverage_failures"]

PROVE_JSON = "prove.json"


def _key(files: Sequence[Path], inventory: Path) -> str:
    """What the results depend on: the rule files' and the inventory's bytes (the search is deterministic)."""
    digest = hashlib.sha256()
    for path in [*files, inventory]:
        digest.update(str(path).encode() + b"\0")
        digest.update(Path(path).read_bytes() if Path(path).is_file() else b"(missing)")
    return digest.hexdigest()


def prove_first(rule_files: Sequence[Path], report_dir: Path, *, inventory_path: Path | None = None,
                echo=print) -> list[ProofResult]:
    """Prove every rule of ``rule_files`` (default: the shipped ones) against the inventory; report the
    unproven ones through ``echo`` and write ``prove.json`` and the proofs under ``report_dir``.

    Parallel workers of one session (pytest-xdist) each call this: a lock on the report directory lets
    the first one prove and the others reuse its ``prove.json`` (same rule files and inventory)."""
    import fcntl

    from alertdrill.prove import load_inventory, prove, shipped_inventory_path
    from alertdrill.prove.run import load_results, results_key, save_results
    from alertdrill.stack import layout

    inventory_path = Path(inventory_path or shipped_inventory_path())
    files = list(rule_files) or layout.shipped_rule_files()
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    key, saved = _key(files, inventory_path), report_dir / PROVE_JSON
    with open(report_dir / "prove.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if saved.is_file() and results_key(saved) == key:
            results = load_results(saved)
        else:
            results = prove(files, load_inventory(inventory_path), out_dir=report_dir / "proofs")
            save_results(results, saved, key=key)
    for result in results:
        if not result.proven:
            echo(f"alertdrill prove: {result.line()}")
    proven = sum(r.proven for r in results)
    echo(f"alertdrill prove: {proven} of {len(results)} rule(s) proven fireable on synthesized series")
    return results


def blocking_proof(alert_names: Iterable[str], proofs: Sequence[ProofResult]) -> ProofResult | None:
    """The first proof that says one of ``alert_names`` cannot fire: its drill would only time out."""
    names = set(alert_names)
    by_name: dict[str, list[ProofResult]] = {}
    for p in proofs:
        by_name.setdefault(p.alert, []).append(p)
    for name in sorted(names):
        found = by_name.get(name, [])
        if found and all(p.verdict is Verdict.CANNOT_FIRE for p in found):
            return found[0]
    return None


def strict_coverage_failures(rule_alerts: Iterable[str], proofs: Sequence[ProofResult],
                             drilled: Iterable[str]) -> list[AlertCoverage]:
    """What ``--strict-coverage`` rejects: alerts neither proven by a drill nor by synthesis."""
    coverage = alert_coverage(rule_alerts, proofs, drilled)
    return [c for c in coverage.values() if not c.kind.acceptable]

