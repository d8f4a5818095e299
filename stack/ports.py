"""Free loopback ports that nobody else is handed: outside the kernel's ephemeral range, leased per process.

Two ways a picked port used to be lost before its component bound it (or while a fault had stopped the
component): the kernel gave it to an outgoing connection as its source port, or another stack picked it
too. Ports are therefore taken below ``ip_local_port_range`` (the kernel never hands those out on its own)
and recorded in a machine-wide lease file while the process that picked them lives.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import random
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["LOOPBACK", "PORT_LEASES", "Lease", "connect_error", "free_ports", "is_local_address", "is_loopback",
           "listening_ports", "port_open"]

#: Ports handed out and the process each is leased to (JSON lines, pruned of dead processes at each
#: pick), under flock: stacks, Locust masters and tests started at the same moment never share a port.
#: One file per user: another user's file in the sticky temp directory could be read but not written.
PORT_LEASES = Path(tempfile.gettempdir()) / f"alertdrill-ports-{os.getuid()}.leases"

LOOPBACK = "127.0.0.1"

#: Lowest port picked; below the ephemeral range the pick is random in [PORT_FLOOR, range start).
PORT_FLOOR = 15000
#: Random candidates tried per port before the pick falls back to a kernel-chosen ephemeral port.
PICK_ATTEMPTS = 200
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@dataclass(frozen=True)
class Lease:
    """A port handed to one process: its pid and start time (clock ticks since boot), so a reused pid
    does not keep a dead process' lease alive."""

    port: int
    pid: int
    started: int


def free_ports(count: int, host: str = LOOPBACK, *, leases: Path | None = None) -> list[int]:
    """``count`` distinct ports that are free on ``host`` (127.0.0.1 by default) and leased to this
    process until it exits: no other alertdrill process is handed them, and being outside the ephemeral
    range, no outgoing connection takes them either (a stopped Redis gets its port back)."""
    # Imported here: the link proxy imports this module inside containers that have the standard
    # library alone (stack.process needs tenacity).
    from alertdrill.stack.process import process_start_ticks

    with _leases_locked(leases or PORT_LEASES) as held:
        taken = {lease.port for lease in held} | listening_ports()
        picked: list[int] = []
        for _ in range(count):
            port = _pick(host, taken)
            taken.add(port)
            picked.append(port)
        me, started = os.getpid(), process_start_ticks(os.getpid()) or 0
        held.extend(Lease(port, me, started) for port in picked)
        return picked


def _pick(host: str, taken: set[int]) -> int:
    """A port below the ephemeral range that binds on ``host`` now; the kernel's choice if none does."""
    low = _ephemeral_start()
    if low - PORT_FLOOR >= 1000:
        for _ in range(PICK_ATTEMPTS):
            port = random.randrange(PORT_FLOOR, low)
            if port not in taken and _binds(host, port):
                return port
    for _ in range(PICK_ATTEMPTS):  # a machine whose ephemeral range starts low: the kernel's choice
        port = _bind_any(host)
        if port not in taken:
            return port
    raise OSError(f"no free port on {host} after {2 * PICK_ATTEMPTS} attempts ({len(taken)} leased or listening)")


def _ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _binds(host: str, port: int) -> bool:
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _bind_any(host: str) -> int:
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _leases_locked(path: Path) -> Iterator[list[Lease]]:
    """The live leases, under an exclusive flock held for the pick only (milliseconds); what the caller
    leaves in the list is written back."""
    from alertdrill.stack.process import process_start_ticks

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            held = []
            for line in handle.read().splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError):  # a torn or foreign line: dropped
                    raw = json.loads(line)
                    lease = Lease(int(raw["port"]), int(raw["pid"]), int(raw["started"]))
                    if process_start_ticks(lease.pid) == lease.started:  # the same process, not a reused pid
                        held.append(lease)
            yield held
            handle.seek(0)
            handle.truncate()
            handle.write("".join(json.dumps(asdict(lease)) + "\n" for lease in held))
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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

    A connect to a dead port in the ephemeral range can be given that very port as its source and
    "succeed" by connecting to itself (TCP simultaneous open); that is not a listener, and is reported
    as such.
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
