"""How fast does ``delivered_to()`` see a notification, and what does the timeline cost Prometheus?

Starts a real Prometheus and Alertmanager (Debian's ``prometheus``, ``prometheus-alertmanager``) and
the sink process on free loopback ports in a temp dir, then:

1. idle phase: Prometheus' CPU and request rate with nobody polling;
2. poller phase: the same with only a :class:`Timeline` poller running (its cost);
3. latency phase: ~20 notifications, each made by switching one labelled gauge series on, with
   ``delivered_to()`` waiting for it. For each: the sink's receive time (the proxy for "left
   Alertmanager"), Alertmanager's own debug-log ``flushing`` time, and when ``delivered_to()`` returned.

Usage: ``python benchmarks/notification_latency.py [--notifications 20] [--phase-seconds 10]``
Goal: detection latency (sink receive -> delivered_to returns) < 100 ms; negligible Prometheus load.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.expectations import expect_alert
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.assertions.timeline import Timeline
from alertdrill.errors import ObservationError
from alertdrill.stack.ports import free_ports

PROMETHEUS, ALERTMANAGER = "/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager"

RULES = """\
groups:
  - name: bench
    interval: 1s
    rules:
      - alert: BenchSwitch
        expr: alertdrill_bench_switch == 1
        labels: {severity: warning}
