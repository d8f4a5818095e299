"""A ready Postgres data directory in a fraction of a second: initdb + bootstrap once, then copy.

initdb and the bootstrap SQL take one to three seconds on a 2-core machine and give the same result
every time, so the first stack builds a template (per Postgres binary, bootstrap SQL and settings)
under ``<home>/.cache`` and every stack after that copies it. A lock file keeps two concurrent
starts from building the same template twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg

from alertdrill.errors import StackStartError
from alertdrill.stack import layout
from alertdrill.stack.binaries import resolve
from alertdrill.stack.ports import LOOPBACK, free_ports
from alertdrill.stack.process import ProcessSpec, log_tail, spawn
from alertdrill.stack.readiness import postgres_accepts
from alertdrill.waiting import poll_until

__all__ = ["APP_DATABASE", "prepare_data_dir"]

APP_DATABASE = "alertdrill"


def _template_key() -> str:
    digest = hashlib.sha256()
    for part in (resolve("initdb"), resolve("postgres"), str(layout.STACK_DIR)):
        digest.update(part.encode())
    for path in (layout.POSTGRES_BOOTSTRAP_SQL, layout.STACK_DIR / "postgres" / "postgresql.conf"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _as_user(user: str | None) -> dict:
    if user is None:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _build_template(target: Path, user: str | None) -> None:
    work = target.with_name(target.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.chmod(work, 0o755)
    _chown(work, user)
    data, socket_dir = work / "data", work / "socket"
    socket_dir.mkdir()
    _chown(socket_dir, user)
    argv = [resolve("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
            "--locale=C"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=work, **_as_user(user))
    if result.returncode != 0:
        raise StackStartError(f"initdb failed in {data}: {(result.stderr or result.stdout).strip()[-500:]}")
    # The shipped settings are copied in, not included by path: Postgres runs as the postgres user, which
    # cannot read a package installed under a private directory (a virtualenv in /root, a temp dir).
    shipped = layout.STACK_DIR / "postgres" / "postgresql.conf"
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"\n# --- {shipped.name} as alertdrill ships it ---\n{shipped.read_text()}\n")
    port = free_ports(1)[0]
    proc = spawn(ProcessSpec(name="postgres-template", user=user, log=str(work / "bootstrap.log"),
                             stop_signal=int(signal.SIGINT),
                             argv=[resolve("postgres"), "-D", str(data), "-c", f"listen_addresses={LOOPBACK}",
                                   "-c", f"port={port}", "-c", f"unix_socket_directories={socket_dir}"]))
    try:
        admin = f"postgresql://postgres@{LOOPBACK}:{port}/postgres?sslmode=disable"
        check = postgres_accepts(admin)
        ok, _ = poll_until(lambda: proc.is_alive() and check.probe() is None, timeout=60, interval=0.05)
        if not ok:
            raise StackStartError(f"Postgres did not start to build the template: {log_tail(work / 'bootstrap.log')}")
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE ROLE alertdrill_app LOGIN")
            conn.execute(f"CREATE DATABASE {APP_DATABASE} OWNER alertdrill_app")
        app_db = admin.replace("/postgres?", f"/{APP_DATABASE}?")
        with psycopg.connect(app_db, autocommit=True, connect_timeout=5) as conn:
            conn.execute(layout.POSTGRES_BOOTSTRAP_SQL.read_text())
    finally:
        proc.stop(30)
    (data / "postmaster.pid").unlink(missing_ok=True)
    (work / "bootstrap.log").unlink(missing_ok=True)
    work.rename(target)


def prepare_data_dir(pg_dir: Path, *, cache_dir: Path, user: str | None) -> None:
    """Fill ``pg_dir/data`` with a bootstrapped cluster (roles, app database, monitoring views)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(cache_dir, 0o755)
    template = cache_dir / f"pgdata-{_template_key()}"
    with open(cache_dir / "pgdata.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "data" / "PG_VERSION").exists():
            _build_template(template, user)
    result = subprocess.run(["cp", "-a", str(template / "data"), str(pg_dir / "data")], capture_output=True,
                            text=True, timeout=120)
    if result.returncode != 0:
        raise StackStartError(f"copying the Postgres template {template} failed: {result.stderr.strip()}; "
                              f"remove {cache_dir} and retry")
