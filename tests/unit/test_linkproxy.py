"""The link proxy: its control file, its address checks, and a real proxy forwarding, slowing and cutting."""

from __future__ import annotations

import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from alertdrill.stack import linkproxy
from alertdrill.stack.linkproxy import LinkCondition, parse_args, read_condition
from alertdrill.stack.ports import LOOPBACK, free_ports
from alertdrill.waiting import poll_until

# -- the control file ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    (None, LinkCondition()),
    ("", LinkCondition()),
    ("{}", LinkCondition()),
    ("not json", LinkCondition()),
    ("[1, 2]", LinkCondition()),
    ('"cut"', LinkCondition()),
    ('{"latency_ms": 200}', LinkCondition(latency_ms=200.0)),
    ('{"latency_ms": 12.5}', LinkCondition(latency_ms=12.5)),
    ('{"latency_ms": "200"}', LinkCondition()),
    ('{"cut": true}', LinkCondition(cut=True)),
    ('{"cut": "yes"}', LinkCondition()),
    ('{"cut": 1}', LinkCondition()),
    ('{"cut": true, "latency_ms": 50}', LinkCondition(latency_ms=50.0, cut=True)),
])
def test_read_condition(tmp_path, text, expected):
    path = tmp_path / "redis.json"
    if text is not None:
        path.write_text(text)
    assert read_condition(path) == expected


def test_an_unreadable_control_file_is_a_healthy_link(tmp_path):
    assert read_condition(tmp_path) == LinkCondition()  # a directory: OSError on read


# -- addresses: loopback only, unless --allow-non-loopback -------------------------------------------


def _argv(listen: str, upstream: str, *extra: str) -> list[str]:
    return ["--listen", listen, "--upstream", upstream, "--control", "/tmp/links/postgres.json", *extra]


@pytest.mark.parametrize(("listen", "upstream"), [
    ("127.0.0.1:5433", "127.0.0.1:5432"),
    ("localhost:5433", "127.0.0.2:5432"),
    ("[::1]:5433", "::1:5432"),
])
def test_loopback_addresses_are_accepted_by_default(listen, upstream):
    options = parse_args(_argv(listen, upstream))
    assert options.allow_non_loopback is False
    assert options.listen[1] == 5433 and options.upstream[1] == 5432
    assert options.control == Path("/tmp/links/postgres.json")


def test_brackets_are_removed_from_an_ipv6_host():
    assert parse_args(_argv("[::1]:5433", "127.0.0.1:5432")).listen == ("::1", 5433)


@pytest.mark.parametrize(("listen", "upstream", "what"), [
    ("0.0.0.0:5433", "127.0.0.1:5432", "listen address '0.0.0.0:5433'"),
    ("10.1.2.3:5433", "127.0.0.1:5432", "listen address '10.1.2.3:5433'"),
    ("127.0.0.1:5433", "postgres:5432", "upstream 'postgres:5432'"),
    ("127.0.0.1:5433", "db.example.com:5432", "upstream 'db.example.com:5432'"),
])
def test_non_loopback_addresses_are_refused_by_default(listen, upstream, what):
    with pytest.raises(SystemExit) as refused:
        parse_args(_argv(listen, upstream))
    message = str(refused.value.code)
    assert message.startswith(f"linkproxy: {what} must be a loopback HOST:PORT")
    assert "--allow-non-loopback" in message and "\n" not in message


def test_allow_non_loopback_accepts_the_container_interface_and_service_names():
    options = parse_args(_argv("0.0.0.0:5433", "postgres:5432", "--allow-non-loopback"))
    assert options.allow_non_loopback is True
    assert (options.listen, options.upstream) == (("0.0.0.0", 5433), ("postgres", 5432))


@pytest.mark.parametrize("bad", ["postgres", "postgres:", ":5432", "postgres:0", "postgres:65536", "postgres:54x"])
@pytest.mark.parametrize("allow", [False, True])
def test_malformed_addresses_are_refused_even_with_the_flag(bad, allow):
    extra = ("--allow-non-loopback",) if allow else ()
    with pytest.raises(SystemExit) as refused:
        parse_args(_argv("127.0.0.1:5433", bad, *extra))
    assert f"upstream {bad!r} must be HOST:PORT with a port 1..65535" in str(refused.value.code)


def test_main_warns_when_it_listens_beyond_loopback(monkeypatch, capsys):
    served = []

    async def serve(listen, link):
        served.append((listen, link.upstream, link.control))

    monkeypatch.setattr(linkproxy, "_serve", serve)
    argv = _argv("0.0.0.0:5433", "postgres:5432", "--allow-non-loopback")
    assert linkproxy.main(argv) == 0
    assert served == [(("0.0.0.0", 5433), ("postgres", 5432), Path("/tmp/links/postgres.json"))]
    assert "listening on 0.0.0.0" in capsys.readouterr().err
    assert linkproxy.main(_argv("127.0.0.1:5433", "127.0.0.1:5432")) == 0
    assert capsys.readouterr().err == ""


