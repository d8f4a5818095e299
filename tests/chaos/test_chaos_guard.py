"""Faults refuse targets the stack did not start, and bad arguments before anything runs (no stack)."""

from __future__ import annotations

import os

import pytest
from chaostest_support import FakeBackend, fake_info

from alertdrill.chaos import fault_class
from alertdrill.chaos.guard import StackGuard
from alertdrill.errors import ConfigError, ForeignTargetError, StackNotRunningError

AppErrors = fault_class("app-errors")
PgConnectionHold = fault_class("pg-connections")
PgExporterError = fault_class("pg-exporter-error")
PgLockContention = fault_class("pg-lock-contention")
RedisClientFlood = fault_class("redis-client-flood")
RedisMemoryFill = fault_class("redis-memory-fill")
ServiceKill = fault_class("service-kill")


@pytest.fixture
def backend(tmp_path):
    return FakeBackend(fake_info(tmp_path, with_self_as="redis"))


@pytest.mark.parametrize(("dsn", "why"), [
    ("postgresql://postgres@10.1.2.3:15432/alertdrill", "not loopback"),
    ("postgresql://postgres@db.example.com:15432/alertdrill", "not loopback"),
    ("postgresql://postgres@127.0.0.1:5432/alertdrill", "port 5432"),
    ("postgresql://postgres@127.0.0.1/alertdrill", "port (default)"),
    ("host=/var/run/postgresql port=15432 dbname=alertdrill", "Unix socket"),
    ("dbname=alertdrill port=15432", "names no host"),
    ("host=127.0.0.1 hostaddr=10.0.0.9 port=15432", "not loopback"),
    ("postgresql://postgres@127.0.0.1:15432,10.0.0.1:15432/alertdrill", "several hosts"),
])
def test_foreign_postgres_dsns_are_refused(backend, dsn, why):
    with pytest.raises(ForeignTargetError) as info:
        PgConnectionHold(backend=backend, fraction=0.8, dsn=dsn)
    assert why in str(info.value)


def test_the_stacks_own_dsn_and_localhost_are_accepted(backend):
    assert PgConnectionHold(backend=backend).dsn == backend.info.postgres_dsn
    fault = PgExporterError(backend=backend, dsn="host=localhost port=15432 dbname=alertdrill user=postgres")
    assert "15432" in fault.dsn


@pytest.mark.parametrize(("url", "why"), [
    ("redis://192.168.1.10:16379/0", "not loopback"),
    ("redis://127.0.0.1:6379/0", "port 6379"),
    ("rediss://127.0.0.1:16379/0", "must use redis://"),
    ("unix:///tmp/redis.sock", "must use redis://"),
])
def test_foreign_redis_urls_are_refused(backend, url, why):
    with pytest.raises(ForeignTargetError) as info:
        RedisMemoryFill(backend=backend, url=url)
    assert why in str(info.value)


def test_foreign_pids_and_reused_pids_are_refused(tmp_path):
    info = fake_info(tmp_path, with_self_as="redis")
    guard = StackGuard(info)
    assert guard.pid(os.getpid(), "redis") == os.getpid()
    with pytest.raises(ForeignTargetError, match="pid 1 is not a process of stack 'unit'"):
        guard.pid(1)
    with pytest.raises(ForeignTargetError, match="belongs to redis, not to postgres"):
        guard.pid(os.getpid(), "postgres")
    info.processes["redis"].start_ticks += 1  # same pid, another process: recycled
    with pytest.raises(ForeignTargetError, match="pid reused"):
        guard.pid(os.getpid())


def test_http_urls_must_be_the_components_own(tmp_path):
    guard = StackGuard(fake_info(tmp_path))
    assert guard.http_url("http://127.0.0.1:18000/status", "app")
    with pytest.raises(ForeignTargetError, match="runs app on port 18000"):
        guard.http_url("http://127.0.0.1:19090/", "app")
    with pytest.raises(ForeignTargetError, match="not loopback"):
        guard.http_url("http://example.com:18000/", "app")