"""
PROMETHEUS_YML = """\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
alerting: {{alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am}"]}}]}}]}}
rule_files: [rules.yml]
scrape_configs:
  - {{job_name: bench, static_configs: [{{targets: ["127.0.0.1:{gauge}"]}}]}}
  - {{job_name: prometheus, static_configs: [{{targets: ["127.0.0.1:{prom}"]}}]}}
"""
ALERTMANAGER_YML = """\
route: {{receiver: bench, group_by: [alertname, n], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
receivers:
  - {{name: bench, webhook_configs: [{{url: "http://127.0.0.1:{sink}/bench", send_resolved: true}}]}}
"""
FLUSH = re.compile(r'^ts=(\S+) .*msg=flushing alerts=\[BenchSwitch\[[0-9a-f]+\]\[active\]\]')
GROUP_N = re.compile(r'n=\\"(\d+)\\"')


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except ObservationError:
            pass
        time.sleep(0.05)  # readiness poll pacing
    raise SystemExit(f"{what} not ready within {timeout:g} s")


@contextlib.contextmanager
def process(name: str, argv: list[str], workdir: Path, ready: Callable[[], bool]) -> Iterator[Path]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
    try:
        wait_for(name, lambda: proc.poll() is None and ready())
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stats(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (f"n={len(ms)} min={ms[0]:.1f} median={statistics.median(ms):.1f} p95={p95:.1f} max={ms[-1]:.1f} ms")


def prometheus_load(prom: PrometheusClient, seconds: float, label: str) -> tuple[float, float]:
    """Prometheus CPU share and /api/v1/alerts request rate over ``seconds`` (from its own counters)."""
    def read() -> tuple[float, float]:
        cpu = prom.query('process_cpu_seconds_total{job="prometheus"}')[0].value
        hits = prom.query('sum(prometheus_http_requests_total{handler="/api/v1/alerts"})')
        return cpu, hits[0].value if hits else 0.0

    time.sleep(1.5)  # let the self-scrape see the previous phase end (scrape interval 1 s)
    cpu0, req0 = read()
    started = time.monotonic()
    time.sleep(seconds)  # the measurement window itself
    time.sleep(1.5)
    cpu1, req1 = read()
    elapsed = time.monotonic() - started
    cpu_share, rate = (cpu1 - cpu0) / elapsed, (req1 - req0) / elapsed
    print(f"{label:<28} Prometheus CPU {cpu_share * 100:5.2f} %   /api/v1/alerts {rate:5.2f} req/s")
    return cpu_share, rate


def flush_times(log: Path) -> dict[int, float]:
    """Alertmanager's ``flushing`` debug-log time per ``n`` label (the notification leaves after it)."""
    out: dict[int, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        match, group = FLUSH.match(line), GROUP_N.search(line)
        if match and group and int(group.group(1)) not in out:
            out[int(group.group(1))] = datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=20)
    parser.add_argument("--phase-seconds", type=float, default=10.0)
    args = parser.parse_args()
    for binary in (PROMETHEUS, ALERTMANAGER):
        if not shutil.which(binary):
            raise SystemExit(f"{binary} not found; apt-get install prometheus prometheus-alertmanager")
    registry = CollectorRegistry()
    gauge = Gauge("alertdrill_bench_switch", "benchmark switch", ["n"], registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    prom_port, am_port, sink_port = free_ports(3)
    ports = {"prom": prom_port, "am": am_port, "sink": sink_port, "gauge": server.server_address[1]}
    prom = PrometheusClient(f"http://127.0.0.1:{ports['prom']}")
    am = AlertmanagerClient(f"http://127.0.0.1:{ports['am']}")
    sink = SinkClient(f"http://127.0.0.1:{ports['sink']}")
    with tempfile.TemporaryDirectory(prefix="alertdrill-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        (work / "rules.yml").write_text(RULES)
        (work / "prometheus.yml").write_text(PROMETHEUS_YML.format(**ports))
        (work / "alertmanager.yml").write_text(ALERTMANAGER_YML.format(**ports))
        stack.callback(server.shutdown)
        stack.enter_context(process("sink", [sys.executable, "-m", "alertdrill.assertions.sink", "--port",
                                             str(ports["sink"]), "--log-level", "WARNING"], work, sink.ready))
        am_log = stack.enter_context(process("alertmanager", [
            ALERTMANAGER, f"--config.file={work / 'alertmanager.yml'}", f"--storage.path={work / 'am'}",
            f"--web.listen-address=127.0.0.1:{ports['am']}", "--cluster.listen-address=", "--log.level=debug"],
            work, am.ready))
        stack.enter_context(process("prometheus", [
            PROMETHEUS, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{ports['prom']}"], work, prom.ready))
        wait_for("first scrapes",
                 lambda: len(prom.query("up == 1")) == 2 and bool(prom.rules()[0].group_last_evaluation))

        print(f"Prometheus {prom.url}, Alertmanager {am.url}, sink {sink.url}")
        prometheus_load(prom, args.phase_seconds, "idle")
        timeline = Timeline(prometheus=prom, alertmanager=am, sink=sink, alerts=["BenchSwitch"])
        with timeline:
            started, before = time.monotonic(), timeline.prometheus.requests_made
            prometheus_load(prom, args.phase_seconds, "timeline poller running")
            poller_rate = (timeline.prometheus.requests_made - before) / (time.monotonic() - started)
            print(f"{'':<28} timeline poller: {poller_rate:.2f} req/s to Prometheus "
                  f"(poll interval {timeline.poll_interval} s), {timeline.polls} polls")

            alert = expect_alert("BenchSwitch", prometheus=prom, alertmanager=am, sink_client=sink, timeline=timeline)
            detection, from_flush, flush_to_sink, returned, received = [], [], [], {}, {}
            for n in range(args.notifications):
                since = time.time()
                gauge.labels(n=str(n)).set(1)
                outcome = alert.delivered_to("bench", labels={"n": str(n)}, since=since)
                returned[n] = time.time()
                received[n] = outcome.evidence.received_at
                detection.append(returned[n] - received[n])
            flushed = flush_times(am_log)
            for n, at in flushed.items():
                if n in returned:
                    from_flush.append(returned[n] - at)
                    flush_to_sink.append(received[n] - at)
        print(f"\ndelivered_to() detection, sink receive -> return: {stats(detection)}")
        if from_flush:
            print(f"Alertmanager flush log -> sink receive:          {stats(flush_to_sink)}")
            print(f"Alertmanager flush log -> delivered_to() return: {stats(from_flush)}")
            print("  (Alertmanager logs with millisecond precision; flush -> receive includes its notify pipeline)")
        else:
            print("Alertmanager flush times: not found in its debug log")
        print(f"timeline: {len(timeline.events())} events, {timeline.polls} polls")
        goal = max(detection) < 0.1
        print(f"goal < 100 ms: {'met' if goal else 'NOT met'}")
    thread.join(timeout=5)
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
