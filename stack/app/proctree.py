"""CPU, memory, start time and worker count of the whole gunicorn process tree, read from /proc.

prometheus_client's default ``process_*`` metrics describe only the process that serves the scrape,
so under several workers they jump between workers and ignore the master. This collector runs at
scrape time in whichever worker answers and sums the master and all its live children instead:

* ``app_process_cpu_seconds_total``: user+system time of the master and live workers, plus the
  master's ``cutime``/``cstime`` (time of workers that have exited and been reaped), so the counter
  does not drop when gunicorn replaces a worker.
* ``app_process_resident_memory_bytes``: sum of RSS.
* ``app_process_start_time_seconds``: the master's start time (uptime = time() - this).
* ``app_workers``: number of live (non-zombie) children of the master.

Without gunicorn (Flask dev server, tests) the tree is just the current process and ``app_workers``
is 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["MASTER_PID_ENV", "ProcStat", "ProcessTreeCollector", "read_stat", "tree_pids"]

# Set by gunicorn_conf.on_starting in the master and inherited by every forked worker.
MASTER_PID_ENV = "ALERTDRILL_GUNICORN_MASTER_PID"

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat this collector needs, in seconds and bytes."""

    pid: int
    ppid: int
    state: str
    cpu_seconds: float
    children_cpu_seconds: float
    start_ticks: int
    rss_bytes: int


def read_stat(pid: int, proc: Path = Path("/proc")) -> ProcStat | None:
    """Parse /proc/<pid>/stat; None if the process is gone."""
    try:
        raw = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 of proc(5) (state); field N is fields[N - 3].
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        state=fields[0],
        cpu_seconds=(int(fields[11]) + int(fields[12])) / _CLOCK_TICKS,
        children_cpu_seconds=(int(fields[13]) + int(fields[14])) / _CLOCK_TICKS,
        start_ticks=int(fields[19]),
        rss_bytes=int(fields[21]) * _PAGE_SIZE,
    )


def boot_time(proc: Path = Path("/proc")) -> float:
    """System boot time in unix seconds (``btime`` in /proc/stat)."""
    for line in (proc / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def tree_pids(master: int, proc: Path = Path("/proc")) -> list[int]:
    """Pids of the direct children of ``master`` (gunicorn workers are direct children)."""
    children = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        stat = read_stat(int(entry.name), proc)
        if stat is not None and stat.ppid == master and stat.state != "Z":
            children.append(stat.pid)
    return children


def master_pid() -> int:
    """The gunicorn master when running under gunicorn_conf, else this process."""
    raw = os.environ.get(MASTER_PID_ENV, "")
    if raw.isdigit() and int(raw) == os.getppid():
        return int(raw)
    return os.getpid()


class ProcessTreeCollector(Collector):
    """Prometheus collector summing process metrics over the gunicorn master and its workers."""

    def __init__(self, proc: Path = Path("/proc")) -> None:
        self._proc = proc

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        master = master_pid()
        root = read_stat(master, self._proc)
        if root is None:
            return
        if master == os.getpid():
            workers = [root]
        else:
            workers = [s for p in tree_pids(master, self._proc) if (s := read_stat(p, self._proc))]
        tree = [root, *(w for w in workers if w.pid != root.pid)]

        cpu = CounterMetricFamily(
            "app_process_cpu_seconds", "User+system CPU seconds of the gunicorn master and its workers."
        )
        cpu.add_metric([], sum(s.cpu_seconds for s in tree) + root.children_cpu_seconds)
        yield cpu
        rss = GaugeMetricFamily(
            "app_process_resident_memory_bytes", "Resident memory of the gunicorn master and its workers."
        )
        rss.add_metric([], float(sum(s.rss_bytes for s in tree)))
        yield rss
        start = GaugeMetricFamily(
            "app_process_start_time_seconds", "Start time of the gunicorn master, unix seconds."
        )
        start.add_metric([], boot_time(self._proc) + root.start_ticks / _CLOCK_TICKS)
        yield start
        count = GaugeMetricFamily("app_workers", "Live gunicorn worker processes.")
        count.add_metric([], float(len(workers)))
        yield count

