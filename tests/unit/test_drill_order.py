"""Drills are collected longest first (baseline before all), so parallel workers finish together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _collected(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_baseline_first_then_the_longest_rules_first():
    ids = [line.split("[")[-1].rstrip("]") if "[" in line else "baseline" for line in _collected()]
    assert ids[0] == "baseline"
    # ApiHighLatency waits for `for: 10m` over a 5m window; RedisDown for `for: 1m` on a plain gauge
    assert ids.index("api-latency") < ids.index("redis-down")
    assert ids.index("postgres-table-not-vacuumed") < ids.index("postgres-down")


def test_the_order_follows_the_rules_under_test(tmp_path):
    """A rule file where RedisDown waits longest puts redis-down first: the order is computed, not kept."""
    shipped = _collected()
    slow_redis = ROOT / "stack" / "prometheus" / "rules"
    rules = [str(p) for p in sorted(slow_redis.glob("*.yml"))]
    text = (slow_redis / "redis.yml").read_text().replace("expr: redis_up == 0\n        for: 1m",
                                                          "expr: redis_up == 0\n        for: 30m")
    assert "for: 30m" in text
    (tmp_path / "redis.yml").write_text(text)
    files = [str(tmp_path / "redis.yml") if p.endswith("redis.yml") else p for p in rules]
    reordered = _collected(*[arg for f in files for arg in ("--rules", f)])
    assert "redis-down" in reordered[1], reordered[:3]
    assert "redis-down" not in shipped[1]
