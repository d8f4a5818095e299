"""``alertdrill prove``: show that each alerting rule can fire and resolve, without a fault.

For every rule, candidate input series shaped after what the exporters really export (an
:mod:`.inventory` of names, label sets, types and value ranges) are derived from the expression
(:mod:`.expression`, :mod:`.candidates`), drawn as series (:mod:`.synthesis`) and evaluated by the real
PromQL engine, ``promtool test rules``, in batches (:mod:`.promtool`). A winner is shrunk to the fewest
series (:mod:`.minimise`) and written as a promtool test (:mod:`.writer`); no winner is explained
(:mod:`.diagnose`). :class:`.result.ProofResult` is what every caller gets.
"""

from __future__ import annotations

from .inventory import Inventory, capture, load_inventory, save_inventory
from .result import AlertCoverage, CoverageKind, ProofResult, Verdict, alert_coverage
from .run import prove, shipped_inventory_path

__all__ = ["AlertCoverage", "CoverageKind", "Inventory", "ProofResult", "Verdict", "alert_coverage", "capture",
           "load_inventory", "prove", "save_inventory", "shipped_inventory_path"]