def test_the_command_refuses_a_non_loopback_listen_address_without_the_flag(tmp_path):
    result = subprocess.run([sys.executable, "-m", "alertdrill.stack.linkproxy",
                             *_argv("0.0.0.0:5433", "127.0.0.1:5432")], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "linkproxy: listen address '0.0.0.0:5433' must be a loopback HOST:PORT, e.g. 127.0.0.1:6379 "
        "(inside a container network only: add --allow-non-loopback)"]


# -- a real proxy in front of an echo server ---------------------------------------------------------


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        with self.request:
            while data := self.request.recv(65536):
                self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo():
    server = _EchoServer((LOOPBACK, 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def _round_trip(port: int, payload: bytes = b"ping through the link\n") -> float | None:
    """Seconds for ``payload`` to come back through a new connection; None if the link lost it."""
    began = time.monotonic()
    try:
        with socket.create_connection((LOOPBACK, port), timeout=5) as sock:
            sock.sendall(payload)
            received = b""
            while len(received) < len(payload):
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                received += chunk
    except OSError:
        return None
    return time.monotonic() - began if received == payload else None


def _set(control: Path, condition: dict | None) -> None:
    """Write the control file as chaos/network.py does (atomic replace), or remove it."""
    if condition is None:
        control.unlink(missing_ok=True)
        return
    tmp = control.with_name(f".{control.name}.tmp")
    tmp.write_text(json.dumps(condition))
    tmp.replace(control)


@pytest.fixture
def proxy(tmp_path, echo):
    """``(port, control file)`` of a linkproxy process forwarding 127.0.0.1:port to the echo server."""
    (port,) = free_ports(1)
    control = tmp_path / "links" / "redis.json"
    control.parent.mkdir()
    log = (tmp_path / "linkproxy.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "alertdrill.stack.linkproxy", "--listen", f"{LOOPBACK}:{port}",
                             "--upstream", f"{LOOPBACK}:{echo}", "--control", str(control)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        up, _ = poll_until(lambda: proc.poll() is not None or _round_trip(port) is not None, timeout=20)
        assert up and proc.poll() is None, (tmp_path / "linkproxy.log").read_text()
        yield port, control
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise
        finally:
            log.close()
        assert code == 0, (tmp_path / "linkproxy.log").read_text()  # SIGTERM stops it cleanly


def test_a_healthy_link_forwards_both_ways(proxy):
    port, _ = proxy
    big = os.urandom(300_000)  # several chunks in each direction
    assert _round_trip(port, big) is not None
    assert _round_trip(port) is not None


def test_latency_holds_every_chunk_in_each_direction_until_removed(proxy):
    port, control = proxy
    latency = 0.3
    _set(control, {"latency_ms": latency * 1000})
    slow, seconds = poll_until(lambda: _round_trip(port), timeout=10, interval=0.05,
                               accept=lambda s: s is not None and s >= 2 * latency)
    assert slow, f"round trip {seconds} s, expected >= {2 * latency} s (there and back)"
    _set(control, None)
    fast, seconds = poll_until(lambda: _round_trip(port), timeout=10, interval=0.05,
                               accept=lambda s: s is not None and s < latency)
    assert fast, f"round trip {seconds} s after the latency was removed"


def test_a_cut_closes_open_connections_refuses_new_ones_and_heals(proxy):
    port, control = proxy
    with socket.create_connection((LOOPBACK, port), timeout=5) as held:
        held.sendall(b"before\n")
        assert held.recv(64) == b"before\n"
        _set(control, {"cut": True})
        try:
            after = held.recv(64)  # blocks until the proxy closes the connection (timeout 5 s)
        except ConnectionResetError:
            after = b""
        assert after == b"", "the open connection survived the cut"
    cut, _ = poll_until(lambda: _round_trip(port), timeout=10, interval=0.05, accept=lambda s: s is None)
    assert cut, "a new connection was forwarded through a cut link"
    for _ in range(3):  # still cut: accepted and closed at once, never forwarded
        assert _round_trip(port) is None
    _set(control, {})  # an empty condition is a healthy link
    healed, _ = poll_until(lambda: _round_trip(port), timeout=10, interval=0.05, accept=lambda s: s is not None)
    assert healed, "the link did not heal after the cut was lifted"


def test_the_proxy_imports_with_the_standard_library_alone():
    """It runs inside the compose stand-in containers, which have no third-party packages (a port-lease
    change once made it import tenacity, and every compose stack failed to start)."""
    import subprocess
    import sys

    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        top = name.split('.')[0]\n"
        "        if top not in sys.stdlib_module_names and top != 'alertdrill':\n"
        "            raise ImportError(f'{name} is not in the standard library')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import alertdrill.stack.linkproxy\n"
    )
    done = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
