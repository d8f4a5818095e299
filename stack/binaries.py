"""Find the executables of the stack's components across platforms.

Debian and Homebrew name some binaries differently (``prometheus-alertmanager`` vs ``alertmanager``),
and Postgres hides its server binaries under a versioned directory. Each component has a list of
candidates and an environment override; a miss names the package to install.
"""

from __future__ import annotations

import glob
import os
import shutil
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

    def resolve(self) -> str:
        override = os.environ.get(self.env)
        if override:
            path = shutil.which(override)
            if path is None:
                raise BinaryNotFoundError(
                    f"{self.env}={override!r} is not an executable; fix the variable or unset it"
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


_PG = "/usr/lib/postgresql/*/bin/"

BINARIES: dict[str, Binary] = {
    b.key: b
    for b in (
        Binary("postgres", (_PG + "postgres", "postgres"), "ALERTDRILL_POSTGRES_BIN", "postgresql"),
        Binary("initdb", (_PG + "initdb", "initdb"), "ALERTDRILL_INITDB_BIN", "postgresql"),
        Binary("pgbench", (_PG + "pgbench", "pgbench"), "ALERTDRILL_PGBENCH_BIN", "postgresql-contrib"),
        Binary("redis-server", ("redis-server",), "ALERTDRILL_REDIS_SERVER_BIN", "redis-server"),
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
        ),
    )
}


def resolve(key: str) -> str:
    """The absolute path of component ``key``'s executable, or a BinaryNotFoundError naming the fix."""
    try:
        return BINARIES[key].resolve()
    except KeyError:
        raise BinaryNotFoundError(f"unknown binary {key!r}; known: {', '.join(sorted(BINARIES))}") from None
