"""The compose backend on a real Docker engine, with local stand-in images (no registry is reachable).

One engine for the module: the one that answers, else alertdrill's private dockerd (stopped at the
end with everything it ran). Then, as a user would: `pytest -m chaos --backend compose` runs three
drills (a service stop through the Docker API, a Postgres fault and a Redis fault over the published
ports) that fire, are delivered and resolve; a process injecting faults into a compose stack is
SIGKILLed mid-fault and the next run (`alertdrill recover`) reverts every fault; `down` leaves no
container, network or volume of ours, and the private daemon is gone after the module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
import requests
import yaml

from alertdrill.assertions.durations import parse_duration
from alertdrill.chaos import build_fault
from alertdrill.chaos.journal import Journal
from alertdrill.stack import layout
from alertdrill.stack.backends.compose import PROJECT_LABEL, STARTED_SERVICES, ComposeStack
from alertdrill.stack.backends.native import _monitoring_problem
from alertdrill.stack.components import Addresses, readiness_check
from alertdrill.stack.engine.daemon import (
    Engine,
    PrivateEngine,
    engine_answers,
    engine_dir,
    find_engine,
    provide_engine,
)
from alertdrill.stack.engine.images import ImageSet, build_images
from alertdrill.stack.rendering import StackTiming
from alertdrill.stack.state import read_state
from alertdrill.waiting import poll_until

REPO = layout.STACK_DIR.parent
#: One drill of each kind the issue names: a service stop, a Postgres fault, a Redis fault.
DRILLS = ("redis-down", "postgres-connections-warning", "redis-out-of-memory")
PYTEST_TIMEOUT = 900  # the inner run: compose up, three drills under load, down


class EngineHandle:
    """The module's engine; ``close()`` (idempotent) stops a private daemon."""

    def __init__(self) -> None:
        self._context = provide_engine()
        self.engine: Engine = self._context.__enter__()
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._context.__exit__(None, None, None)


@pytest.fixture(scope="module")
def engine_handle():
    if find_engine() is None and shutil.which("dockerd") is None:
        message = "no Docker engine answers and dockerd is not installed; `bash scripts/setup.sh --docker`"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it (make test asks for the Docker path)
        pytest.skip(message)
    handle = EngineHandle()
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def engine(engine_handle) -> Engine:
    return engine_handle.engine


@pytest.fixture(scope="module")
def images(engine) -> ImageSet:
    return build_images(engine)


def _ours(engine: Engine, project: str) -> dict[str, list[str]]:
    """Containers, networks and volumes that carry ``project``'s compose label."""
    client = engine.client()
    try:
        label = {"label": f"{PROJECT_LABEL}={project}"}
        return {"containers": [c.name for c in client.containers.list(all=True, filters=label)],
                "networks": [n.name for n in client.networks.list(filters=label)],
                "volumes": [v.name for v in client.volumes.list(filters=label)]}
    finally:
        client.close()


def _env(engine: Engine, home: Path, name: str) -> dict[str, str]:
    return {**os.environ, **engine.environment(), "ALERTDRILL_HOME": str(home), "ALERTDRILL_STACK_NAME": name,
            "ALERTDRILL_STACK": name, "ALERTDRILL_BACKEND": "compose", "PYTHONUNBUFFERED": "1"}


def test_three_drills_fire_deliver_and_resolve_on_compose(engine, images, tmp_path):
    """`pytest -m chaos --backend compose`: up, every target healthy, three drills pass, down."""
    home, reports = tmp_path / "home", tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", str(REPO / "scenarios"), "-k", " or ".join(DRILLS),
         "--backend", "compose", "--report-dir", str(reports), "-p", "no:cacheprovider", "-q"],
        cwd=REPO, env=_env(engine, home, "drills"), capture_output=True, text=True, timeout=PYTEST_TIMEOUT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"{len(DRILLS)} passed" in output, output[-4000:]
    summary = json.loads((reports / "summary.json").read_text())
    passed = {row["scenario"] for row in summary["results"] if row["status"] == "passed"}
    assert passed == set(DRILLS), summary
    assert _ours(engine, "alertdrill-drills") == {"containers": [], "networks": [], "volumes": []}
    assert not (home / "drills").exists()


