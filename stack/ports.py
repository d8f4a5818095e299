"""Free loopback ports, picked by the kernel so that a busy port is never chosen."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LOOPBACK", "PORT_LOCK", "connect_error", "free_ports", "is_local_address", "is_loopback",
           "listening_ports", "port_open", "ports_claimed"]

#: Held (flock) from picking free ports until the processes listen on them (bound, not yet ready), so
#: stacks started at the same moment (parallel test workers, two sessions) never pick the same port.
PORT_LOCK = Path(tempfile.gettempdir()) / "alertdrill-ports.lock"

LOOPBACK = "127.0.0.1"


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct ports that are free on ``host`` (127.0.0.1 by default) right now.

    All sockets stay open until every port is chosen, so the kernel cannot hand out one port twice.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1, localhost and names /etc/hosts maps to loopback only: the only
    addresses load and faults may target (one rule for every client: alertdrill.netpolicy)."""
    from alertdrill.netpolicy import is_loopback_host

    return is_loopback_host(host or "")


def is_local_address(host: str) -> bool:
    """True when ``host`` is an IP address of this machine (it can be bound to; nothing is sent).

    Load and the Locust master may use such an address, e.g. the host end of a veth pair that test
    hosts in network namespaces reach: traffic to it never leaves this machine's own interfaces.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.is_unspecified or address.is_multicast:  # 0.0.0.0 and :: bind everywhere: not one address
        return False
    try:
        with socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
    except OSError:
        return False
    return True


def connect_error(host: str, port: int, timeout: float = 1.0) -> str | None:
    """None when something listens on ``host:port``; else why a TCP connect failed.

    The stack's ports come from the ephemeral range, so a connect to a dead port can be given that
    very port as its source and "succeed" by connecting to itself (TCP simultaneous open); that is
    not a listener, and is reported as such.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if sock.getsockname() == sock.getpeername():
                return f"connect {host}:{port}: connected to itself (nothing listens)"
            return None
    except OSError as exc:
        return f"connect {host}:{port}: {exc.strerror or exc}"


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """Something listens on ``host:port`` (loopback by default)."""
    return connect_error(host, port, timeout) is None


def listening_ports(tables: tuple[str, ...] = ("/proc/net/tcp", "/proc/net/tcp6")) -> set[int]:
    """Local TCP ports in LISTEN state in this network namespace, read from the kernel's socket tables:
    no connection is made, so checking a port that is not served yet costs nothing and disturbs nobody."""
    found: set[int] = set()
    for table in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                found.add(int(fields[1].rsplit(":", 1)[1], 16))
    return found


@contextlib.contextmanager
def ports_claimed(lock: Path = PORT_LOCK) -> Iterator[None]:
    """Hold the machine-wide port lock: pick ports with :func:`free_ports` and bind them inside."""
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
