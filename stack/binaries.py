"""Find the executables of the stack's components across platforms.

Debian and Homebrew name some binaries differently (``prometheus-alertmanager`` vs ``alertmanager``),
and Postgres hides its server binaries under a versioned directory. Each component has a list of
candidates and an environment override; a miss names the package to install.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
from dataclasses import dataclass

from alertdrill.errors import BinaryNotFoundError

__all__ = ["BINARIES", "Binary", "resolve"]


@dataclass(frozen=True)
class Binary:
    """A component's executable: names to try, the override variable, and where it comes from."""

    key: str
    candidates: tuple[str, ...]
    env: str
    package: str
    #: What the program's ``--version`` output says (lower case): an override must be the right program.
    identity: str = ""

    def resolve(self) -> str:
        override = os.environ.get(self.env)
        if override:
            path = shutil.which(override)
            if path is None:
                raise BinaryNotFoundError(
                    f"{self.env}={override!r} is not an executable; fix the variable or unset it"
                )
            problem = _identity_problem(path, self.identity or self.key)
            if problem:
                raise BinaryNotFoundError(
                    f"{self.env}={override!r} is not {self.key}: {problem}; point it at {self.key} "
                    f"(package {self.package}) or unset it"
                )
            return path
        for candidate in self.candidates:
            matches = sorted(glob.glob(candidate), reverse=True) if "*" in candidate else [candidate]
            for match in matches:
                path = shutil.which(match)
                if path is not None:
                    return path
        raise BinaryNotFoundError(
            f"{self.key} not found (tried {', '.join(self.candidates)}); "
            f"install it with `apt-get install {self.package}` or set {self.env} to its path"
        )


@functools.lru_cache(maxsize=64)
def _identity_problem(path: str, identity: str) -> str | None:
    """None when ``path --version`` names ``identity``; else what it printed instead (cached per path)."""
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "`--version` did not answer within 5 s"
    except OSError as exc:
        return f"it cannot run ({exc.strerror or exc})"
    output = " ".join((result.stdout + result.stderr).split())
    if identity in output.lower():
        return None
    shown = output[:80] or f"nothing (exit status {result.returncode})"
    return f"`{os.path.basename(path)} --version` printed {shown!r}"


_PG = "/usr/lib/postgresql/*/bin/"

BINARIES: dict[str, Binary] = {
    b.key: b
    for b in (
        Binary("postgres", (_PG + "postgres", "postgres"), "ALERTDRILL_POSTGRES_BIN", "postgresql"),
        Binary("initdb", (_PG + "initdb", "initdb"), "ALERTDRILL_INITDB_BIN", "postgresql"),
        Binary("pgbench", (_PG + "pgbench", "pgbench"), "ALERTDRILL_PGBENCH_BIN", "postgresql-contrib"),
        Binary("redis-server", ("redis-server",), "ALERTDRILL_REDIS_SERVER_BIN", "redis-server", "redis server"),
        Binary("prometheus", ("prometheus",), "ALERTDRILL_PROMETHEUS_BIN", "prometheus"),
        Binary("promtool", ("promtool",), "ALERTDRILL_PROMTOOL_BIN", "prometheus"),
        Binary(
            "alertmanager",
            ("prometheus-alertmanager", "alertmanager"),
            "ALERTDRILL_ALERTMANAGER_BIN",
            "prometheus-alertmanager",
        ),
        Binary("amtool", ("amtool",), "ALERTDRILL_AMTOOL_BIN", "prometheus-alertmanager"),
        Binary(
            "postgres_exporter",
            ("prometheus-postgres-exporter", "postgres_exporter"),
            "ALERTDRILL_POSTGRES_EXPORTER_BIN",
            "prometheus-postgres-exporter",
        ),
        Binary(
            "redis_exporter",
            ("prometheus-redis-exporter", "redis_exporter"),
            "ALERTDRILL_REDIS_EXPORTER_BIN",
            "prometheus-redis-exporter",
            "redis metrics exporter",
        ),
    )
}


def resolve(key: str) -> str:
    """The absolute path of component ``key``'s executable, or a BinaryNotFoundError naming the fix."""
    try:
        return BINARIES[key].resolve()
    except KeyError:
        raise BinaryNotFoundError(f"unknown binary {key!r}; known: {', '.join(sorted(BINARIES))}") from None
