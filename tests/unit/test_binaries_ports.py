"""Binary resolution across platforms, and loopback port picking."""

import json
import socket
import subprocess
import sys

import pytest

from alertdrill.errors import BinaryNotFoundError
from alertdrill.stack import ports
from alertdrill.stack.binaries import Binary, resolve
from alertdrill.stack.ports import free_ports, is_loopback, listening_ports


def test_first_existing_candidate_wins(tmp_path, monkeypatch):
    exe = tmp_path / "alertmanager"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = Binary("alertmanager", ("prometheus-alertmanager", "alertmanager"), "X_AM_BIN", "prometheus-alertmanager")
    assert binary.resolve() == str(exe)


def test_environment_override(tmp_path, monkeypatch):
    exe = tmp_path / "my-redis"
    exe.write_text("#!/bin/sh\necho 'Redis server v=7.0.15'\n")
    exe.chmod(0o755)
    monkeypatch.setenv("ALERTDRILL_REDIS_SERVER_BIN", str(exe))
    assert resolve("redis-server") == str(exe)


def test_missing_binary_names_package_and_variable(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    binary = Binary("redis-server", ("redis-server",), "ALERTDRILL_REDIS_SERVER_BIN", "redis-server")
    with pytest.raises(BinaryNotFoundError) as info:
        binary.resolve()
    message = str(info.value)
    assert "apt-get install redis-server" in message and "ALERTDRILL_REDIS_SERVER_BIN" in message
    assert "\n" not in message


def test_bad_override_is_named(monkeypatch):
    monkeypatch.setenv("ALERTDRILL_PROMETHEUS_BIN", "/nonexistent/prometheus")
    with pytest.raises(BinaryNotFoundError, match="ALERTDRILL_PROMETHEUS_BIN"):
        resolve("prometheus")


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(8)
    assert len(set(ports)) == 8
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_busy_port_is_never_picked():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert busy.getsockname()[1] not in free_ports(20)


@pytest.mark.parametrize("host,ok", [("127.0.0.1", True), ("127.9.9.9", True), ("localhost", True),
                                     ("::1", True), ("10.0.0.1", False), ("192.168.1.1", False),
                                     ("example.com", False), ("127.0.0.256", False)])
def test_is_loopback(host, ok):
    assert is_loopback(host) is ok


def test_override_that_is_another_program_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ALERTDRILL_PROMETHEUS_BIN", "/bin/sleep")
    with pytest.raises(BinaryNotFoundError, match=r"ALERTDRILL_PROMETHEUS_BIN='/bin/sleep' is not prometheus: "
                                                  r"`sleep --version` printed 'sleep \(GNU coreutils\)"):
        resolve("prometheus")


def test_listening_ports_sees_a_port_from_listen_until_close():
    """A served port is never picked: listening_ports reads the kernel's table (bound is not listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert port not in listening_ports()
        sock.listen()
        assert port in listening_ports()
    assert port not in listening_ports()


def test_ports_are_picked_below_the_ephemeral_range():
    """The kernel hands ephemeral ports to outgoing connections: one could take a picked port before its
    component binds it, or while a fault has the component stopped (the CI failure that led here)."""
    start = int(ports.EPHEMERAL_RANGE.read_text().split()[0])
    picked = free_ports(50)
    assert all(ports.PORT_FLOOR <= port < start for port in picked), picked


def _pick_first(monkeypatch, port: int) -> None:
    """The random pick proposes ``port`` first, then the rest of the range."""
    proposals = iter([port])
    real = ports.random.randrange
    monkeypatch.setattr(ports.random, "randrange", lambda a, b: next(proposals, None) or real(a, b))


def test_a_port_leased_to_a_live_process_is_not_handed_out_again(tmp_path, monkeypatch):
    leases = tmp_path / "leases"
    (first,) = free_ports(1, leases=leases)
    _pick_first(monkeypatch, first)  # the random pick proposes the leased port again: refused
    (second,) = free_ports(1, leases=leases)
    assert second != first
    assert sorted(json.loads(line)["port"] for line in leases.read_text().splitlines()) == sorted([first, second])


def test_a_lease_of_a_dead_process_is_given_back(tmp_path, monkeypatch):
    leases = tmp_path / "leases"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)
    port = free_ports(1, leases=tmp_path / "scratch")[0]
    leases.write_text(json.dumps({"port": port, "pid": dead_pid, "started": "1"}) + "\n")
    _pick_first(monkeypatch, port)
    assert free_ports(1, leases=leases) == [port]
