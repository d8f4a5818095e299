"""The compose backend against a fake Docker Engine API: only the error paths a real engine cannot produce on
demand, and what is passed to Compose. The happy paths run on a real engine in tests/docker/."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import docker
import pytest
import yaml
from fake_docker import FakeContainer, FakeDockerServer, on_call

from alertdrill.errors import ConfigError, FaultInjectError, ForeignTargetError, StackStartError
from alertdrill.stack.backends.base import Backend, supports_service_faults
from alertdrill.stack.backends.compose import (
    COMPOSE_FILE,
    DRILL_OVERRIDE,
    SERVICES,
    ComposeStack,
    drill_override,
    port_variable,
)
from alertdrill.stack.components import LINKS, link_control
from alertdrill.stack.engine.compose_cli import compose_command
from alertdrill.stack.engine.images import IMAGE_SERVICES, ImageSet, image_variable
from alertdrill.stack.readiness import Check
from alertdrill.stack.rendering import StackTiming
from alertdrill.stack.state import read_state

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


def _serving(service: str, addresses) -> Check:
    """Every service serves at once (the fake engine runs nothing on the published ports)."""
    return Check(f"{service} serving", lambda: None)


def _stack(tmp_path: Path, client, runner, **kwargs) -> ComposeStack:
    return ComposeStack(name="cdev", home=tmp_path, client=client, runner=runner, readiness=_serving,
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


def test_drill_runs_have_no_docker_healthchecks_and_start_in_dependency_order(tmp_path, fake, client):
    """compose.drill.yml: no healthcheck `runc exec` every 2 s for the stack's life, depends_on kept as order."""
    runner = _compose_up(fake)
    with _stack(tmp_path, client, runner) as info:
        argv, _ = runner.calls[0]
        files = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-f"]
        assert files == [str(COMPOSE_FILE), str(Path(info.run_dir) / DRILL_OVERRIDE)]
        override = yaml.safe_load(Path(files[1]).read_text())["services"]
    shipped = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert set(override) == set(shipped)
    for name, service in shipped.items():
        assert override[name]["healthcheck"] == {"test": ["NONE"]}, name
        assert override[name].get("depends_on", {}) == {
            dep: {"condition": "service_started"} for dep in service.get("depends_on", {})}, name
    assert drill_override({"services": {"a": {"depends_on": {"b": {"condition": "service_healthy"}}}}}) == {
        "services": {"a": {"healthcheck": {"test": ["NONE"]}, "depends_on": {"b": {"condition": "service_started"}}}}}
    assert runner.calls[-1][0].count("-f") == 2  # down sees the same project files


def test_a_service_that_never_serves_fails_start_with_its_probe(tmp_path, fake, client):
    def refusing(service: str, addresses) -> Check:
        return Check(f"{service} accepting", lambda: "connection refused" if service == "redis_link" else None)

    stack = ComposeStack(name="cdev", home=tmp_path, client=client, runner=_compose_up(fake), startup_timeout=1,
                         readiness=refusing, monitoring_problem=lambda url: None)
    with pytest.raises(StackStartError, match=r"compose service redis_link: not ready in time .*connection refused"):
        stack.start()
    assert not stack.run_dir.exists()


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
                         readiness=_serving,
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
