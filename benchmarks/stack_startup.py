"""Benchmark: how long `alertdrill up` takes until every target is healthy (goal: within 10 s).

    .venv/bin/python benchmarks/stack_startup.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from alertdrill.stack.backends.native import NativeStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    starts, stops = [], []
    for index in range(1, args.runs + 1):
        stack = NativeStack(name=f"bench-startup-{os.getpid()}", owner_pid=os.getpid())
        began = time.monotonic()
        info = stack.start()
        started = time.monotonic() - began
        began = time.monotonic()
        stack.stop()
        stopped = time.monotonic() - began
        starts.append(started)
        stops.append(stopped)
        print(f"run {index}: healthy after {started:.2f}s (stack says {info.startup_seconds:.2f}s), "
              f"stopped in {stopped:.2f}s", flush=True)
    print(f"start: median {statistics.median(starts):.2f}s, max {max(starts):.2f}s (goal 10s); "
          f"stop: median {statistics.median(stops):.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
