"""The compose backend against a fake Docker Engine API (no engine can run on our machines)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import docker
import pytest
import yaml
from fake_docker import FakeContainer, FakeDockerServer, on_call

from alertdrill.errors import ConfigError, FaultInjectError, ForeignTargetError, StackStartError
from alertdrill.stack.backends.base import Backend, supports_service_faults
from alertdrill.stack.backends.compose import COMPOSE_FILE, SERVICES, ComposeStack, port_variable
from alertdrill.stack.components import LINKS, link_control
from alertdrill.stack.engine.compose_cli import compose_command
from alertdrill.stack.engine.images import IMAGE_SERVICES, ImageSet, image_variable
from alertdrill.stack.rendering import StackTiming
from alertdrill.stack.state import read_state
from alertdrill.waiting import poll_until

PROJECT = "alertdrill-cdev"


@pytest.fixture
def fake():
    with FakeDockerServer() as server:
        yield server


@pytest.fixture
def client(fake):
    api = docker.DockerClient(base_url=fake.base_url, timeout=5)
    yield api
    api.close()


def _compose_up(fake, **per_service):
    """A runner whose `up` creates the project's containers, as compose would."""

    def hook(argv: list[str]) -> None:
        if "up" in argv:
            for service in SERVICES:
                fake.engine.add_service(PROJECT, service, **per_service.get(service, {}))
        if "down" in argv:
            for cid in [c.id for c in fake.engine.containers.values()
                        if c.labels.get("com.docker.compose.project") == PROJECT]:
                del fake.engine.containers[cid]

    return on_call(fake.engine, hook)


def _stack(tmp_path: Path, client, runner, **kwargs) -> ComposeStack:
    return ComposeStack(name="cdev", home=tmp_path, client=client, runner=runner,
                        monitoring_problem=lambda url: None, timing=StackTiming(time_scale=60.0), **kwargs)


def test_start_runs_compose_with_rendered_configs_and_stop_tears_down(tmp_path, fake, client):
    runner = _compose_up(fake)
    stack = _stack(tmp_path, client, runner, startup_timeout=10)
    with stack as info:
        argv, env = runner.calls[0]
        assert tuple(argv[:len(compose_command())]) == compose_command() and argv[argv.index("-p") + 1] == PROJECT
        assert argv[argv.index("-f") + 1].endswith("docker-compose.yml")
        assert argv[-4:] == ["up", "-d", "--build", "--remove-orphans"]
        assert env["ALERTDRILL_COMPOSE_PROJECT"] == PROJECT
        for service in SERVICES:
            assert env[port_variable(service)] == str(info.ports[service])
        assert info.prometheus_url == f"http://127.0.0.1:{info.ports['prometheus']}"
        assert info.postgres_dsn.startswith(f"postgresql://postgres@127.0.0.1:{info.ports['postgres']}/alertdrill")
        assert info.backend == "compose" and info.processes == {}
        prom_dir = Path(env["ALERTDRILL_PROMETHEUS_CONFIG_DIR"])
        prom = yaml.safe_load((prom_dir / env["ALERTDRILL_PROMETHEUS_CONFIG_NAME"]).read_text())
        targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in prom["scrape_configs"]}
        assert targets["postgres"] == ["postgres_exporter:9187"]
        assert prom["global"]["scrape_interval"] == "1s"
        assert prom["rule_files"] == ["/etc/prometheus/rules/*.yml"]
        assert sorted(p.name for p in (prom_dir / "rules").glob("*.yml"))  # /etc/prometheus/rules in the container
        am = yaml.safe_load(Path(env["ALERTDRILL_ALERTMANAGER_CONFIG"]).read_text())
        assert {h["url"] for r in am["receivers"] for h in r["webhook_configs"]} == {
            "http://sink:9095/critical", "http://sink:9095/warning"}
        assert Path(env["ALERTDRILL_APP_FAULT_DIR"]) == info.fault_file.parent
        for link, target in LINKS.items():
            assert info.ports[link] == int(env[port_variable(link)]), link
            assert Path(env["ALERTDRILL_LINKS_DIR"]) == link_control(stack.run_dir, target).parent
        assert Path(env["ALERTDRILL_LINKS_DIR"]).is_dir()
        assert Path(env["ALERTDRILL_LINKS_DIR"]).stat().st_mode & 0o755 == 0o755  # the container user reads it
        # The API's DSN goes through its link, as on the native backend; the exporters' does not.
        assert f"@127.0.0.1:{info.ports['postgres_link']}/" in info.app_postgres_dsn
        assert f"@127.0.0.1:{info.ports['postgres']}/" in info.exporter_postgres_dsn
        assert read_state(stack.run_dir).backend == "compose"
        assert {"alert": "*", "what": "prometheus scrape_interval", "shipped": "15s", "tested": "1s",
                "why": "fast test run"} in info.differences
    assert runner.calls[-1][0][-5:] == ["down", "-v", "--remove-orphans", "--timeout", "10"]
    assert not stack.run_dir.exists()
    assert fake.engine.posts() == []  # starting and stopping go through compose, not the API


