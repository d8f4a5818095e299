"""Fixtures for the API tests: a private Postgres and Redis, the app, and polling helpers.

The servers are real (Debian's postgresql-15 and redis-server) and private to the session: free
loopback ports, a temporary directory, readiness polled with a deadline, and always torn down.
Postgres refuses to run as root, so it runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from apptest_support import free_port, wait_for
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import values as prometheus_values

from alertdrill.stack.app.app import create_app
from alertdrill.stack.app.settings import ENV_MULTIPROC_DIR, Settings
from alertdrill.stack.app.state import EXTENSION_KEY, AppState

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = Path("/usr/bin/redis-server")
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0

# --------------------------------------------------------------------------------------- servers


def _stop_process(proc: subprocess.Popen[bytes] | None, first_signal: int) -> None:
    """Signal ``proc`` and wait; escalate to SIGKILL if it does not exit in time."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(first_signal)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


class PostgresServer:
    """A throwaway Postgres cluster that can be stopped and started again on the same port."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.data_dir = base / "pgdata"
        self.socket_dir = base / "pgsock"
        self.log_path = base / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None
        postgres_user = pwd.getpwnam("postgres")
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(mode=0o700)
            os.chown(directory, postgres_user.pw_uid, postgres_user.pw_gid)
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", "postgres",
             "--no-sync", "-E", "UTF8"],
            user="postgres", check=True, capture_output=True, timeout=120, cwd=base,
        )

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        """Start the postmaster and wait until it accepts queries."""
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data_dir),
             "-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}",
             "-c", f"unix_socket_directories={self.socket_dir}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            user="postgres", stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.data_dir.parent, start_new_session=True,
        )
        log.close()
        wait_for(self._answers, READY_TIMEOUT_S, f"postgres on port {self.port}")

    def _answers(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            pytest.fail(f"postgres exited with {self._proc.returncode}: {self.log_path.read_text()[-2000:]}")
        with psycopg.connect(self.dsn, connect_timeout=1) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, like a real restart."""
        _stop_process(self._proc, signal.SIGINT)
        self._proc = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Every Postgres process is frozen (SIGSTOP) inside the block: sockets open, no answers.

        Each backend calls setsid(), so signalling the postmaster's process group would freeze the
        postmaster alone; the postmaster is stopped first (no new children), then its children.
        """
        assert self._proc is not None
        postmaster = self._proc.pid
        os.kill(postmaster, signal.SIGSTOP)
        children = [int(pid) for pid in
                    Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()]
        frozen = [postmaster]
        try:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    frozen.append(pid)
            yield
        finally:
            for pid in reversed(frozen):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Postgres is down inside the block and up (and answering) again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()


class RedisServer:
    """A throwaway Redis without persistence that can be stopped and started on the same port."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.dir = base / "redis"
        self.dir.mkdir()
        self.log_path = base / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        """Start redis-server and wait until it answers PING."""
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--protected-mode", "no", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        wait_for(self._answers, READY_TIMEOUT_S, f"redis on port {self.port}")

    def _answers(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            pytest.fail(f"redis exited with {self._proc.returncode}: {self.log_path.read_text()[-2000:]}")
        with self.client() as client:
            return bool(client.ping())

    def stop(self) -> None:
        _stop_process(self._proc, signal.SIGTERM)
        self._proc = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Redis is frozen (SIGSTOP) inside the block: its socket accepts, nothing answers."""
        assert self._proc is not None
        os.killpg(self._proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self._proc.pid, signal.SIGCONT)

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Redis is down inside the block and up again after it."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def clients_named(self, prefix: str) -> dict[str, int]:
        """Connected clients per client name, for names starting with ``prefix`` (CLIENT LIST)."""
        counts: dict[str, int] = {}
        with self.client() as client:
            for entry in client.client_list():
                name = entry.get("name", "")
                if name.startswith(prefix):
                    counts[name] = counts.get(name, 0) + 1
        return counts


@dataclass
class Backends:
    postgres: PostgresServer
    redis: RedisServer
    base: Path


@pytest.fixture(scope="session")
def backends() -> Iterator[Backends]:
    """A private Postgres and Redis for the whole session, always torn down with their files."""
    if not (PG_BIN / "postgres").exists() or not REDIS_SERVER.exists():
        pytest.skip("needs the postgresql-15 and redis-server Debian packages")
    base = Path(tempfile.mkdtemp(prefix="alertdrill-app-tests-"))
    base.chmod(0o755)  # the postgres user must traverse it
    postgres: PostgresServer | None = None
    redis_server: RedisServer | None = None
    try:
        postgres = PostgresServer(base)
        redis_server = RedisServer(base)
        postgres.start()
        redis_server.start()
        yield Backends(postgres, redis_server, base)
    finally:
        if redis_server is not None:
            redis_server.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------------------- the app


@pytest.fixture(scope="session")
def multiproc_dir() -> Iterator[Path]:
    """The metrics directory of the in-process app.

    prometheus_client takes multiprocess mode and the file names from the environment, so the
    variable stays set (and prometheus_client in multiprocess mode, see metrics.bind_metrics) until
    the session ends; both are put back then.
    """
    directory = Path(tempfile.mkdtemp(prefix="alertdrill-app-metrics-"))
    previous_env = os.environ.get(ENV_MULTIPROC_DIR)
    previous_value_class = prometheus_values.ValueClass
    os.environ[ENV_MULTIPROC_DIR] = str(directory)
    try:
        yield directory
    finally:
        prometheus_values.ValueClass = previous_value_class
        if previous_env is None:
            os.environ.pop(ENV_MULTIPROC_DIR, None)
        else:
            os.environ[ENV_MULTIPROC_DIR] = previous_env
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def fault_file(tmp_path: Path) -> Path:
    """Where the app under test looks for the fault switch (absent = no fault)."""
    return tmp_path / "fault.json"


@pytest.fixture
def settings(backends: Backends, multiproc_dir: Path, fault_file: Path) -> Settings:
    """Settings pointing at the private servers, with a 1 s pool wait so outages answer quickly."""
    return Settings(
        database_url=backends.postgres.dsn,
        redis_url=backends.redis.url,
        multiproc_dir=multiproc_dir,
        fault_file=fault_file,
        db_pool_timeout_s=1.0,
        db_reconnect_timeout_s=3.0,
        redis_keepalive_interval_s=0.2,
    )


@pytest.fixture
def make_app(backends: Backends) -> Iterator[Callable[[Settings], Flask]]:
    """Factory for apps that are closed (pools, threads) when the test ends."""
    apps: list[Flask] = []

    def make(settings: Settings) -> Flask:
        app = create_app(settings)
        app.testing = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        state: AppState = app.extensions[EXTENSION_KEY]
        state.close()


@pytest.fixture
def app(make_app: Callable[[Settings], Flask], settings: Settings, backends: Backends) -> Flask:
    """A fresh app against the private servers, with an empty cache."""
    with backends.redis.client() as client:
        client.flushall()
    return make_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def set_fault(fault_file: Path) -> Callable[[dict[str, Any] | str | None], None]:
    """Write the fault file atomically (a dict as JSON, a str verbatim, None removes it)."""

    def write(fault: dict[str, Any] | str | None) -> None:
        if fault is None:
            fault_file.unlink(missing_ok=True)
            return
        text = fault if isinstance(fault, str) else json.dumps(fault)
        tmp = fault_file.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, fault_file)

    return write
