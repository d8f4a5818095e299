"""The stack's components as process specs: which binary, which flags, which readiness check.

Start order matters only for readiness: everything tolerates its dependencies coming up later,
so components are started in waves and waited for together.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from alertdrill.stack import layout
from alertdrill.stack.binaries import resolve
from alertdrill.stack.ports import LOOPBACK
from alertdrill.stack.process import ProcessSpec
from alertdrill.stack.readiness import Check, http_ok, postgres_accepts, redis_pings, tcp_open

__all__ = ["COMPONENTS", "LINKS", "RUN_DIR_COPIES", "SCRAPE_JOBS", "Addresses", "copy_shipped_files", "link_control",
           "readiness_check", "specs"]

#: Components in start order; stop runs in reverse.
#: Request threads per app worker. More in all than the steady load's users (10): while Postgres goes
#: away, every in-flight request can wait its pool's 2 s timeout before the breaker opens, and with
#: no thread left the app's own /metrics scrape timed out (monitor_service_down{job="app"} pending
#: during postgres-down, 1 run in 3 on 2 busy cores). Threads wait on sockets, not on the CPU.
APP_THREADS = 8

COMPONENTS = ("postgres", "redis", "postgres_link", "redis_link", "sink", "alertmanager", "app",
              "postgres_exporter", "redis_exporter", "prometheus")

#: The API reaches each dependency through a link proxy (stack/linkproxy.py), so the network between
#: them can be slowed or cut; the exporters connect directly, as they would from another host.
LINKS = {"postgres_link": "postgres", "redis_link": "redis"}

#: Prometheus job name -> the component it scrapes.
SCRAPE_JOBS = {
    "prometheus": "prometheus",
    "alertmanager": "alertmanager",
    "app": "app",
    "postgres": "postgres_exporter",
    "redis": "redis_exporter",
}

from alertdrill.stack.pgdata import APP_DATABASE  # noqa: E402


@dataclass(frozen=True)
class Addresses:
    """The loopback ports of one stack and the URLs and DSNs derived from them."""

    ports: dict[str, int]

    def url(self, component: str) -> str:
        return f"http://{LOOPBACK}:{self.ports[component]}"

    def address(self, component: str) -> str:
        return f"{LOOPBACK}:{self.ports[component]}"

    def postgres_dsn(self, user: str = "postgres", database: str = APP_DATABASE, *, via: str = "postgres") -> str:
        return f"postgresql://{user}@{LOOPBACK}:{self.ports[via]}/{database}?sslmode=disable"

    def redis_url_via(self, via: str = "redis") -> str:
        return f"redis://{LOOPBACK}:{self.ports[via]}/0"

    @property
    def redis_url(self) -> str:
        return self.redis_url_via("redis")


def specs(run_dir: Path, addr: Addresses, *, app_workers: int = 2, resend_delay: str = "1m",
          lookback_delta: str = "5m") -> dict[str, ProcessSpec]:
    """Process specs for every component of a stack rooted at ``run_dir``."""
    logs = run_dir / "logs"

    def log(name: str) -> str:
        return str(logs / f"{name}.log")

    pg_dir = run_dir / "postgres"
    return {
        "postgres": ProcessSpec(
            name="postgres",
            argv=[resolve("postgres"), "-D", str(pg_dir / "data"),
                  "-c", f"listen_addresses={LOOPBACK}", "-c", f"port={addr.ports['postgres']}",
                  "-c", f"unix_socket_directories={pg_dir / 'socket'}"],
            log=log("postgres"),
            user="postgres",
            stop_signal=int(signal.SIGINT),  # fast shutdown: SIGTERM would wait for clients
        ),
        "redis": ProcessSpec(
            name="redis",
            argv=[resolve("redis-server"), str(run_dir / "redis" / "redis.conf"),
                  "--bind", LOOPBACK, "--port", str(addr.ports["redis"]), "--dir", str(run_dir / "redis")],
            log=log("redis"),
        ),
        **{
            link: ProcessSpec(
                name=link,
                argv=[sys.executable, "-m", "alertdrill.stack.linkproxy", "--listen", addr.address(link),
                      "--upstream", addr.address(target), "--control", str(link_control(run_dir, target))],
                log=log(link),
            )
            for link, target in LINKS.items()
        },
        "sink": ProcessSpec(
            name="sink",
            argv=[sys.executable, "-m", "alertdrill.assertions.sink", "--host", LOOPBACK,
                  "--port", str(addr.ports["sink"]), "--journal", str(run_dir / "sink" / "notifications.jsonl")],
            log=log("sink"),
        ),
        "alertmanager": ProcessSpec(
            name="alertmanager",
            argv=[resolve("alertmanager"), f"--config.file={run_dir / 'alertmanager' / 'alertmanager.yml'}",
                  f"--storage.path={run_dir / 'alertmanager' / 'data'}",
                  f"--web.listen-address={addr.address('alertmanager')}", "--cluster.listen-address="],
            log=log("alertmanager"),
        ),
        "app": ProcessSpec(
            name="app",
            argv=[sys.executable, "-m", "gunicorn", "-c", str(run_dir / "app" / "gunicorn_conf.py"),
                  "--bind", addr.address("app"), "--workers", str(app_workers), "--threads", str(APP_THREADS),
                  "--worker-class", "gthread", "alertdrill.stack.app.wsgi:app"],
            log=log("app"),
            env={
                "ALERTDRILL_DATABASE_URL": addr.postgres_dsn("alertdrill_app", via="postgres_link"),
                "ALERTDRILL_REDIS_URL": addr.redis_url_via("redis_link"),
                "ALERTDRILL_APP_FAULT_FILE": str(run_dir / "app" / "fault.json"),
                "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "app" / "metrics"),
            },
            cwd=str(run_dir / "app"),
        ),
        "postgres_exporter": ProcessSpec(
            name="postgres_exporter",
            argv=[resolve("postgres_exporter"), f"--web.listen-address={addr.address('postgres_exporter')}",
                  f"--extend.query-path={run_dir / 'postgres_exporter' / 'queries.yml'}", "--log.level=warn"],
            log=log("postgres_exporter"),
            env={"DATA_SOURCE_NAME": addr.postgres_dsn("postgres_exporter")},
        ),
        "redis_exporter": ProcessSpec(
            name="redis_exporter",
            argv=[resolve("redis_exporter"), "-redis.addr", addr.redis_url,
                  "-web.listen-address", addr.address("redis_exporter")],
            log=log("redis_exporter"),
        ),
        "prometheus": ProcessSpec(
            name="prometheus",
            argv=[resolve("prometheus"), f"--config.file={run_dir / 'prometheus' / 'prometheus.yml'}",
                  f"--storage.tsdb.path={run_dir / 'prometheus' / 'data'}",
                  f"--web.listen-address={addr.address('prometheus')}", "--web.enable-lifecycle",
                  f"--rules.alert.resend-delay={resend_delay}", f"--query.lookback-delta={lookback_delta}",
                  "--log.level=warn"],
            log=log("prometheus"),
        ),
    }


#: Shipped files a component reads at run time -> their copy in the run directory. Services read only
#: from the run directory: the checkout (or a virtualenv) may be private to the user who cloned it.
RUN_DIR_COPIES = {
    "redis/redis.conf": layout.STACK_DIR / "redis" / "redis.conf",
    "app/gunicorn_conf.py": layout.APP_GUNICORN_CONFIG,
    "postgres_exporter/queries.yml": layout.POSTGRES_EXPORTER_QUERIES,
}


def copy_shipped_files(run_dir: Path) -> None:
    """Copy every shipped file a component reads into ``run_dir`` (see :data:`RUN_DIR_COPIES`)."""
    import shutil

    for relative, source in RUN_DIR_COPIES.items():
        target = Path(run_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o644)


def link_control(run_dir: Path, dependency: str) -> Path:
    """The control file of the link between the API and ``dependency`` (postgres or redis)."""
    return Path(run_dir) / "links" / f"{dependency}.json"


def readiness_check(component: str, addr: Addresses) -> Check:
    """How to tell that ``component`` serves."""
    if component == "postgres":
        return postgres_accepts(addr.postgres_dsn(database="postgres"))
    if component == "redis":
        return redis_pings(addr.redis_url)
    if component == "app":
        return http_ok(addr.url("app") + "/status")
    if component in LINKS:
        return tcp_open(LOOPBACK, addr.ports[component])
    if component in ("postgres_exporter", "redis_exporter"):
        return http_ok(addr.url(component) + "/metrics")
    return http_ok(addr.url(component) + "/-/ready")