def test_start_waits_for_healthchecks(tmp_path, fake, client):
    runner = _compose_up(fake, app={"health": ["starting", "starting", "starting", "healthy"]})
    with _stack(tmp_path, client, runner, startup_timeout=20):
        inspections = [r for r in fake.engine.requests if r[1] == f"/containers/{PROJECT}-app-id/json"]
        assert len(inspections) >= 4


def test_unhealthy_service_fails_start_with_its_healthcheck_and_log(tmp_path, fake, client):
    runner = _compose_up(fake, redis={"health": ["unhealthy"], "health_output": "Could not connect to Redis",
                                      "log": "Fatal: Can't open the log file"})
    stack = _stack(tmp_path, client, runner, startup_timeout=1.5)
    with pytest.raises(StackStartError) as err:
        stack.start()
    message = str(err.value)
    assert "redis" in message and "health unhealthy" in message
    assert "Could not connect to Redis" in message and "Can't open the log file" in message
    assert "down" in runner.calls[-1][0]  # cleaned up
    assert not stack.run_dir.exists()


def test_exited_service_fails_fast(tmp_path, fake, client):
    runner = _compose_up(fake, postgres={"status": "exited", "log": "FATAL: invalid value for parameter"})
    with pytest.raises(StackStartError, match="compose service postgres exited during start-up") as err:
        _stack(tmp_path, client, runner, startup_timeout=30).start()
    assert "invalid value for parameter" in str(err.value)


def test_compose_failure_and_missing_docker_cli(tmp_path, client):
    def failing(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 1, stdout="", stderr="pull access denied for alertdrill-app")

    with pytest.raises(StackStartError, match="pull access denied"):
        _stack(tmp_path, client, failing).start()

    def missing(argv, **kwargs):
        raise FileNotFoundError("docker")

    with pytest.raises(StackStartError, match="is not installed; install Docker Compose v2") as err:
        _stack(tmp_path, client, missing).start()
    assert any("cleaning up also failed" in note for note in getattr(err.value, "__notes__", []))


def test_monitoring_must_become_healthy(tmp_path, fake, client):
    stack = ComposeStack(name="cdev", home=tmp_path, client=client, runner=_compose_up(fake), startup_timeout=1,
                         monitoring_problem=lambda url: "targets not up: postgres (connection refused)")
    with pytest.raises(StackStartError, match=r"targets not up: postgres \(connection refused\)"):
        stack.start()


@pytest.fixture
def controlled(tmp_path, fake, client):
    for service in SERVICES:
        fake.engine.add_service(PROJECT, service)
    return _stack(tmp_path, client, _compose_up(fake))


def test_is_a_backend_with_service_faults(controlled):
    assert isinstance(controlled, Backend)
    assert supports_service_faults(controlled)


def test_stop_kill_pause_resume_start_restart_hit_the_right_container(controlled, fake):
    cid = f"{PROJECT}-redis-id"
    controlled.stop_component("redis")
    assert fake.engine.posts()[-1][:2] == ("POST", f"/containers/{cid}/stop")
    assert fake.engine.posts()[-1][2]["t"] == "10"
    assert fake.engine.containers[cid].status == "exited"
    controlled.start_component("redis", timeout=5)
    assert fake.engine.posts()[-1][1] == f"/containers/{cid}/start"
    controlled.stop_component("redis", kill=True)
    assert fake.engine.posts()[-1][1:] == (f"/containers/{cid}/kill", {"signal": "SIGKILL"})
    controlled.restart_component("redis", timeout=5)
    assert fake.engine.posts()[-1][1] == f"/containers/{cid}/restart"
    controlled.pause_component("redis")
    assert fake.engine.posts()[-1][1] == f"/containers/{cid}/pause"
    controlled.resume_component("redis")
    assert fake.engine.posts()[-1][1] == f"/containers/{cid}/unpause"
    assert fake.engine.containers[cid].status == "running"


def test_start_component_unpauses_a_paused_container(controlled, fake):
    controlled.pause_component("postgres")
    controlled.start_component("postgres", timeout=5)
    assert fake.engine.posts()[-1][1] == f"/containers/{PROJECT}-postgres-id/unpause"


