"""The entry point the CLI and the pytest session share: rule files + inventory -> ProofResults."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from alertdrill.prove.inventory import Inventory
from alertdrill.prove.result import ProofResult
from alertdrill.prove.search import DEFAULT_STEP, prove_rules

__all__ = ["live_inventory", "load_results", "prove", "results_key", "save_results", "shipped_inventory_path"]


def shipped_inventory_path() -> Path:
    """The native stack's inventory, shipped so ``prove`` runs offline (tests check it is current)."""
    from alertdrill.stack import layout

    return layout.STACK_DIR / "prometheus" / "inventory.yml"


def prove(rule_files: Sequence[Path], inventory: Inventory, *, out_dir: Path | None = None,
          step: float = DEFAULT_STEP, workers: int = 2,
          on_result: Callable[[ProofResult], None] | None = None) -> list[ProofResult]:
    """Every alerting rule of ``rule_files`` (validated by promtool first), proven or explained."""
    from alertdrill.lint.rules import load_rules

    rules = load_rules(list(rule_files))
    return prove_rules(rules, inventory, out_dir=out_dir, step=step, workers=workers, on_result=on_result)


def save_results(results: Sequence[ProofResult], path: Path, *, key: str = "") -> Path:
    """``prove.json``: the results as the report's coverage section reads them; ``key`` names the inputs
    (rule files and inventory) they were computed from, so an identical session can reuse them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"key": key, "results": [r.to_dict() for r in results]}, indent=2))
    tmp.replace(path)
    return path


def results_key(path: Path) -> str:
    """The ``key`` a ``prove.json`` was saved with ("" when none or unreadable)."""
    try:
        return str(json.loads(Path(path).read_text()).get("key") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def load_results(path: Path) -> list[ProofResult]:
    data = json.loads(Path(path).read_text())
    return [ProofResult.from_dict(r) for r in data.get("results") or []]


def live_inventory(client) -> Inventory:
    """The inventory of the Prometheus behind ``client``, with postgres_exporter's declared queries."""
    from alertdrill.prove.inventory import capture, declared_postgres_queries
    from alertdrill.stack import layout

    targets = [s.labels for s in client.query('up{job="postgres"}')]
    target = {k: v for k, v in (targets[0] if targets else {}).items() if k != "__name__"}
    declared = declared_postgres_queries(layout.POSTGRES_EXPORTER_QUERIES, target) if targets else []
    return capture(client, declared=declared)
