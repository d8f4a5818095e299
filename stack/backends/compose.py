"""The compose backend: the stack of docker-compose.yml, started with `docker compose`, faulted via the Docker API.

``docker compose up`` (a subprocess; Compose v2 as the CLI plugin or the standalone binary, see
stack/engine/compose_cli.py) starts the stack on the given engine (stack/engine/daemon.py), with
upstream images or the local stand-ins of stack/engine/images.py; everything after that goes through
the Docker SDK: waiting for the containers to run and serve, and the service faults (stop, kill, pause,
restart). A fault only ever touches a container that carries this stack's compose project label;
anything else raises ForeignTargetError before the API is asked to do anything.

Like the native backend, the stack runs the *shipped* configuration with only addresses and timings
changed: the time-scaled rules and configs are rendered into the run directory and mounted in place
of the shipped files (docker-compose.yml's ALERTDRILL_*_CONFIG variables). The run directory's
app/ (the API's fault switch) and links/ (the link proxies' control files, chaos/network.py) are
bound into the containers, so the faults that write those files work on both backends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
import yaml

from alertdrill.assertions.durations import format_duration
from alertdrill.errors import (
    ConfigError,
    FaultInjectError,
    ForeignTargetError,
    StackError,
    StackRunningError,
    StackStartError,
)
from alertdrill.stack import layout
from alertdrill.stack.backends.native import _monitoring_problem
from alertdrill.stack.components import (
    APP_DATABASE,
    COMPONENTS,
    LINKS,
    SCRAPE_JOBS,
    Addresses,
    link_control,
    readiness_check,
)
from alertdrill.stack.engine.compose_cli import compose_command
from alertdrill.stack.engine.daemon import Engine, engine_answers
from alertdrill.stack.engine.images import ImageSet
from alertdrill.stack.ports import LOOPBACK, free_ports
from alertdrill.stack.readiness import Check
from alertdrill.stack.rendering import (
    StackTiming,
    load_yaml,
    render_alertmanager_config,
    render_prometheus_config,
    render_rules,
)
from alertdrill.stack.state import STATE_FILE, StackInfo, default_home, read_state, write_state
from alertdrill.stack.timescale import Difference, RuleTiming
from alertdrill.waiting import poll_until

__all__ = ["COMPOSE_FILE", "CONTAINER_PORTS", "DRILL_OVERRIDE", "PROJECT_LABEL", "SERVICES", "SERVICE_LABEL",
           "STARTED_SERVICES", "ComposeStack", "ContainerProcess", "drill_override", "port_variable"]

COMPOSE_FILE = layout.COMPOSE_FILE
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
#: Compose services: the native components plus Grafana (profile `grafana`: for users, not drilled).
SERVICES = (*COMPONENTS, "grafana")
#: What the backend starts and waits for: exactly the native components.
STARTED_SERVICES = COMPONENTS
#: The port each service listens on inside its container (docker-compose.yml publishes them).
CONTAINER_PORTS = {"postgres": 5432, "redis": 6379, "postgres_link": 5433, "redis_link": 6380, "sink": 9095,
                   "alertmanager": 9093, "app": 5000, "postgres_exporter": 9187, "redis_exporter": 9121,
                   "prometheus": 9090, "grafana": 3000}
STOP_TIMEOUT = 10
COMPOSE_TIMEOUT = 900.0  # the first `up --build` pulls images and installs the project
#: The override file the backend adds to docker-compose.yml for its own runs (in the run directory).
DRILL_OVERRIDE = "compose.drill.yml"


def drill_override(compose: Mapping[str, Any]) -> dict[str, Any]:
    """docker-compose.yml's services without Docker healthchecks, each started once its dependencies started.

    The healthchecks order a user's `docker compose up --wait`; Docker 20.10 runs them every interval for
    the container's whole life (no start interval before Engine 25), and every run is a `runc exec`: at 2 s
    that cost a third of a core per idle stack, several cores for a parallel suite, and the drills' 1-2 s
    scrapes timed out under that load. The backend waits instead with the native backend's readiness
    probes over the published ports (then for the monitoring pipeline), and only while it starts.
    """
    services: dict[str, Any] = {}
    for name, service in (compose.get("services") or {}).items():
        entry: dict[str, Any] = {"healthcheck": {"test": ["NONE"]}}
        if service.get("depends_on"):
            entry["depends_on"] = {dep: {"condition": "service_started"} for dep in service["depends_on"]}
        services[name] = entry
    return {"services": services}


def port_variable(service: str) -> str:
    """The environment variable docker-compose.yml reads the service's host port from."""
    return f"ALERTDRILL_{service.upper()}_PORT"


