"""Is load ever what limits a scenario? Locust's request rate next to wrk's, against the same app.

In one run, on this machine, against one native stack's app (started here as "bench-load", or the
running one of that name): for ``/status`` and ``/helloworld``, ``wrk`` drives the endpoint for a
fixed interval, then Locust's ``bench`` profile (FastHttpUser, no think time) does, locally and with
workers. Printed per endpoint: requests/s of each, Locust/wrk as a ratio (goal: >= 80 %), and CPU
use over the measured interval of the app (its ``app_process_cpu_seconds_total``), of the load
generator (wrk's rusage, or the Locust processes' /proc times) and of the whole machine.

    .venv/bin/python benchmarks/locust_vs_wrk.py [--seconds 10] [--users 32] [--workers 0,2]

This is a benchmark, not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from alertdrill.locustfiles import LoadRun
from alertdrill.stack.state import StackInfo, default_home, read_state

__all__ = ["Measurement", "main"]

ENDPOINTS = ("/status", "/helloworld")
_TICKS = os.sysconf("SC_CLK_TCK")
_CPU_METRIC = re.compile(r"^app_process_cpu_seconds_total(?:\{[^}]*\})?\s+([0-9.eE+-]+)$", re.MULTILINE)


@dataclass(frozen=True)
class Measurement:
    """One tool against one endpoint: rate, and CPU seconds per wall second (1.0 = one core)."""

    endpoint: str
    tool: str
    rps: float
    p99_ms: float | None
    app_cpu: float
    generator_cpu: float
    machine_cpu: float
    machine_cores: int


# -- CPU readings -----------------------------------------------------------------------------------

def app_cpu_seconds(app_url: str) -> float:
    text = requests.get(app_url + "/metrics", timeout=5).text
    found = _CPU_METRIC.search(text)
    if not found:
        raise SystemExit("the app's /metrics has no app_process_cpu_seconds_total")
    return float(found.group(1))


def machine_busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICKS


def locust_cpu_seconds(artifacts: Path) -> float:
    """utime + stime of every Locust process working in ``artifacts`` (master and workers)."""
    total = 0.0
    root = str(artifacts.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") != root:
                continue
            if b"locust" not in (entry / "cmdline").read_bytes() or (entry / "comm").read_text().strip() == "timeout":
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


@contextmanager
def cpu_meter(app_url: str) -> Iterator[dict[str, float]]:
    """Wall seconds, app CPU seconds and machine busy seconds spent inside the block."""
    result: dict[str, float] = {}
    t0, app0, busy0 = time.monotonic(), app_cpu_seconds(app_url), machine_busy_seconds()
    yield result
    result.update(wall=time.monotonic() - t0, app=app_cpu_seconds(app_url) - app0,
                  machine=machine_busy_seconds() - busy0)


# -- the two load generators ------------------------------------------------------------------------

def run_wrk(url: str, *, seconds: int, connections: int, threads: int, app_url: str, endpoint: str) -> Measurement:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian package `wrk`)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with cpu_meter(app_url) as cpu:
        out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                             capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    p99 = re.search(r"99%\s+([0-9.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else None
    gen = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Measurement(endpoint, f"wrk -t{threads} -c{connections}", rps, p99_ms, cpu["app"] / cpu["wall"],
                       gen / cpu["wall"], cpu["machine"] / cpu["wall"], os.cpu_count() or 1)


def run_locust(app_url: str, *, endpoint: str, seconds: int, users: int, workers: int, warmup: float,
               out: Path) -> Measurement:
    """Locust's bench profile; the rate is counted over the interval after all users are running."""
    run = LoadRun(profile="bench", target=app_url, artifacts_dir=out, users=users, spawn_rate=max(users, 1) * 4,
                  run_time=warmup + seconds + 5, workers=workers, parameters={"path": endpoint})
    with run:
        time.sleep(warmup)  # measuring, not synchronising: let every user start
        run.mark("measure")
        loc0 = locust_cpu_seconds(out)
        with cpu_meter(app_url) as cpu:
            time.sleep(seconds)  # the measured interval
        loc1 = locust_cpu_seconds(out)
        run.mark("measured")
        window = run.window("measure", "measured")
    tool = f"locust {'local' if not workers else f'{workers} workers'} -u{users}"
    return Measurement(endpoint, tool, window.rps, window.total.p99, cpu["app"] / cpu["wall"],
                       (loc1 - loc0) / cpu["wall"], cpu["machine"] / cpu["wall"], os.cpu_count() or 1)


# -- the stack --------------------------------------------------------------------------------------