_INJECTOR = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from alertdrill.chaos import Faults
    from alertdrill.chaos.backend import attach_backend

    faults = Faults(attach_backend(Path(sys.argv[1])), max_duration=600)
    for fault in (faults.build("service-pause", component="redis_exporter"), faults.build("pg-exporter-error"),
                  faults.build("network-cut", dependency="redis"), faults.build("prometheus-drop-job", job="postgres")):
        fault.inject()
        fault.prove()
    print("injected", flush=True)
    time.sleep(600)
""")


@pytest.fixture
def compose_stack(engine, images, tmp_path):
    stack = ComposeStack(name="dockerkill", home=tmp_path / "home", engine=engine, images=images,
                         timing=StackTiming(time_scale=60.0), owner_pid=os.getpid())
    with stack:
        yield stack
    assert _ours(engine, stack.project) == {"containers": [], "networks": [], "volumes": []}


def _assert_healthy_on_loopback(stack: ComposeStack, engine: Engine) -> None:
    """Every target up, every service serving (the native readiness probes) with no Docker healthcheck left
    running (compose.drill.yml), every port published on 127.0.0.1 only, no Grafana."""
    assert _monitoring_problem(stack.info.prometheus_url) is None
    client = engine.client()
    try:
        containers = client.containers.list(filters={"label": f"{PROJECT_LABEL}={stack.project}"})
    finally:
        client.close()
    addresses = Addresses(dict(stack.info.ports))
    for container in containers:
        assert container.attrs["State"].get("Health") is None, container.name  # no `runc exec` every 2 s
        service = container.labels["com.docker.compose.service"]
        assert readiness_check(service, addresses).probe() is None, service
        for bindings in (container.attrs["HostConfig"].get("PortBindings") or {}).values():
            assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}, (container.name, bindings)
    assert {c.labels["com.docker.compose.service"] for c in containers} == set(STARTED_SERVICES)


def _service_control_acts_on_the_real_containers(stack: ComposeStack) -> None:
    """stop, start, kill, restart, pause and start (= unpause) through the Docker API, seen by the process view."""
    first = stack.process("redis_exporter")
    assert first.is_alive() and not first.is_stopped() and first.is_ours() and first.pid > 0
    stack.stop_component("redis_exporter")
    assert (stack.process("redis_exporter").pid, stack.process("redis_exporter").is_alive()) == (0, False)
    started = stack.start_component("redis_exporter", timeout=60)
    assert started.is_alive() and started.pid != first.pid
    stack.stop_component("redis_exporter", kill=True)
    assert not stack.process("redis_exporter").is_alive()
    assert stack.restart_component("redis_exporter", timeout=60).is_alive()
    stack.pause_component("redis_exporter")
    assert stack.process("redis_exporter").is_stopped() and stack.process("redis_exporter").is_alive()
    unpaused = stack.start_component("redis_exporter", timeout=60)
    assert unpaused.is_alive() and not unpaused.is_stopped()
    with build_fault("network-latency", stack, max_duration=60, dependency="redis", latency_ms=250) as slow:
        assert slow.wait_until_proven(timeout=20).facts["through_link_seconds"] >= 0.25


def _scrape_timeout(stack: ComposeStack, job: str) -> float:
    """The job's scrape timeout in the Prometheus config the stack's container runs."""
    config = yaml.safe_load((Path(stack.info.run_dir) / "prometheus" / "prometheus.yml").read_text())
    (found,) = [j for j in config["scrape_configs"] if j["job_name"] == job]
    return parse_duration(found.get("scrape_timeout") or config["global"].get("scrape_timeout", "10s"))


#: Run in a container: resolve argv[1], print the getaddrinfo error code (0: resolved) and the seconds it took.
_LOOKUP = textwrap.dedent("""
    import socket, sys, time
    began, code = time.monotonic(), 0
    try:
        socket.getaddrinfo(sys.argv[1], 5432)
    except socket.gaierror as exc:
        code = exc.errno
    print(code, round(time.monotonic() - began, 3))
