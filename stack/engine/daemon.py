"""Which Docker engine the compose backend talks to: the one that answers, else a private ``dockerd``.

:func:`find_engine` asks ``DOCKER_HOST`` (or the default socket) for a ping. When nothing answers and
``dockerd`` is installed, :class:`PrivateEngine` starts a daemon of alertdrill's own: its data root,
exec root, socket, pid file and log all live in one directory (``$ALERTDRILL_ENGINE_DIR``, default
``/var/cache/alertdrill/engine``, machine-level so the images it holds are reused by later runs and
clones). ``owner.json`` there names the process that started it; a later run that finds the daemon
alive with its owner gone stops it (with every container it ran) before starting its own, and a
daemon whose owner still runs is left alone with a one-line error.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests

from alertdrill.errors import StackError, StackStartError
from alertdrill.stack.process import log_tail, process_start_ticks
from alertdrill.waiting import poll_until

__all__ = ["DEFAULT_ENGINE_DIR", "DEFAULT_SOCKET", "Engine", "PrivateEngine", "engine_answers", "engine_dir",
           "find_engine", "provide_engine"]

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
DEFAULT_ENGINE_DIR = Path("/var/cache/alertdrill/engine")
#: dockerd's first start creates its data root and starts containerd: seconds, not minutes.
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
PING_TIMEOUT = 3


@dataclass(frozen=True)
class Engine:
    """A Docker engine that answered: its address, and whether alertdrill started it."""

    host: str
    private: bool = False

    def client(self, timeout: int = 30) -> docker.DockerClient:
        """A Docker SDK client for this engine (finite timeout on every call)."""
        return docker.DockerClient(base_url=self.host, timeout=timeout)

    def environment(self) -> dict[str, str]:
        """What a `docker` / `docker compose` subprocess needs to reach this engine."""
        return {"DOCKER_HOST": self.host}


def engine_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The private engine's directory: $ALERTDRILL_ENGINE_DIR, else /var/cache/alertdrill/engine."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("ALERTDRILL_ENGINE_DIR") or DEFAULT_ENGINE_DIR)


def engine_answers(host: str) -> bool:
    """The engine at ``host`` answers a ping within a few seconds."""
    try:
        client = docker.DockerClient(base_url=host, timeout=PING_TIMEOUT)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (docker.errors.DockerException, requests.RequestException, OSError):
        return False


def find_engine(environ: Mapping[str, str] | None = None) -> Engine | None:
    """The engine that ``DOCKER_HOST`` or the default socket answers on, or None."""
    environ = os.environ if environ is None else environ
    host = environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    return Engine(host) if engine_answers(host) else None


@contextlib.contextmanager
def provide_engine(directory: Path | None = None) -> Iterator[Engine]:
    """An engine for one session: the one that answers, else a private daemon stopped on exit."""
    found = find_engine()
    if found is not None:
        yield found
        return
    with PrivateEngine(directory or engine_dir()) as engine:
        yield engine


class PrivateEngine:
    """alertdrill's own ``dockerd`` in ``directory``; a context manager that always stops it again."""

    def __init__(self, directory: Path, *, startup_timeout: float = STARTUP_TIMEOUT,
                 dockerd: str | None = None, extra_args: Sequence[str] = ()) -> None:
        self.directory = Path(directory)
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.dockerd = dockerd or shutil.which("dockerd") or "/usr/sbin/dockerd"
        self._proc: subprocess.Popen | None = None

    # The socket and exec root must stay short (Unix socket paths are limited to 107 bytes).
    @property
    def socket(self) -> Path:
        return self.directory / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.directory / "docker.pid"

    @property
    def ownerfile(self) -> Path:
        return self.directory / "owner.json"

    @property
    def log(self) -> Path:
        return self.directory / "dockerd.log"

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Engine:
        """Stop a crashed run's daemon, start ours, and wait until it answers."""
        if not Path(self.dockerd).is_file():
            raise StackStartError("no Docker engine answers and dockerd is not installed; start Docker, set "
                                  "DOCKER_HOST, or `apt-get install docker.io` (scripts/setup.sh --docker does)")
        self.reap_crashed()
        for sub in ("data", "exec"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        argv = [self.dockerd, "--data-root", str(self.directory / "data"), "--exec-root", str(self.directory / "exec"),
                "--host", self.host, "--pidfile", str(self.pidfile), "--bridge", "none",
                "--storage-driver", "overlay2", "--log-level", "warn", *self.extra_args]
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        self.ownerfile.write_text(json.dumps({"pid": os.getpid(), "start_ticks": process_start_ticks(os.getpid()),
                                              "dockerd_pid": self._proc.pid}))
        ok, _ = poll_until(lambda: self._proc.poll() is not None or engine_answers(self.host),
                           timeout=self.startup_timeout, interval=0.25)
        if not ok or self._proc.poll() is not None:
            exited = self._proc.poll()
            self.stop()
            what = f"exited with status {exited}" if exited is not None else \
                f"did not answer on {self.socket} within {self.startup_timeout:g}s"
            raise StackStartError(f"alertdrill's private dockerd {what}; its log {self.log}:\n{log_tail(self.log)}")
        return Engine(self.host, private=True)

    def stop(self) -> None:
        """Remove every container, network and volume the daemon holds, then stop it. Idempotent."""
        pid = self._proc.pid if self._proc is not None else _read_pid(self.pidfile)
        if pid is not None and _is_dockerd(pid):
            _empty(Engine(self.host, private=True))
            _terminate(pid, STOP_TIMEOUT)
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)
            self._proc = None
        for path in (self.ownerfile, self.pidfile, self.socket):
            path.unlink(missing_ok=True)

    def reap_crashed(self) -> str | None:
        """Stop a daemon left by a run that died; refuse to touch one whose owner still runs."""
        pid = _read_pid(self.pidfile)
        if pid is None or not _is_dockerd(pid):
            return None
        owner = _read_owner(self.ownerfile)
        if owner is not None and owner[0] != os.getpid() and process_start_ticks(owner[0]) == owner[1]:
            raise StackStartError(f"alertdrill's private dockerd in {self.directory} (pid {pid}) belongs to pid "
                                  f"{owner[0]}, which still runs; wait for it or set ALERTDRILL_ENGINE_DIR to "
                                  "another directory")
        self.stop()
        return f"stopped the private dockerd (pid {pid}) left by a crashed run"


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_owner(path: Path) -> tuple[int, int | None] | None:
    try:
        data = json.loads(path.read_text())
        return int(data["pid"]), data.get("start_ticks")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_dockerd(pid: int) -> bool:
    """``pid`` is a live (not zombie) dockerd."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, _, rest = stat.partition("(")[2].rpartition(")")
    return name == "dockerd" and rest.split()[:1] not in (["Z"], ["X"])


def _empty(engine: Engine) -> None:
    """Everything a private daemon ran goes: containers (forced), then networks and volumes."""
    if not engine_answers(engine.host):
        return  # dockerd stops its containers itself on SIGTERM
    client = engine.client(timeout=60)
    try:
        for container in client.containers.list(all=True):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True, v=True)
        client.networks.prune()
        client.volumes.prune()
    except (docker.errors.APIError, requests.RequestException) as exc:
        raise StackError(f"could not empty alertdrill's private dockerd at {engine.host}: {exc}") from exc
    finally:
        client.close()


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM (dockerd stops its containers and containerd), then SIGKILL after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    gone, _ = poll_until(lambda: not _is_dockerd(pid), timeout=timeout, interval=0.2)
    if not gone:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        poll_until(lambda: not _is_dockerd(pid), timeout=5, interval=0.1)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