def test_unknown_components_are_a_config_error(backend):
    with pytest.raises(ConfigError, match=r"component must be one of postgres, redis, .*, got 'mysql'"):
        ServiceKill(backend=backend, component="mysql")
    with pytest.raises(ConfigError, match=r"unknown component 'alertmanager'; stack 'unit' has redis"):
        ServiceKill(backend=backend, component="alertmanager")  # a component this stack did not start


@pytest.mark.parametrize(("build", "message"), [
    (lambda b: PgConnectionHold(backend=b, fraction=1.5), "fraction must be a number in (0..1], got 1.5"),
    (lambda b: PgConnectionHold(backend=b, fraction=0), "fraction must be a number in (0..1], got 0"),
    (lambda b: PgConnectionHold(backend=b, fraction="0.8"), "fraction must be a number in (0..1], got '0.8'"),
    (lambda b: RedisMemoryFill(backend=b, policy="allkeys-fifo"), "policy must be one of"),
    (lambda b: RedisClientFlood(backend=b, clients=0), "clients must be an integer in [1..5000], got 0"),
    (lambda b: RedisClientFlood(backend=b, clients=True), "clients must be an integer"),
    (lambda b: AppErrors(backend=b, ratio=float("nan")), "ratio must be a number in (0..1], got nan"),
    (lambda b: PgLockContention(backend=b, table="items; DROP TABLE x"), "table must be 'name' or 'schema.name'"),
    (lambda b: PgExporterError(backend=b, role="x y"), "role must be a plain identifier"),
    (lambda b: PgConnectionHold(backend=b, max_duration=0), "max_duration must be a number in (0..3600], got 0"),
    (lambda b: PgConnectionHold(backend=b, fractoin=0.5), "takes no parameter 'fractoin'; did you mean fraction?"),
    (lambda b: ServiceKill(backend=b), "needs the parameter component: str"),
])
def test_bad_arguments_are_refused_before_anything_runs(backend, build, message):
    with pytest.raises(ConfigError) as info:
        build(backend)
    assert message in str(info.value)


def test_a_backend_without_a_started_stack_is_refused(tmp_path):
    backend = FakeBackend(fake_info(tmp_path))
    backend.info = None
    with pytest.raises(StackNotRunningError, match="has not started a stack"):
        RedisMemoryFill(backend=backend)
    with pytest.raises(ConfigError, match="needs a stack backend"):
        RedisMemoryFill(backend=object())


class _Container:
    def __init__(self, pid: int, status: str, ours: bool = True) -> None:
        self.pid, self.status, self.ours = pid, status, ours

    def is_ours(self) -> bool:
        return self.ours

    def is_alive(self) -> bool:
        return self.status in ("running", "paused")

    def is_stopped(self) -> bool:
        return self.status == "paused"


class ContainerBackend(FakeBackend):
    """A backend whose components are containers: no local pids in StackInfo, ownership from its own view."""

    def __init__(self, info, ours: bool = True) -> None:
        super().__init__(info)
        self.containers = {name: _Container(4242, "running", ours) for name in info.ports}

    def process(self, component):
        return self.containers[component]

    def pause_component(self, component):
        self.containers[component].status = "paused"

    def resume_component(self, component):
        self.containers[component].status = "running"

    def is_running(self):
        return True


def test_service_faults_use_the_backends_view_for_containers(tmp_path, monkeypatch):
    ServicePause = fault_class("service-pause")
    from alertdrill.chaos import service as service_module

    backend = ContainerBackend(fake_info(tmp_path))
    monkeypatch.setattr(service_module.ServiceFault, "_wait_ready", lambda self: None)  # nothing listens here
    with ServicePause(backend=backend, component="postgres") as fault:
        evidence = fault.prove()
        assert evidence.facts["process_states"] == {"4242": "T"}
    assert backend.containers["postgres"].status == "running"
    assert "resumed postgres" in fault.records[-1].detail["output"]


def test_a_container_of_another_project_is_refused(tmp_path):
    ServiceStop = fault_class("service-stop")

    fault = ServiceStop(backend=ContainerBackend(fake_info(tmp_path), ours=False), component="redis")
    with pytest.raises(ForeignTargetError, match="does not belong to stack 'unit'"):
        fault.inject()
    assert fault.state == "new"