def test_container_of_another_project_is_never_touched(controlled, fake):
    other = fake.engine.add_service("someone-else", "redis")
    controlled.stop_component("redis")
    assert other.status == "running"
    assert fake.engine.posts()[-1][1] == f"/containers/{PROJECT}-redis-id/stop"
    with pytest.raises(ForeignTargetError, match="it belongs to someone-else") as err:
        controlled.stop_component(other.name)
    assert "com.docker.compose.project=alertdrill-cdev" in str(err.value)


@pytest.mark.parametrize("call", [
    lambda s: s.stop_component("prod-db"),
    lambda s: s.stop_component("prod-db", kill=True),
    lambda s: s.pause_component("prod-db"),
    lambda s: s.resume_component("prod-db"),
    lambda s: s.start_component("prod-db"),
    lambda s: s.restart_component("prod-db"),
])
def test_unlabelled_container_is_refused_before_any_api_action(controlled, fake, call):
    fake.engine.add(FakeContainer(id="f00dfeed", name="prod-db", labels={}))
    before = len(fake.engine.posts())
    with pytest.raises(ForeignTargetError, match="prod-db is not part of compose project alertdrill-cdev"):
        call(controlled)
    assert len(fake.engine.posts()) == before
    assert fake.engine.containers["f00dfeed"].status == "running"


def test_own_container_can_be_named_directly(controlled, fake):
    controlled.pause_component(f"{PROJECT}-app-1")
    assert fake.engine.posts()[-1][1] == f"/containers/{PROJECT}-app-id/pause"


def test_unknown_target_lists_the_services(controlled):
    with pytest.raises(ConfigError, match="services are postgres, redis, postgres_link, redis_link, sink"):
        controlled.stop_component("mysql")


def test_engine_refusal_becomes_a_fault_inject_error(controlled, fake):
    fake.engine.containers[f"{PROJECT}-redis-id"].refuse.add("pause")
    with pytest.raises(FaultInjectError, match=r"Docker API refused to pause redis .*injected error"):
        controlled.pause_component("redis")


def test_restart_waits_for_health_and_explains_a_timeout(controlled, fake):
    container = fake.engine.containers[f"{PROJECT}-sink-id"]
    container.health = ["starting"]
    container.health_output = "connection refused"
    with pytest.raises(StackStartError, match=r"compose services sink not healthy in time .*connection refused"):
        controlled.restart_component("sink", timeout=1)


def test_process_view_matches_the_chaos_backend_protocol(controlled, fake):
    from alertdrill.chaos.backend import Backend as ChaosBackend

    assert isinstance(controlled, ChaosBackend)
    proc = controlled.process("postgres")
    assert (proc.pid, proc.is_alive(), proc.is_stopped(), proc.is_ours()) == (4242, True, False, True)
    controlled.pause_component("postgres")
    assert controlled.process("postgres").is_stopped()
    controlled.stop_component("postgres", kill=True)
    gone = controlled.process("postgres")
    assert (gone.pid, gone.is_alive()) == (0, False)
    new = controlled.start_component("postgres", timeout=5)
    assert new.is_alive() and new.pid == 4243
    assert controlled.restart_component("postgres", timeout=5).pid == 4244


# -- the links: docker-compose.yml's variables and the network faults ----------------------------------

