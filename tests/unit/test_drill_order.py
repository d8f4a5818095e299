"""Drills are collected longest first (baseline before all), so parallel workers finish together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alertdrill.bounds import session_bounds
from alertdrill.catalogue import DEFAULT_CATALOGUE, load_catalogue
from alertdrill.plugin.scenarios import drill_estimates
from alertdrill.stack.layout import shipped_rule_files
from alertdrill.stack.rendering import StackTiming

ROOT = Path(__file__).resolve().parents[2]


def test_baseline_first_then_the_longest_rules_first():
    out = subprocess.run([sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "--collect-only", "-q",
                          "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    ids = [line.split("[")[-1].rstrip("]") if "[" in line else "baseline"
           for line in out.stdout.splitlines() if "::" in line]
    assert ids[0] == "baseline"
    # ApiHighLatency waits for `for: 10m` over a 5m window; RedisDown for `for: 1m` on a plain gauge
    assert ids.index("api-latency") < ids.index("redis-down")
    assert ids.index("postgres-table-not-vacuumed") < ids.index("postgres-down")


def test_the_order_follows_the_rules_under_test(tmp_path):
    """A rule file where RedisDown waits longest puts redis-down first: the order is computed, not kept."""
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    files = shipped_rule_files()
    timing = StackTiming(time_scale=60)
    shipped = drill_estimates(catalogue, session_bounds(files, timing=timing, overrides=catalogue.rule_overrides))
    redis = next(f for f in files if f.name == "redis.yml")
    text = redis.read_text().replace("expr: redis_up == 0\n        for: 1m", "expr: redis_up == 0\n        for: 30m")
    assert "for: 30m" in text
    (tmp_path / "redis.yml").write_text(text)
    changed = [tmp_path / "redis.yml" if f == redis else f for f in files]
    slow = drill_estimates(catalogue, session_bounds(changed, timing=timing, overrides=catalogue.rule_overrides))
    assert max(shipped, key=shipped.get) != "redis-down"
    assert max(slow, key=slow.get) == "redis-down"
    assert slow["redis-down"] > shipped["redis-down"] + 2 * 29  # for 30 s, not 1 s: in deliver and in fire
