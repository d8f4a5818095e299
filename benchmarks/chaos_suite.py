"""Benchmark: the whole chaos suite, N times in a row (default 10); flakes, wall time, per-alert timings.

Prints, for each run, its wall time and result; then pass/fail per run and per contract (scenario:
alert) as a grid, with each contract's pass count (goal: N/N); then per alert the median measured
time to fire, to deliver and to resolve next to the ideal pipeline's best and worst case (best: `for`
+ group_wait; worst: scrape + evaluation + what the expression waits for + `for` + one evaluation +
group_wait). The goals are checked here, by a person reading the figures, not asserted in a timed
unit test. Exit status 1 if any run failed.

    .venv/bin/python benchmarks/chaos_suite.py              # 10 runs
    .venv/bin/python benchmarks/chaos_suite.py --runs 3 -- -k redis
    .venv/bin/python benchmarks/chaos_suite.py --make       # README's `make chaos`, in a clean clone

With ``--make`` each run is README's main command, ``make chaos`` (the suite, the proofs and the HTML
report), in one clean clone of this checkout's HEAD made first (its set-up is timed on its own).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(index: int, report_dir: Path, extra: list[str], clone: Path | None = None) -> tuple[int, float, dict]:
    """One run: pytest's chaos suite here, or ``make chaos`` in ``clone`` (its summary copied out)."""
    out = report_dir / f"run-{index}"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if clone is None:
        command, cwd = [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider",
                        "--report-dir", str(out), *extra], ROOT
    else:
        command, cwd = ["make", "chaos"], clone
    proc = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "ALERTDRILL_STACK_NAME": os.environ.get("ALERTDRILL_STACK_NAME", "bench-chaos")},
    )
    wall = time.monotonic() - started
    (out / "pytest.log").write_text(proc.stdout + proc.stderr)
    summary_path = (clone / "reports" if clone is not None else out) / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {"results": []}
    if clone is not None and summary_path.exists():
        shutil.copy2(summary_path, out / "summary.json")
    return proc.returncode, wall, summary


def clean_clone(into: Path) -> Path:
    """A clean clone of this checkout's HEAD, set up by its own ``make setup`` (timed, printed)."""
    clone = into / "clone"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    started = time.monotonic()
    subprocess.run(["make", "setup"], cwd=clone, check=True, capture_output=True)
    print(f"clean clone {clone} (HEAD {_head(clone)}); make setup {time.monotonic() - started:.0f}s", flush=True)
    return clone


def _head(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True,
                          text=True).stdout.strip()


def print_contract_grid(verdicts: dict[str, dict[int, str]], runs: int) -> None:
    """One row per contract, one column per run: P passed, F failed, S skipped, - not in that run."""
    marks = {"passed": "P", "failed": "F", "skipped": "S"}
    header = " ".join(f"{i:>2}" for i in range(1, runs + 1))
    print(f"\n{'contract (P passed, F failed, S skipped, - absent)':<64} {header}  passed")
    for key in sorted(verdicts):
        row = " ".join(f"{marks.get(verdicts[key].get(i, '-'), verdicts[key].get(i, '-')[:1].upper()):>2}"
                       for i in range(1, runs + 1))
        passed = sum(1 for status in verdicts[key].values() if status == "passed")
        print(f"{key:<64} {row}  {passed}/{runs}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports" / "bench-chaos")
    parser.add_argument("--make", action="store_true",
                        help="run README's `make chaos` in a clean clone instead of pytest here")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    args = parser.parse_args(argv)
    if args.make and args.pytest_args:
        parser.error("--make runs `make chaos` as README gives it: no extra pytest arguments")
    timings: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    bounds: dict[str, tuple[float, float]] = {}
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    walls, failures = [], 0
    clone = clean_clone(args.report_dir) if args.make else None
    verdicts: dict[str, dict[int, str]] = defaultdict(dict)  # contract -> run -> status
    for index in range(1, args.runs + 1):
        code, wall, summary = run_once(index, args.report_dir, args.pytest_args, clone)
        walls.append(wall)
        for result in summary["results"]:
            for alert in result["alerts"]:
                verdicts[f"{result['scenario']}: {alert['alert']}"][index] = alert.get("status") or "?"
        passed = sum(1 for r in summary["results"] for a in r["alerts"] if a.get("status") == "passed")
        total = sum(len(r["alerts"]) for r in summary["results"])
        failures += code != 0
        suite = summary.get("wall_seconds")
        print(f"run {index}: {'PASS' if code == 0 else 'FAIL'} (exit {code}), {wall:.0f}s wall"
              + (f" (the suite {suite:.0f}s)" if suite else "")
              + f", {passed}/{total} alert contracts passed, load average {os.getloadavg()[0]:.1f}", flush=True)
        for result in summary["results"]:
            for alert in result["alerts"]:
                key = f"{result['scenario']}: {alert['alert']}"
                for what in ("fired_after", "delivered_after", "resolved_after"):
                    if alert.get(what) is not None:
                        timings[key][what].append(alert[what])
                if alert.get("best_case") is not None and alert.get("worst_case") is not None:
                    bounds[key] = (alert["best_case"], alert["worst_case"])
    print(f"\n{args.runs} runs, {args.runs - failures}/{args.runs} passed (goal: {args.runs}/{args.runs}); wall "
          f"time median {statistics.median(walls):.0f}s, max {max(walls):.0f}s")
    print_contract_grid(verdicts, args.runs)
    print(f"\n{'scenario: alert':<64} {'fire':>6} {'deliver':>8} {'resolve':>8} {'best case':>10} {'worst case':>11}")
    for key in sorted(timings):
        cells = [statistics.median(timings[key][w]) if timings[key][w] else float("nan")
                 for w in ("fired_after", "delivered_after", "resolved_after")]
        best, worst = bounds.get(key, (float("nan"), float("nan")))
        print(f"{key:<64} {cells[0]:>5.1f}s {cells[1]:>7.1f}s {cells[2]:>7.1f}s {best:>9.1f}s {worst:>10.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
