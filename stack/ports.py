"""Free loopback ports, picked by the kernel so that a busy port is never chosen."""

from __future__ import annotations

import socket

__all__ = ["LOOPBACK", "connect_error", "free_ports", "is_loopback", "port_open"]

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that are free on 127.0.0.1 right now.

    All sockets stay open until every port is chosen, so the kernel cannot hand out one port twice.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only addresses load and faults may target."""
    if host in ("localhost", "::1", "[::1]"):
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and int(p) < 256 for p in parts)


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
