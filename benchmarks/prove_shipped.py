"""Benchmark: `alertdrill prove` on every shipped rule, offline, against the shipped inventory (goal: < 60 s).

    .venv/bin/python benchmarks/prove_shipped.py --runs 3

Prints, per run, the wall time of the whole proof (rules searched two at a time, as the CLI does),
the promtool candidates evaluated, and the slowest rules; then the median and the worst run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alertdrill.prove import Verdict, load_inventory, prove, shipped_inventory_path
from alertdrill.stack import layout

GOAL = 60.0


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (the promtool runs): unlike
    wall time, not inflated when other jobs share the cores."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    inventory = load_inventory(shipped_inventory_path())
    walls, cpus = [], []
    for index in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="alertdrill-bench-prove-") as tmp:
            began, cpu_before = time.monotonic(), _cpu()
            results = prove(layout.shipped_rule_files(), inventory, out_dir=Path(tmp), workers=args.workers)
            wall, cpu = time.monotonic() - began, _cpu() - cpu_before
        walls.append(wall)
        cpus.append(cpu)
        proven = sum(r.verdict is Verdict.FIREABLE for r in results)
        slowest = ", ".join(f"{r.title} {r.seconds:.1f}s" for r in sorted(results, key=lambda r: -r.seconds)[:3])
        print(f"run {index}: {proven}/{len(results)} rules proven in {wall:.1f}s wall, {cpu:.1f} CPU-s "
              f"(load average {os.getloadavg()[0]:.1f}) "
              f"({sum(r.candidates_tried for r in results)} candidates through promtool); slowest: {slowest}",
              flush=True)
        if proven != len(results):
            for r in results:
                if not r.proven:
                    print(f"  {r.line()}")
    print(f"wall: median {statistics.median(walls):.1f}s, max {max(walls):.1f}s (goal < {GOAL:g}s); "
          f"CPU: median {statistics.median(cpus):.1f} CPU-s (this process and its promtool children)")
    return 0 if max(walls) < GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