_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def _interpolate(text: str, env: dict[str, str]) -> str:
    """``text`` as `docker compose` interpolates it with ``env``."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(2) or ""), text)


def test_the_backend_sets_every_variable_the_compose_file_reads(tmp_path, fake, client):
    read = set(_VAR.findall(COMPOSE_FILE.read_text()))
    names = {name for name, _ in read} - {image_variable("grafana")}  # Grafana is the user's (profile grafana)
    images = ImageSet({service: f"alertdrill-{service}:standin-x" for service in IMAGE_SERVICES})
    stack = _stack(tmp_path, client, _compose_up(fake), images=images)
    with stack:
        env = stack.compose_environment()
    assert sorted(names - set(env)) == []
    assert {port_variable(service) for service in SERVICES} <= names


class _FakeRedis(socketserver.BaseRequestHandler):
    """Answers every read with +PONG: enough for chaos/network.py's inline PING."""

    def handle(self) -> None:
        with self.request:
            while self.request.recv(4096):
                self.request.sendall(b"+PONG\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _published(service: dict, env: dict[str, str], container_port: int) -> int:
    """The host port Docker publishes ``container_port`` of ``service`` on (127.0.0.1 only)."""
    for mapping in service["ports"]:
        host, port, inside = _interpolate(mapping, env).split(":")
        if int(inside) == container_port:
            assert host == "127.0.0.1"
            return int(port)
    raise AssertionError(f"container port {container_port} is not published")


def _link_as_docker_runs_it(services: dict, link: str, env: dict[str, str]) -> list[str]:
    """The link service's command, with the addresses and the bind mount Docker would put in between."""
    command = list(services[link]["command"])
    listen = command.index("--listen") + 1
    upstream = command.index("--upstream") + 1
    control = command.index("--control") + 1
    inside = int(command[listen].rsplit(":", 1)[1])
    command[listen] = f"127.0.0.1:{_published(services[link], env, inside)}"
    target, target_port = command[upstream].rsplit(":", 1)
    command[upstream] = f"127.0.0.1:{_published(services[target], env, int(target_port))}"
    path = Path(command[control])
    binds = [_interpolate(v, env).split(":") for v in services[link]["volumes"]]
    (source,) = [src for src, dst, *_ in binds if dst == str(path.parent)]
    command[control] = str(Path(source) / path.name)
    assert command[:3] == ["python", "-m", "alertdrill.stack.linkproxy"]
    return [sys.executable, *command[1:]]


def _ping(port: int) -> bytes:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64)
    except OSError:
        return b""


@pytest.fixture
def linked_redis(tmp_path, fake, client):
    """A compose stack (fake engine) whose redis and redis_link run for real, as Docker would run them."""
    runner = _compose_up(fake)
    stack = _stack(tmp_path, client, runner)
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    with stack as info:
        env = runner.calls[0][1]
        redis = _Server(("127.0.0.1", info.ports["redis"]), _FakeRedis)
        threading.Thread(target=redis.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        log = (tmp_path / "redis_link.log").open("w")
        proc = subprocess.Popen(_link_as_docker_runs_it(services, "redis_link", env), stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            up, _ = poll_until(lambda: proc.poll() is not None or _ping(info.ports["redis_link"]).startswith(b"+PONG"),
                               timeout=20)
            assert up and proc.poll() is None, (tmp_path / "redis_link.log").read_text()
            yield stack, info
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
            log.close()
            redis.shutdown()
            redis.server_close()


def test_network_faults_reach_the_link_containers(linked_redis):
    from alertdrill.chaos.network import NetworkCut, NetworkLatency

    stack, info = linked_redis
    link_port = info.ports["redis_link"]
    with NetworkCut(backend=stack, dependency="redis") as cut:
        assert json.loads(link_control(stack.run_dir, "redis").read_text()) == {"cut": True}
        evidence = cut.wait_until_proven(timeout=10)
        assert evidence.facts["through_link_answers"] is False and evidence.facts["direct_answers"] is True
    assert not link_control(stack.run_dir, "redis").exists()
    healed, _ = poll_until(lambda: _ping(link_port).startswith(b"+PONG"), timeout=10, interval=0.05)
    assert healed
    with NetworkLatency(backend=stack, dependency="redis", latency_ms=250) as slow:
        evidence = slow.wait_until_proven(timeout=10)
        assert evidence.facts["through_link_seconds"] >= 0.25
    assert not link_control(stack.run_dir, "redis").exists()


def test_stand_in_images_are_never_built_or_pulled(tmp_path, fake, client):
    runner = _compose_up(fake)
    images = ImageSet({service: f"alertdrill-{service}:standin-x" for service in IMAGE_SERVICES})
    with _stack(tmp_path, client, runner, images=images):
        argv, env = runner.calls[0]
        assert argv[-6:] == ["up", "-d", "--no-build", "--pull", "never", "--remove-orphans"]
        for service in IMAGE_SERVICES:
            assert env[image_variable(service)] == f"alertdrill-{service}:standin-x"


def test_missing_compose_is_one_line_and_leaves_no_state_file(tmp_path, client, monkeypatch):
    import importlib.util

    from alertdrill.stack.engine import compose_cli

    compose_cli.compose_command.cache_clear()
    monkeypatch.setattr(compose_cli.shutil, "which", lambda name: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    calls = []
    stack = _stack(tmp_path, client, lambda argv, **kw: calls.append(argv))
    try:
        with pytest.raises(compose_cli.ComposeMissingError) as err:
            stack.start()
    finally:
        compose_cli.compose_command.cache_clear()
    assert "\n" not in str(err.value) and "pip install 'alertdrill[docker]'" in str(err.value)
    assert calls == [] and not stack.run_dir.exists()
