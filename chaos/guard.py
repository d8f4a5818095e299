"""Refuse any target the stack's backend did not start.

A fault with a typo in its DSN must not drop a table on a colleague's database. Every address a
fault uses is checked here first: loopback host only, and a port that this stack listens on for
that very component; a pid only if it is one of the stack's processes (and still the same process).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict

from alertdrill.errors import ConfigError, ForeignTargetError
from alertdrill.stack.ports import is_loopback
from alertdrill.stack.state import StackInfo

__all__ = ["StackGuard"]


class StackGuard:
    """Checks addresses and pids against one stack's ports and processes."""

    def __init__(self, info: StackInfo) -> None:
        self.info = info

    def _port(self, component: str) -> int:
        try:
            return int(self.info.ports[component])
        except (KeyError, TypeError, ValueError):
            raise ForeignTargetError(
                f"stack {self.info.name!r} has no {component} port; faults only target what the stack started"
            ) from None

    def _host_port(self, what: str, host: str | None, port: int | None, component: str) -> None:
        if not host:
            raise ForeignTargetError(f"{what} names no host; faults only use the stack's loopback TCP addresses")
        if host.startswith("/") or host.startswith("@"):
            raise ForeignTargetError(f"{what} uses the Unix socket {host!r}; faults only use loopback TCP")
        if not is_loopback(host):
            raise ForeignTargetError(f"{what} points at host {host!r}, not loopback; faults never leave this machine")
        expected = self._port(component)
        if port != expected:
            raise ForeignTargetError(
                f"{what} uses port {port if port is not None else '(default)'}, but stack {self.info.name!r} runs "
                f"{component} on port {expected}; refusing a target this stack did not start"
            )

    def postgres_dsn(self, dsn: str) -> str:
        """``dsn`` if it points at this stack's Postgres over loopback TCP; else ForeignTargetError."""
        if not isinstance(dsn, str) or not dsn:
            raise ConfigError(f"a Postgres DSN must be a non-empty string, got {dsn!r}")
        try:
            params = conninfo_to_dict(dsn)
        except Exception as exc:  # psycopg.ProgrammingError for an unparsable DSN
            raise ConfigError(f"cannot parse the Postgres DSN {dsn!r}: {exc}") from exc
        hosts = [h for h in str(params.get("host") or "").split(",")]
        hostaddrs = [h for h in str(params.get("hostaddr") or "").split(",") if h]
        ports = [p for p in str(params.get("port") or "").split(",")]
        if len(hosts) > 1 or len(hostaddrs) > 1 or len(ports) > 1:
            raise ForeignTargetError(f"DSN {dsn!r} lists several hosts; a fault targets exactly this stack's Postgres")
        port = int(ports[0]) if ports[0].isdigit() else None
        self._host_port(f"DSN {dsn!r}", hosts[0] or (hostaddrs[0] if hostaddrs else None), port, "postgres")
        if hostaddrs:
            self._host_port(f"DSN {dsn!r} (hostaddr)", hostaddrs[0], port, "postgres")
        return dsn

    def redis_url(self, url: str) -> str:
        """``url`` if it is ``redis://`` to this stack's Redis on loopback; else ForeignTargetError."""
        parts = self._split(url, "Redis URL")
        if parts.scheme != "redis":
            raise ForeignTargetError(f"Redis URL {url!r} must use redis:// over loopback TCP, not {parts.scheme!r}")
        self._host_port(f"Redis URL {url!r}", parts.hostname, parts.port, "redis")
        return url

    def http_url(self, url: str, component: str) -> str:
        """``url`` if it is ``http://`` to this stack's ``component`` on loopback; else ForeignTargetError."""
        parts = self._split(url, f"{component} URL")
        if parts.scheme != "http":
            raise ForeignTargetError(f"{component} URL {url!r} must be http:// on loopback, not {parts.scheme!r}")
        self._host_port(f"{component} URL {url!r}", parts.hostname, parts.port, component)
        return url

    @property
    def local_processes(self) -> bool:
        """The stack's components are local processes whose pids this guard can check (native)."""
        return bool(self.info.processes)

    def component(self, component: str) -> str:
        """``component`` if the stack runs it; ConfigError naming the components otherwise."""
        known = self.info.processes if self.local_processes else self.info.ports
        if not isinstance(component, str) or component not in known:
            raise ConfigError(
                f"unknown component {component!r}; stack {self.info.name!r} has "
                f"{', '.join(sorted(known)) or 'no components'}"
            )
        return component

    def owned(self, proc: Any, component: str) -> Any:
        """``proc`` (the backend's view of ``component``) if this stack started it; else ForeignTargetError."""
        if self.local_processes:
            self.pid(proc.pid, component)
        elif not proc.is_ours():
            raise ForeignTargetError(
                f"{component} (pid {proc.pid}) does not belong to stack {self.info.name!r}; refusing to touch it"
            )
        return proc

    def pid(self, pid: int, component: str | None = None) -> int:
        """``pid`` if it is (still) one of the stack's processes, optionally ``component``'s."""
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise ConfigError(f"a pid must be a positive integer, got {pid!r}")
        owners = [name for name, proc in self.info.processes.items() if proc.pid == pid]
        if not owners:
            raise ForeignTargetError(
                f"pid {pid} is not a process of stack {self.info.name!r} (its pids: {self.info.pids()}); "
                "refusing to signal a process this stack did not start"
            )
        if component is not None and component not in owners:
            raise ForeignTargetError(f"pid {pid} belongs to {owners[0]}, not to {component}")
        if not self.info.processes[owners[0]].is_ours():
            raise ForeignTargetError(
                f"pid {pid} was {owners[0]} of stack {self.info.name!r} but is now another process (pid reused)"
            )
        return pid

    @staticmethod
    def _split(url: str, what: str):
        if not isinstance(url, str) or not url:
            raise ConfigError(f"a {what} must be a non-empty string, got {url!r}")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise ConfigError(f"cannot parse the {what} {url!r}: {exc}") from exc
        return parts
