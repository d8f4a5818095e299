"""Benchmark: the whole chaos suite, N times in a row; wall time, flakes, and per-alert timings.

Prints, for each run, its wall time and result, then per alert the median measured time to fire,
to deliver and to resolve next to the ideal pipeline's best and worst case (best: `for` + group_wait;
worst: scrape + evaluation + what the expression waits for + `for` + one evaluation + group_wait).
The speed goal (every alert in at most 5 minutes on a 2-core machine) is checked here, by a person
reading the figures, not asserted in a timed unit test.

    .venv/bin/python benchmarks/chaos_suite.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(index: int, report_dir: Path, extra: list[str]) -> tuple[int, float, dict]:
    out = report_dir / f"run-{index}"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider",
         "--report-dir", str(out), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "ALERTDRILL_STACK_NAME": os.environ.get("ALERTDRILL_STACK_NAME", "bench-chaos")},
    )
    wall = time.monotonic() - started
    (out / "pytest.log").parent.mkdir(parents=True, exist_ok=True)
    (out / "pytest.log").write_text(proc.stdout + proc.stderr)
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {"results": []}
    return proc.returncode, wall, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports" / "bench-chaos")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    args = parser.parse_args(argv)
    timings: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    bounds: dict[str, tuple[float, float]] = {}
    walls, failures = [], 0
    for index in range(1, args.runs + 1):
        code, wall, summary = run_once(index, args.report_dir, args.pytest_args)
        walls.append(wall)
        passed = sum(1 for r in summary["results"] for a in r["alerts"] if a.get("status") == "passed")
        total = sum(len(r["alerts"]) for r in summary["results"])
        failures += code != 0
        print(f"run {index}: exit {code}, {wall:.0f}s wall, {passed}/{total} alert contracts passed", flush=True)
        for result in summary["results"]:
            for alert in result["alerts"]:
                key = f"{result['scenario']}: {alert['alert']}"
                for what in ("fired_after", "delivered_after", "resolved_after"):
                    if alert.get(what) is not None:
                        timings[key][what].append(alert[what])
                if alert.get("best_case") is not None and alert.get("worst_case") is not None:
                    bounds[key] = (alert["best_case"], alert["worst_case"])
    print(f"\n{args.runs} runs, {failures} failed; wall time median {statistics.median(walls):.0f}s, "
          f"max {max(walls):.0f}s (goal: at most 300s)")
    print(f"\n{'scenario: alert':<64} {'fire':>6} {'deliver':>8} {'resolve':>8} {'best case':>10} {'worst case':>11}")
    for key in sorted(timings):
        cells = [statistics.median(timings[key][w]) if timings[key][w] else float("nan")
                 for w in ("fired_after", "delivered_after", "resolved_after")]
        best, worst = bounds.get(key, (float("nan"), float("nan")))
        print(f"{key:<64} {cells[0]:>5.1f}s {cells[1]:>7.1f}s {cells[2]:>7.1f}s {best:>9.1f}s {worst:>10.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
