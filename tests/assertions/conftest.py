"""Fixtures for the observation layer's tests.

``live`` starts a real Prometheus and Alertmanager plus the notification sink (as its own process,
exactly as the native stack runs it) on free loopback ports in a temp dir, with a one-rule setup
whose alert the test switches on and off through a prometheus_client gauge. Everything started
here is stopped here, newest first, even when a start fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from alertdrill.assertions.alertmanager import AlertmanagerClient
from alertdrill.assertions.notifications import SinkClient
from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.errors import ObservationError
from alertdrill.stack.ports import free_ports

PROMETHEUS = os.environ.get("ALERTDRILL_PROMETHEUS", "/usr/bin/prometheus")
ALERTMANAGER = os.environ.get("ALERTDRILL_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
START_TIMEOUT = 30.0

RULES = """\
groups:
  - name: alertdrill-assertions-test
    interval: 1s
    rules:
      - alert: TestSwitchOn
        expr: alertdrill_test_switch == 1
        for: 2s
        labels: {severity: warning}
        annotations: {summary: "the test switch is on"}
      - alert: TestSwitchNever
        expr: alertdrill_test_switch == 42
        for: 1s
        labels: {severity: warning}
      - alert: TestSwitchHigh
        expr: alertdrill_test_switch == 2
        labels: {severity: critical}
      - alert: TestSwitchInhibited
        expr: alertdrill_test_switch >= 2
        labels: {severity: warning}
      - alert: TestMissingMetric
        expr: sum by (job) (rate(alertdrill_metric_that_does_not_exist_total[1m])) > 0 and on(job) up == 1
        labels: {severity: critical}
"""

PROMETHEUS_YML = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{am}"]}}]
rule_files: [rules.yml]
scrape_configs:
  - job_name: switch
    static_configs: [{{targets: ["127.0.0.1:{switch}"]}}]
  - job_name: sink
    scrape_interval: 1s
    static_configs: [{{targets: ["127.0.0.1:{sink}"]}}]
"""

ALERTMANAGER_YML = """\
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['severity="warning"']
      receiver: warning
    - matchers: ['severity="critical"']
      receiver: critical
inhibit_rules:
  - source_matchers: [alertname="TestSwitchHigh"]
    target_matchers: [alertname="TestSwitchInhibited"]
    equal: [job]
receivers:
{receivers}
"""


def wait_until(what: str, check: Callable[[], bool], timeout: float, log: Path | None = None) -> None:
    """Poll ``check`` on a monotonic clock; fail with what was awaited and the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)  # readiness poll pacing, not synchronisation
    tail = log.read_text(errors="replace").splitlines()[-15:] if log and log.exists() else []
    raise RuntimeError(f"{what} not ready within {timeout:g} s; log tail:\n" + "\n".join(tail))


@contextlib.contextmanager
def process(name: str, argv: list[str], workdir: Path, ready: Callable[[], bool]) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` with output to ``workdir/name.log``; yield once ``ready``; always terminate it."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
    try:
        def alive_and_ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; log:\n{log.read_text(errors='replace')}")
            return ready()

        wait_until(name, alive_and_ready, START_TIMEOUT, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Live:
    """The running test stack and clients for it."""

    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient
    sink: SinkClient
    switch: Gauge | None
    workdir: Path
    sink_port: int


@contextlib.contextmanager
def observation_stack(workdir: Path, rules: str, registry: CollectorRegistry,
                      prometheus_flags: tuple[str, ...] = ()) -> Iterator[Live]:
    """Prometheus (scraping ``registry`` as job ``switch``, with ``rules``), Alertmanager and the sink."""
    for binary in (PROMETHEUS, ALERTMANAGER):
        if not shutil.which(binary):
            pytest.skip(f"{binary} not installed (Debian packages prometheus, prometheus-alertmanager)")
    prom_port, am_port, sink_port = free_ports(3)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    switch_port = server.server_address[1]
    receivers = "\n".join(
        f"  - name: {name}\n    webhook_configs:\n      - url: http://127.0.0.1:{sink_port}/{name}\n"
        f"        send_resolved: true" for name in ("default", "warning", "critical"))
    (workdir / "rules.yml").write_text(rules)
    (workdir / "prometheus.yml").write_text(PROMETHEUS_YML.format(am=am_port, switch=switch_port, sink=sink_port))
    (workdir / "alertmanager.yml").write_text(ALERTMANAGER_YML.format(receivers=receivers))
    prom = PrometheusClient(f"http://127.0.0.1:{prom_port}", timeout=2)
    am = AlertmanagerClient(f"http://127.0.0.1:{am_port}", timeout=2)
    sink = SinkClient(f"http://127.0.0.1:{sink_port}", timeout=2)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(process("sink", [
                sys.executable, "-m", "alertdrill.assertions.sink", "--host", "127.0.0.1", "--port", str(sink_port),
                "--journal", str(workdir / "notifications.jsonl")], workdir, sink.ready))
            stack.enter_context(process("alertmanager", [
                ALERTMANAGER, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="], workdir, am.ready))
            stack.enter_context(process("prometheus", [
                PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}", "--web.enable-lifecycle", *prometheus_flags],
                workdir, prom.ready))
            wait_until("first scrape of the switch and first rule evaluation", lambda: _warm(prom), START_TIMEOUT,
                       workdir / "prometheus.log")
            yield Live(prom, am, sink, None, workdir, sink_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        for client in (prom, am, sink):
            client.close()


@pytest.fixture(scope="session")
def start_stack() -> Callable[..., contextlib.AbstractContextManager[Live]]:
    """:func:`observation_stack`, for a test module with its own rules and exporter."""
    return observation_stack


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    registry = CollectorRegistry()
    switch = Gauge("alertdrill_test_switch", "Set by the test to make TestSwitchOn fire.", registry=registry)
    switch.set(0)
    with observation_stack(tmp_path_factory.mktemp("observation-stack"), RULES, registry) as stack:
        stack.switch = switch
        yield stack


def _warm(prom: PrometheusClient) -> bool:
    """Both targets scraped and the rule group evaluated once: the precondition can hold."""
    try:
        rules = prom.rules()
        return len(prom.query("up == 1")) == 2 and bool(rules) and all(r.group_last_evaluation for r in rules)
    except ObservationError:
        return False


# --- fakes, for error paths only --------------------------------------------------------------------
@dataclass
class FakeServer:
    url: str
    requests: list[str]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that timed out on a delayed answer (what those tests do) is expected, not a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def fake_server() -> Iterator[Callable[[int, bytes, str, float], FakeServer]]:
    """Start loopback servers that answer every request with a fixed status/body (after ``delay`` s)."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, body: bytes, content_type: str = "application/json", delay: float = 0.0) -> FakeServer:
        seen: list[str] = []
        stop = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                seen.append(self.path)
                if delay:
                    stop.wait(delay)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.stop_event = stop  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return FakeServer(f"http://127.0.0.1:{server.server_address[1]}", seen)

    yield start
    for server in servers:
        server.stop_event.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