Runner = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class ContainerProcess:
    """A service's container seen as the process the faults reason about (pid, alive, stopped, ours).

    ``pid`` is the container's init process as the engine's host sees it (0 while stopped); a paused
    container is alive and stopped, like a SIGSTOPped native process.
    """

    container_id: str
    pid: int
    status: str
    ours: bool = True

    def is_ours(self) -> bool:
        return self.ours

    def is_alive(self) -> bool:
        return self.status in ("running", "paused", "restarting")

    def is_stopped(self) -> bool:
        return self.status == "paused"


class ComposeStack:
    """Start, fault and stop one compose project, ``alertdrill-<name>``, recorded in ``<home>/<name>``."""

    backend = "compose"
    supports_service_faults = True

    def __init__(
        self,
        *,
        name: str = "default",
        home: Path | None = None,
        project: str | None = None,
        compose_file: Path | None = None,
        timing: StackTiming | None = None,
        rule_files: list[Path] | None = None,
        rule_overrides: Mapping[str, RuleTiming] | None = None,
        startup_timeout: float = 300.0,
        owner_pid: int | None = None,
        engine: Engine | None = None,
        images: ImageSet | None = None,
        client: docker.DockerClient | None = None,
        runner: Runner = subprocess.run,
        monitoring_problem: Callable[[str], str | None] = _monitoring_problem,
        readiness: Callable[[str, Addresses], Check] = readiness_check,
    ) -> None:
        if not name or "/" in name or name.startswith("."):
            raise ConfigError(f"stack name {name!r} must be a plain directory name, e.g. 'default'")
        if startup_timeout <= 0:
            raise ConfigError(f"startup timeout must be > 0 s, got {startup_timeout!r}")
        self.name = name
        self.home = Path(home) if home else default_home()
        self.run_dir = self.home / name
        self.project = project or f"alertdrill-{name}".lower()
        self.compose_file = Path(compose_file or COMPOSE_FILE)
        self.timing = timing or StackTiming()
        self.rule_files = [Path(p) for p in (rule_files or layout.shipped_rule_files())]
        self.rule_overrides = dict(rule_overrides or {})
        self.startup_timeout = startup_timeout
        self.owner_pid = owner_pid
        self.engine = engine
        self.images = images
        self.info: StackInfo | None = None
        self._client = client
        self._run = runner
        self._monitoring_problem = monitoring_problem
        self._readiness = readiness

    # -- lifecycle -------------------------------------------------------------------------------

    @classmethod
    def attach(cls, run_dir: Path, **kwargs: Any) -> ComposeStack:
        """Control a compose stack that another command started, from its state file."""
        info = read_state(run_dir)
        if info.backend != "compose":
            raise ConfigError(f"the stack in {run_dir} runs on the {info.backend} backend, not compose")
        if info.docker_host and "engine" not in kwargs:
            kwargs["engine"] = Engine(info.docker_host)
        stack = cls(name=Path(run_dir).name, home=Path(run_dir).parent, **kwargs)
        stack.info = info
        return stack

    def __enter__(self) -> StackInfo:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        """`docker compose up` (with compose.drill.yml), then wait until every service serves (the native
        readiness probes) and the monitoring pipeline is healthy."""
        began = time.monotonic()
        if not self.compose_file.is_file():
            raise ConfigError(f"compose file {self.compose_file} not found; pass compose_file or "
                              f"reinstall alertdrill (it ships as {COMPOSE_FILE})")
        compose_command()  # a missing Compose fails before anything (the state file included) exists
        if self.engine is not None and not engine_answers(self.engine.host):
            raise StackStartError(f"the Docker engine at {self.engine.host} does not answer; start Docker or "
                                  "set DOCKER_HOST")
        self._claim_run_dir()
        try:
            info = self._prepare()  # the published ports are leased to this process (stack.ports)
            write_state(info)
            # Stand-ins are local images: nothing to build, and never a pull.
            up = ("--no-build", "--pull", "never") if self.images is not None else ("--build",)
            self._compose("up", "-d", *up, "--remove-orphans", timeout=COMPOSE_TIMEOUT, error=StackStartError)
            deadline = time.monotonic() + self.startup_timeout  # after image pulls and builds, which may be slow
            self._wait_healthy(STARTED_SERVICES, deadline=deadline)
            for service in STARTED_SERVICES:
                self._wait_serving(service, deadline=deadline)
            self._wait_monitoring(info, deadline=deadline)
        except BaseException as exc:
            try:
                self.stop()
            except StackError as cleanup:
                exc.add_note(f"cleaning up also failed: {cleanup}")
            raise
        info.startup_seconds = round(time.monotonic() - began, 2)
        write_state(info)
        return info

    def stop(self) -> None:
        """`docker compose down -v` (containers, network, volumes), then remove the run directory. Idempotent."""
        if self.info is None and (self.run_dir / STATE_FILE).exists():
            self.info = read_state(self.run_dir)
        try:
            # An engine that is gone (a crashed run's private dockerd, stopped since) took its containers along.
            if self.info is not None and (self.engine is None or engine_answers(self.engine.host)):
                self._compose("down", "-v", "--remove-orphans", "--timeout", str(STOP_TIMEOUT), timeout=120,
                              error=StackError)
        finally:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.info = None

    def is_running(self) -> bool:
        return any(c.status == "running" for c in self._project_containers())

    # -- service faults --------------------------------------------------------------------------

    def container(self, target: str):
        """This project's container for a service name, or a container name/id proven to be ours."""
        client = self.client
        found = self._api(lambda: client.containers.list(
            all=True, filters={"label": [f"{PROJECT_LABEL}={self.project}", f"{SERVICE_LABEL}={target}"]}),
            f"list the containers of service {target!r}")
        found = [c for c in found if (c.labels or {}).get(SERVICE_LABEL) == target]
        if found:
            return self._owned(found[0], target)
        try:
            container = client.containers.get(target)
        except docker.errors.NotFound:
            raise ConfigError(f"no container for {target!r} in compose project {self.project}; "
                              f"services are {', '.join(SERVICES)}") from None
        except docker.errors.APIError as exc:
            raise FaultInjectError(f"Docker API: cannot look up {target!r} ({_reason(exc)})") from exc
        return self._owned(container, target)

    def process(self, component: str) -> ContainerProcess:
        """The service's container, freshly inspected, as a ContainerProcess."""
        container = self.container(component)
        self._api(container.reload, f"inspect {component}")
        state = container.attrs.get("State", {})
        return ContainerProcess(container.id, int(state.get("Pid") or 0), state.get("Status", container.status))

    def stop_component(self, component: str, *, kill: bool = False) -> None:
        """Stop the service's container (SIGTERM then SIGKILL after 10 s), or SIGKILL it with ``kill``."""
        container = self.container(component)
        if kill:
            self._api(lambda: container.kill(signal="SIGKILL"), f"kill {component}")
        else:
            self._api(lambda: container.stop(timeout=STOP_TIMEOUT), f"stop {component}")

    def pause_component(self, component: str) -> None:
        """Freeze every process of the container (cgroup freezer): connections stay open, nothing answers."""
        container = self.container(component)
        self._api(container.pause, f"pause {component}")

    def resume_component(self, component: str) -> None:
        container = self.container(component)
        self._api(container.unpause, f"unpause {component}")

    def start_component(self, component: str, *, timeout: float = 60.0) -> ContainerProcess:
        """Start a stopped container (unpause a paused one) and wait until it serves."""
        container = self.container(component)
        self._api(container.reload, f"inspect {component}")
        if container.status == "paused":
            self._api(container.unpause, f"unpause {component}")
        elif container.status != "running":
            self._api(container.start, f"start {component}")
        self._wait_serving(self._service_of(container), deadline=time.monotonic() + timeout)
        return self.process(component)

    def restart_component(self, component: str, *, timeout: float = 60.0) -> ContainerProcess:
        """Restart the container (stop, then start) and wait until it serves."""
        container = self.container(component)
        self._api(lambda: container.restart(timeout=STOP_TIMEOUT), f"restart {component}")
        self._wait_serving(self._service_of(container), deadline=time.monotonic() + timeout)
        return self.process(component)

    # -- internals -------------------------------------------------------------------------------

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                self._client = self.engine.client(timeout=30) if self.engine else docker.from_env(timeout=30)
            except docker.errors.DockerException as exc:
                raise StackError(f"cannot reach the Docker engine ({_reason(exc)}); start Docker, set DOCKER_HOST, "
                                 "or use the native backend") from exc
        return self._client

    def _owned(self, container, target: str):
        labels = container.labels or {}
        if labels.get(PROJECT_LABEL) != self.project:
            owner = labels.get(PROJECT_LABEL)
            raise ForeignTargetError(
                f"container {container.name or target} is not part of compose project {self.project} "
                f"({f'it belongs to {owner}' if owner else 'it has no compose project label'}); "
                f"alertdrill only acts on containers labelled {PROJECT_LABEL}={self.project}"
            )
        return container

    @staticmethod
    def _service_of(container) -> str:
        return (container.labels or {}).get(SERVICE_LABEL, container.name)

    def _api(self, call: Callable[[], Any], what: str) -> Any:
        try:
            return call()
        except docker.errors.APIError as exc:
            raise FaultInjectError(f"Docker API refused to {what} ({_reason(exc)}); "
                                   f"check `docker compose -p {self.project} ps`") from exc
        except requests.RequestException as exc:
            raise FaultInjectError(f"Docker API unreachable while trying to {what} ({exc}); "
                                   "is the Docker engine running?") from exc

    def _project_containers(self) -> list:
        return self._api(lambda: self.client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={self.project}"}), "list the project's containers")

    def _claim_run_dir(self) -> None:
        if (self.run_dir / STATE_FILE).exists():
            old = read_state(self.run_dir)
            if old.backend == "compose" and self.is_running():
                raise StackRunningError(f"compose project {self.project} is already running (state in {self.run_dir});"
                                        " stop it with `alertdrill down` or pick another --name")
            if old.backend == "native" and any(p.is_ours() for p in old.processes.values()):
                raise StackRunningError(f"a native stack is already running in {self.run_dir}; "
                                        "stop it with `alertdrill down` or pick another --name")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.home.mkdir(parents=True, exist_ok=True)
        links = self._links_dir()
        for sub in ("app", "faults", "prometheus/rules", "alertmanager"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        links.mkdir(parents=True, exist_ok=True)
        # The containers' unprivileged users (nobody, uid 10001) read the mounted configs, the fault switch
        # and the links' control files.
        for path in (self.home, self.run_dir, self.run_dir / "app", self.run_dir / "prometheus",
                     self.run_dir / "prometheus" / "rules", self.run_dir / "alertmanager", links):
            os.chmod(path, 0o755)

    def _prepare(self) -> StackInfo:
        ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        differences = self._render_configs()

        def url(service: str) -> str:
            return f"http://{LOOPBACK}:{ports[service]}"

        def dsn(user: str, via: str = "postgres") -> str:
            return f"postgresql://{user}@{LOOPBACK}:{ports[via]}/{APP_DATABASE}?sslmode=disable"

        self.info = StackInfo(
            name=self.name,
            run_dir=str(self.run_dir),
            backend=self.backend,
            prometheus_url=url("prometheus"),
            alertmanager_url=url("alertmanager"),
            app_url=url("app"),
            sink_url=url("sink"),
            postgres_dsn=dsn("postgres"),
            app_postgres_dsn=dsn("alertdrill_app", via="postgres_link"),  # the API's way in, as natively
            exporter_postgres_dsn=dsn("postgres_exporter"),
            redis_url=f"redis://{LOOPBACK}:{ports['redis']}/0",
            ports=ports,
            time_scale=self.timing.time_scale,
            owner_pid=self.owner_pid,
            docker_host=self.engine.host if self.engine else None,
            started_at=time.time(),
            rule_files=[str(p) for p in self.rule_files],
            differences=[d.to_dict() for d in differences],
        )
        return self.info

    def _render_configs(self) -> list[Difference]:
        """The shipped configs with compose addresses and fast timings, for the containers to mount."""
        run = self.run_dir
        rule_diffs = render_rules(self.rule_files, run / "prometheus" / "rules", timing=self.timing,
                                  overrides=self.rule_overrides)
        targets = {job: f"{service}:{CONTAINER_PORTS[service]}" for job, service in SCRAPE_JOBS.items()}
        prom, prom_diffs = render_prometheus_config(
            load_yaml(layout.PROMETHEUS_CONFIG, what="Prometheus config"), targets=targets,
            alertmanager=f"alertmanager:{CONTAINER_PORTS['alertmanager']}",
            rule_files=["/etc/prometheus/rules/*.yml"], timing=self.timing)
        (run / "prometheus" / "prometheus.yml").write_text(yaml.safe_dump(prom, sort_keys=False))
        am, am_diffs = render_alertmanager_config(
            load_yaml(layout.ALERTMANAGER_CONFIG, what="Alertmanager config"),
            sink_url=f"http://sink:{CONTAINER_PORTS['sink']}", timing=self.timing)
        (run / "alertmanager" / "alertmanager.yml").write_text(yaml.safe_dump(am, sort_keys=False))
        compose = load_yaml(self.compose_file, what="compose file")
        self._override_file().write_text(yaml.safe_dump(drill_override(compose), sort_keys=False))
        return prom_diffs + am_diffs + rule_diffs

    def _override_file(self) -> Path:
        return self.run_dir / DRILL_OVERRIDE

    def compose_environment(self) -> dict[str, str]:
        """The variables docker-compose.yml reads: project, host ports, rendered configs, fault switch, links."""
        info = self.info
        env = {"ALERTDRILL_COMPOSE_PROJECT": self.project}
        if self.engine is not None:
            env.update(self.engine.environment())
        if self.images is not None:
            env.update(self.images.environment())
        if info is None:
            return env
        run = Path(info.run_dir)
        env.update({port_variable(service): str(port) for service, port in info.ports.items()})
        env.update({
            "ALERTDRILL_PROMETHEUS_CONFIG_DIR": str(run / "prometheus"),
            "ALERTDRILL_PROMETHEUS_CONFIG_NAME": "prometheus.yml",
            "ALERTDRILL_ALERTMANAGER_CONFIG": str(run / "alertmanager" / "alertmanager.yml"),
            "ALERTDRILL_APP_FAULT_DIR": str(run / "app"),
            "ALERTDRILL_LINKS_DIR": str(self._links_dir(run)),
            "ALERTDRILL_RESEND_DELAY": format_duration(max(1.0, 60.0 / info.time_scale)),
            "ALERTDRILL_LOOKBACK_DELTA": self.timing.lookback_delta(),
        })
        return env

    def _links_dir(self, run_dir: Path | None = None) -> Path:
        """The directory of the links' control files, where chaos/network.py writes them (one for every link)."""
        (folder,) = {link_control(run_dir or self.run_dir, target).parent for target in LINKS.values()}
        return folder

    def _compose(self, *args: str, timeout: float, error: type[StackError]) -> None:
        override = self._override_file()
        files = ["-f", str(self.compose_file), *(["-f", str(override)] if override.is_file() else [])]
        argv = [*compose_command(), *files, "-p", self.project, *args]
        try:
            result = self._run(argv, env={**os.environ, **self.compose_environment()}, capture_output=True,
                               text=True, timeout=timeout, cwd=str(self.compose_file.parent))
        except FileNotFoundError:
            raise error(f"{argv[0]} is not installed; install Docker Compose v2 (`pip install 'alertdrill[docker]'`) "
                        "or use the native backend") from None
        except subprocess.TimeoutExpired:
            raise error(f"`docker compose {args[0]}` did not finish within {timeout:g}s; "
                        f"see `docker compose -p {self.project} logs`") from None
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout or "").strip().splitlines()[-15:])
            raise error(f"`docker compose {' '.join(args)}` failed (exit {result.returncode}) for project "
                        f"{self.project}:\n{tail}")

    def _wait_healthy(self, services: Sequence[str], *, deadline: float) -> None:
        """Poll the containers until each service runs and passes its healthcheck, if it has one."""
        last: dict[str, str] = {}

        def states() -> str:
            by_service = {}
            for container in self._project_containers():
                by_service[self._service_of(container)] = container
            waiting = []
            for service in services:
                container = by_service.get(service)
                if container is None:
                    last[service] = "no container"
                    waiting.append(service)
                    continue
                state = container.attrs.get("State", {})
                status = state.get("Status", "unknown")
                health = (state.get("Health") or {}).get("Status")
                last[service] = f"{status}, health {health or 'none'}"
                if status in ("exited", "dead"):
                    return f"failed:{service}"
                if status != "running" or health not in (None, "healthy"):
                    waiting.append(service)
            return "waiting:" + ",".join(waiting) if waiting else "ready"

        ok, result = poll_until(states, timeout=max(0.0, deadline - time.monotonic()), interval=0.5,
                                accept=lambda s: s == "ready" or s.startswith("failed:"))
        if ok and result == "ready":
            return
        if result and result.startswith("failed:"):
            service = result.split(":", 1)[1]
            raise StackStartError(f"compose service {service} exited during start-up ({last[service]}); "
                                  f"its log:\n{self._log_tail(service)}")
        pending = (result or "waiting:").split(":", 1)[1].split(",")
        service = pending[0] if pending and pending[0] else services[0]
        raise StackStartError(
            f"compose services {', '.join(p for p in pending if p)} not healthy in time ({last.get(service)}); "
            f"last healthcheck of {service}: {self._health_output(service)}; its log:\n{self._log_tail(service)}"
        )

    def _wait_serving(self, service: str, *, deadline: float) -> None:
        """A (re)started service serves: the native backend's readiness probe on its published port, polled
        as often as natively, so a fault's revert ends when the service is back, not at the next
        healthcheck (seconds later); services without such a probe wait for their healthcheck."""
        if self.info is None or service not in COMPONENTS or service not in self.info.ports:
            self._wait_healthy([service], deadline=deadline)
            return
        check = self._readiness(service, Addresses(dict(self.info.ports)))
        last: list[str | None] = [None]

        def probe() -> str:
            container = self._find(service)
            state = (container.attrs.get("State", {}) if container is not None else {}).get("Status", "gone")
            if state in ("exited", "dead", "gone"):
                return f"failed:{state}"
            last[0] = check.probe()
            return "ready" if last[0] is None else "waiting"

        ok, state = poll_until(probe, timeout=max(0.0, deadline - time.monotonic()), interval=0.05,
                               accept=lambda s: s == "ready" or s.startswith("failed:"))
        if ok and state == "ready":
            return
        what = f"its container is {state.split(':', 1)[1]}" if state and state.startswith("failed:") else \
            f"not ready in time ({check.description}; last error: {last[0]})"
        raise StackStartError(f"compose service {service}: {what}; its log:\n{self._log_tail(service)}")

    def _wait_monitoring(self, info: StackInfo, *, deadline: float) -> None:
        last = ["nothing checked yet"]

        def healthy() -> bool:
            try:
                problem = self._monitoring_problem(info.prometheus_url)
            except (requests.RequestException, ValueError) as exc:
                problem = f"Prometheus API: {exc}"
            last[0] = problem or ""
            return problem is None

        ok, _ = poll_until(healthy, timeout=max(0.0, deadline - time.monotonic()), interval=0.5)
        if not ok:
            raise StackStartError(f"compose project {self.project} did not become healthy within "
                                  f"{self.startup_timeout:g}s: {last[0]}; see `docker compose -p {self.project} logs`")

    def _find(self, service: str):
        for container in self._project_containers():
            if self._service_of(container) == service:
                return container
        return None

    def _health_output(self, service: str) -> str:
        container = self._find(service)
        log = ((container.attrs.get("State", {}).get("Health") or {}).get("Log") or []) if container else []
        output = (log[-1].get("Output") or "").strip()[-300:] if log else ""
        return output or "none recorded"

    def _log_tail(self, service: str, lines: int = 20) -> str:
        container = self._find(service)
        if container is None:
            return "(no container)"
        try:
            return container.logs(tail=lines).decode(errors="replace").rstrip() or "(empty)"
        except (docker.errors.APIError, requests.RequestException) as exc:
            return f"(logs unavailable: {_reason(exc)})"


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).splitlines()[0] if str(explanation or exc) else type(exc).__name__
