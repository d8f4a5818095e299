"""Benchmark: a scenario at production timing (``--time-scale 1``), by default the longest-`for` one.

At time scale 1 every rule keeps its shipped durations (ApiHighLatency: `for: 10m` over a 5 m rate
window) and Prometheus and Alertmanager run with their shipped intervals, so one drill takes tens of
minutes. This runs ``pytest -m chaos scenarios -k SCENARIO --time-scale 1`` on a stack of its own and
prints the drill's wall time, how long the fault was held and why, and per alert the measured time to
fire, deliver and resolve next to the ideal pipeline's best and worst case and the deadline: the
figures in docs/benchmarks.md. Exit status 1 if the drill failed.

    .venv/bin/python benchmarks/production_timing.py                      # api-latency
    .venv/bin/python benchmarks/production_timing.py --scenario redis-down
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from alertdrill.results import RunSummary

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="api-latency", help="scenario id (default: the longest `for`)")
    parser.add_argument("--time-scale", default="1")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports" / "bench-production")
    args = parser.parse_args(argv)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-k", args.scenario, "-q", "-n", "0",
         "-p", "no:cacheprovider", "--time-scale", args.time_scale, "--report-dir", str(args.report_dir)],
        cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "ALERTDRILL_STACK_NAME": os.environ.get("ALERTDRILL_STACK_NAME", "bench-production")},
    )
    wall = time.monotonic() - started
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "pytest.log").write_text(proc.stdout + proc.stderr)
    summary_path = args.report_dir / "summary.json"
    if not summary_path.exists():
        print(f"production_timing: no summary written (exit {proc.returncode}); see {args.report_dir}/pytest.log",
              file=sys.stderr)
        return 1
    summary = RunSummary.read(summary_path)
    print(f"scenario {args.scenario} at --time-scale {args.time_scale}: exit {proc.returncode}, "
          f"{wall:.0f} s wall ({wall / 60:.1f} min) for the session")
    for drill in summary.results:
        print(f"drill {drill.scenario}: {drill.status}, {drill.ended - drill.started:.0f} s from baseline to ledger")
        if drill.fault_hold is not None:
            hold = drill.fault_hold
            print(f"  fault held {hold.held_seconds:.0f} s (needed {hold.required_seconds:.0f} s): {hold.reason}")
        print(f"  {'alert':<40} {'fire':>8} {'deliver':>8} {'resolve':>8} {'best':>7} {'worst':>7} {'deadline':>9}")
        for alert in drill.alerts:
            def cell(value: float | None) -> str:
                return f"{value:.1f}s" if value is not None else "-"
            print(f"  {alert.alert:<40} {cell(alert.fired_after):>8} {cell(alert.delivered_after):>8} "
                  f"{cell(alert.resolved_after):>8} {cell(alert.best_case):>7} {cell(alert.worst_case):>7} "
                  f"{cell(alert.deliver_deadline or alert.fire_deadline):>9}  {alert.status}")
            if alert.diagnosis:
                print(f"    {alert.diagnosis.splitlines()[0]}")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
