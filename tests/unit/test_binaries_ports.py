"""Binary resolution across platforms, and loopback port picking."""

import socket

import pytest

from alertdrill.errors import BinaryNotFoundError
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
    """The port lock is released once every component's port is in LISTEN state: bound is not enough."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert port not in listening_ports()  # bound, not listening: another stack could still not take it,
        sock.listen()                         # but the component is not serving yet
        assert port in listening_ports()
    assert port not in listening_ports()