""")


def _stopped_postgres_reads_as_down_within_the_scrape(stack: ComposeStack) -> None:
    """With Postgres' container stopped, its name no longer resolves: the exporter must answer pg_up 0
    within the postgres job's scrape timeout, as natively (a refused connection), not wait on a DNS
    query forwarded off this machine, which turned the scrape itself into a failure (up 0)."""
    timeout = _scrape_timeout(stack, "postgres")
    stack.stop_component("postgres")
    try:
        began = time.monotonic()
        metrics = requests.get(Addresses(dict(stack.info.ports)).url("postgres_exporter") + "/metrics",
                               timeout=timeout + 5).text
        took = time.monotonic() - began
        assert re.search(r"^pg_up 0(\.0)?$", metrics, flags=re.M), metrics[-2000:]
        assert took < timeout, f"postgres_exporter took {took:.2f} s to say pg_up 0 (scrape timeout {timeout:g} s)"
        # The stopped service's name fails at once, answered by Docker's embedded server itself (an empty
        # answer: EAI_NODATA), not forwarded to the host's upstream resolver (NXDOMAIN: EAI_NONAME).
        lookup = stack.container("app").exec_run(["python", "-c", _LOOKUP, "postgres"])
        code, took = lookup.output.decode().split()
        assert int(code) == socket.EAI_NODATA, lookup.output
        assert float(took) < 1.0, lookup.output
    finally:
        stack.start_component("postgres", timeout=60)


def test_sigkill_mid_fault_is_reverted_by_the_next_run(compose_stack, engine, tmp_path):
    _assert_healthy_on_loopback(compose_stack, engine)
    _service_control_acts_on_the_real_containers(compose_stack)
    _stopped_postgres_reads_as_down_within_the_scrape(compose_stack)
    info = compose_stack.info
    run_dir = Path(info.run_dir)
    env = _env(engine, Path(info.run_dir).parent, "dockerkill")
    child = subprocess.Popen([sys.executable, "-c", _INJECTOR, str(run_dir)], env=env, cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "injected", child.stderr.read() if child.poll() is not None else line
        entries, _ = Journal(run_dir / "faults").scan()
        assert sorted(e.kind for e in entries) == ["network-cut", "pg-exporter-error", "prometheus-drop-job",
                                                   "service-pause"]
        assert compose_stack.process("redis_exporter").is_stopped()  # paused through the Docker API
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    # Still in effect after the SIGKILL: nobody reverted anything.
    assert compose_stack.process("redis_exporter").is_stopped()
    assert json.loads((run_dir / "links" / "redis.json").read_text())

    recovered = subprocess.run([sys.executable, "-m", "alertdrill.cli", "recover"], env=env, cwd=REPO,
                               capture_output=True, text=True, timeout=300)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert recovered.stdout.count("reverted:") == 4, recovered.stdout
    assert Journal(run_dir / "faults").scan()[0] == []
    assert not compose_stack.process("redis_exporter").is_stopped()
    assert compose_stack.process("redis_exporter").is_alive()
    # The exporter's queries work again, and the API reaches Redis through its link.
    with redis.Redis.from_url(info.redis_url, socket_timeout=5) as client:
        assert client.ping()
    assert requests.get(info.app_url + "/status", timeout=5).status_code == 200
    assert read_state(run_dir).docker_host == engine.host
    # The postgres job is scraped again, every target up (within a few scrape intervals of the revert).
    healthy, problem = poll_until(lambda: _monitoring_problem(info.prometheus_url), timeout=30, interval=0.5,
                                  accept=lambda p: p is None)
    assert healthy, problem


def test_images_build_command_reports_the_cached_stand_ins(engine, images, tmp_path):
    result = subprocess.run([sys.executable, "-m", "alertdrill.cli", "images", "build"], cwd=REPO,
                            env=_env(engine, tmp_path, "images"), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for variable, tag in images.environment().items():
        assert f"{variable}={tag}" in result.stdout


def test_down_leaves_no_daemon_of_ours(engine_handle):
    engine = engine_handle.engine
    engine_handle.close()
    if engine.private:
        private = PrivateEngine(engine_dir())
        assert not engine_answers(engine.host)
        assert not private.pidfile.exists() and not private.ownerfile.exists() and not private.socket.exists()
        assert not _dockerd_running(engine_dir())
    else:
        assert [p for p in _ours(engine, "alertdrill-dockerkill").values() if p] == []


def _dockerd_running(directory: Path) -> bool:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline and cmdline[0].endswith(b"dockerd") and str(directory).encode() in b" ".join(cmdline):
                return True
    return False