@contextmanager
def bench_stack(name: str) -> Iterator[StackInfo]:
    """The running stack called ``name``, or a fresh one started (and stopped) here."""
    run_dir = default_home() / name
    if (run_dir / "stack.json").exists():
        info = read_state(run_dir)
        if all(p.is_alive() for p in info.processes.values()):
            print(f"using the running stack {name!r} ({info.app_url})")
            yield info
            return
    from alertdrill.stack.backends.native import NativeStack

    print(f"starting a native stack {name!r} ...", flush=True)
    with NativeStack(name=name) as info:
        yield info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="bench-load", help="native stack name (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=6, help="measured seconds per run (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds; medians are reported (default: %(default)s)")
    parser.add_argument("--users", type=int, default=16, help="Locust users = wrk connections (default: %(default)s)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default: %(default)s)")
    parser.add_argument("--workers", default="0,2",
                        help="comma-separated Locust worker counts to try, 0 = local (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before Locust is measured")
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]

    rows: list[Measurement] = []
    with bench_stack(args.stack) as info, tempfile.TemporaryDirectory(prefix="locust-vs-wrk-") as tmp:
        print(f"machine busy before: {idle_load():.2f} CPU-s/s (other work on this machine)", flush=True)
        for round_no in range(1, args.rounds + 1):
            for endpoint in ENDPOINTS:
                requests.get(info.app_url + endpoint, timeout=5)  # fill the /helloworld cache
                print(f"round {round_no} {endpoint}: wrk", flush=True)
                rows.append(run_wrk(info.app_url + endpoint, seconds=args.seconds, connections=args.users,
                                    threads=args.wrk_threads, app_url=info.app_url, endpoint=endpoint))
                for workers in worker_counts:
                    print(f"round {round_no} {endpoint}: locust, {workers} workers", flush=True)
                    out = Path(tmp) / f"{endpoint.strip('/')}-{workers}-{round_no}"
                    rows.append(run_locust(info.app_url, endpoint=endpoint, seconds=args.seconds, users=args.users,
                                           workers=workers, warmup=args.warmup, out=out))
    print_table(rows)
    return 0


def idle_load(seconds: float = 2.0) -> float:
    """Machine busy CPU-seconds per second while this benchmark sends nothing."""
    busy0, t0 = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)  # measuring, not synchronising
    return (machine_busy_seconds() - busy0) / (time.monotonic() - t0)


def _ms_per_request(cpu: float, rps: float) -> float:
    return cpu / rps * 1000 if rps else float("nan")


def print_table(rows: list[Measurement]) -> None:
    """Every run; then per endpoint and generator the median rate, its ratio to wrk's, and the CPU model.

    The machine is shared (the app, the generator and whatever else runs), so raw rates swing with
    the other work. CPU-seconds per request are steadier: when the machine is CPU-bound, the rate a
    generator reaches is proportional to 1 / (app ms/req + generator ms/req), which gives the
    "model" ratio, the one to expect on a machine where nothing else runs.
    """
    cores = rows[0].machine_cores if rows else 1
    print(f"\nCPU: CPU-seconds per second (1.00 = one core; this machine has {cores}); "
          "other = machine - app - generator; ms/req = CPU milliseconds per request")
    print(f"{'endpoint':<12} {'generator':<24} {'req/s':>7} {'p99 ms':>7} {'app CPU':>8} {'gen CPU':>8} "
          f"{'other':>6} {'app ms/req':>10} {'gen ms/req':>10}")
    for row in rows:
        p99 = f"{row.p99_ms:.1f}" if row.p99_ms is not None else "-"
        other = row.machine_cpu - row.app_cpu - row.generator_cpu
        print(f"{row.endpoint:<12} {row.tool:<24} {row.rps:>7.0f} {p99:>7} {row.app_cpu:>8.2f} "
              f"{row.generator_cpu:>8.2f} {other:>6.2f} {_ms_per_request(row.app_cpu, row.rps):>10.3f} "
              f"{_ms_per_request(row.generator_cpu, row.rps):>10.3f}")
    print("\nmedians over the rounds")
    for endpoint in ENDPOINTS:
        tools: dict[str, list[Measurement]] = {}
        for row in rows:
            if row.endpoint == endpoint:
                tools.setdefault(row.tool, []).append(row)
        summary = {}
        for tool, runs in tools.items():
            summary[tool] = (
                statistics.median(r.rps for r in runs),
                statistics.median(_ms_per_request(r.app_cpu, r.rps) for r in runs),
                statistics.median(_ms_per_request(r.generator_cpu, r.rps) for r in runs),
            )
        wrk_tool = next((t for t in summary if t.startswith("wrk")), None)
        if wrk_tool is None:
            continue
        wrk_rps, wrk_app, wrk_gen = summary[wrk_tool]
        best_measured = best_model = 0.0
        for tool, (rps, app_ms, gen_ms) in summary.items():
            measured = rps / wrk_rps
            model = (wrk_app + wrk_gen) / (app_ms + gen_ms)
            if tool != wrk_tool:
                best_measured, best_model = max(best_measured, measured), max(best_model, model)
            print(f"{endpoint:<12} {tool:<24} {rps:>7.0f} req/s  measured {measured:>5.0%} of wrk  "
                  f"CPU model {model:>5.0%}  (app {app_ms:.3f} + generator {gen_ms:.3f} ms/req)")
        print(f"{endpoint:<12} best Locust/wrk: measured {best_measured:.0%}, CPU model {best_model:.0%} "
              f"(goal 80 %)\n")


if __name__ == "__main__":
    sys.exit(main())
