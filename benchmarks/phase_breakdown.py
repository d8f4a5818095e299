"""Benchmark helper: where a chaos run's time went, per phase, with stack start-up and the idle share.

    .venv/bin/python benchmarks/phase_breakdown.py reports/summary.json [more summaries ...]

Run it on the summary of a serial run (``pytest -m chaos scenarios -n 0``) and of a parallel one
(``make chaos``) to compare; the figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alertdrill.errors import AlertdrillError
from alertdrill.phases import PhaseBreakdown
from alertdrill.results import RunSummary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summaries", nargs="+", type=Path, help="summary.json files of chaos runs")
    args = parser.parse_args(argv)
    for path in args.summaries:
        try:
            summary = RunSummary.read(path)
        except AlertdrillError as exc:
            print(f"phase_breakdown: {exc}", file=sys.stderr)
            return 2
        print(f"== {path} (wall {summary.wall_seconds or 0:.0f} s, {len(summary.results)} drills)")
        print("\n".join(PhaseBreakdown.of(summary).lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
