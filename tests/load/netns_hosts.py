"""Test hosts on this machine: network namespaces, each joined to it by a veth pair of its own.

A namespace has its own network stack: a process in it reaches nothing but the host end of its
veth pair (and, by one /32 route, the first host's "service" address, where the test puts the
Locust master and the app). Addresses come from a /24 of 10.213.0.0/16 that no interface of this
machine uses; each host gets a /30 of it. No traffic ever goes to any other address: no default
route, no forwarding rule, nothing leaves this machine's own interfaces.

Everything is removed on the way out, also after a failure: the processes started in the
namespaces (by pid), the namespaces, and with them both ends of each veth pair.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from alertdrill.stack.ports import connect_error, free_ports
from alertdrill.waiting import poll_until

__all__ = ["TestHost", "app_listener_on", "namespace_hosts", "netns_support_missing", "processes_in"]

SUPERNET = ipaddress.ip_network("10.213.0.0/16")
IP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TestHost:
    """One test host: its namespace, its veth ends and their addresses."""

    __test__ = False  # not a pytest test class

    namespace: str
    host_interface: str
    host_address: str  # this machine's end of the pair
    address: str  # the namespace's end


def netns_support_missing() -> str | None:
    """Why test hosts cannot be made here (no ``ip``, not root), or None."""
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (scripts/setup.sh installs it)"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 of 10.213.0.0/16 that no address of this machine is in (per pid, to keep parallel runs apart)."""
    used = _ip("-4", "-o", "addr", "show").stdout
    subnets = list(SUPERNET.subnets(new_prefix=24))
    start = os.getpid() % len(subnets)
    for subnet in subnets[start:] + subnets[:start]:
        if f" {subnet.network_address.exploded.rsplit('.', 1)[0]}." not in used:
            return subnet
    raise RuntimeError(f"every /24 of {SUPERNET} is in use on this machine")


@contextlib.contextmanager
def namespace_hosts(count: int) -> Iterator[list[TestHost]]:
    """``count`` test hosts; all of them reach the first host's ``host_address`` (the service address)."""
    subnet = _free_subnet()
    tag = f"{os.getpid() % 100000}{subnet.network_address.packed[2]:02x}"
    hosts: list[TestHost] = []
    try:
        for index in range(count):
            pair = list(subnet.subnets(new_prefix=30))[index]
            host = TestHost(namespace=f"alertdrill-{tag}-{index}", host_interface=f"adh{tag}{index}"[:15],
                            host_address=str(pair.network_address + 1), address=str(pair.network_address + 2))
            hosts.append(host)
            _ip("netns", "add", host.namespace)
            _ip("link", "add", host.host_interface, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
            _ip("addr", "add", f"{host.host_address}/30", "dev", host.host_interface)
            _ip("link", "set", host.host_interface, "up")
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/30", "dev", "eth0")
            _ip("-n", host.namespace, "link", "set", "lo", "up")
            _ip("-n", host.namespace, "link", "set", "eth0", "up")
            if index:  # the service address sits on the first pair; one /32 route to it, nothing else
                _ip("-n", host.namespace, "route", "add", f"{hosts[0].host_address}/32", "via", host.host_address)
        yield hosts
    finally:
        for host in hosts:
            _ip("netns", "del", host.namespace, check=False)  # takes the veth pair with it
            _ip("link", "del", host.host_interface, check=False)  # in case the namespace never got its end


@contextlib.contextmanager
def processes_in(hosts: Sequence[TestHost], command: Sequence[str], workdir: Path,
                 limit_s: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run ``command`` once in each host's namespace (under ``timeout -s KILL``); killed by pid afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for host in hosts:
            home = workdir / host.namespace  # each host its own directory: nothing shared on disk
            home.mkdir(parents=True, exist_ok=True)
            with (home / "worker.log").open("ab") as log:
                procs.append(subprocess.Popen(
                    ["ip", "netns", "exec", host.namespace, "timeout", "-s", "KILL", f"{limit_s:.0f}s", *command],
                    cwd=home, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True))
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


@contextlib.contextmanager
def app_listener_on(address: str, app_url: str, workdir: Path, timeout: float = 10.0) -> Iterator[str]:
    """The stack's app, also reachable on ``address`` (an address of this machine) through the
    project's link proxy; yields the URL there."""
    upstream = app_url.removeprefix("http://").rstrip("/")
    port = free_ports(1, address)[0]
    log = workdir / "app-listener.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "alertdrill.stack.linkproxy", "--allow-non-loopback",
             "--listen", f"{address}:{port}", "--upstream", upstream, "--control", str(workdir / "link.json")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ok, error = poll_until(lambda: connect_error(address, port), timeout=timeout, interval=0.05,
                               accept=lambda e: e is None or proc.poll() is not None)
        if not ok or proc.poll() is not None:
            raise RuntimeError(f"the app listener on {address}:{port} did not come up within {timeout:g} s "
                               f"({error}); log {log}: {log.read_text()[-400:]}")
        yield f"http://{address}:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
