"""alertdrill's private dockerd: a crashed run's daemon is found and stopped; a live owner's is left alone."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from alertdrill.errors import StackStartError
from alertdrill.stack.engine.daemon import PrivateEngine, _is_dockerd, _read_pid, engine_answers

pytestmark = pytest.mark.skipif(shutil.which("dockerd") is None,
                                reason="dockerd is not installed (`bash scripts/setup.sh --docker`)")

#: The test daemons run no container: no iptables rules, so they never touch the module engine's.
ARGS = ("--iptables=false",)
_OWNER = textwrap.dedent("""
    import sys, time
    from alertdrill.stack.engine.daemon import PrivateEngine
    engine = PrivateEngine(sys.argv[1], extra_args=("--iptables=false",)).start()
    print(engine.host, flush=True)
    time.sleep(600)
""")


@pytest.fixture
def directory():
    # Short: the daemon's sockets live below it (Unix socket paths are limited to 107 bytes).
    path = Path(tempfile.mkdtemp(prefix="ad-engine-", dir="/tmp"))
    yield path
    PrivateEngine(path, extra_args=ARGS).stop()
    shutil.rmtree(path, ignore_errors=True)


def _owner(directory: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", _OWNER, str(directory)], stdout=subprocess.PIPE, text=True)
    host = child.stdout.readline().strip()
    assert host == f"unix://{directory}/docker.sock", host
    return child


def test_a_crashed_runs_daemon_is_found_and_stopped_by_the_next_run(directory):
    child = _owner(directory)
    child.send_signal(signal.SIGKILL)  # the run dies; its daemon (own session) does not
    child.wait(timeout=30)
    child.stdout.close()
    pid = _read_pid(directory / "docker.pid")
    assert pid and _is_dockerd(pid) and engine_answers(f"unix://{directory}/docker.sock")

    engine = PrivateEngine(directory, extra_args=ARGS)
    with engine as started:  # the next run
        assert not _is_dockerd(pid), "the crashed run's daemon must be stopped first"
        assert engine_answers(started.host) and started.private
        new_pid = _read_pid(engine.pidfile)
        assert new_pid != pid
    assert not _is_dockerd(new_pid) and not engine.socket.exists() and not engine.ownerfile.exists()


def test_a_live_owners_daemon_is_left_alone_with_one_line(directory):
    child = _owner(directory)
    try:
        pid = _read_pid(directory / "docker.pid")
        with pytest.raises(StackStartError) as err:
            PrivateEngine(directory, extra_args=ARGS).start()
        assert f"belongs to pid {child.pid}, which still runs" in str(err.value) and "\n" not in str(err.value)
        assert _is_dockerd(pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert PrivateEngine(directory, extra_args=ARGS).reap_crashed()
    assert not _is_dockerd(pid)


def test_no_dockerd_is_one_line(tmp_path):
    with pytest.raises(StackStartError, match="dockerd is not installed; start Docker, set DOCKER_HOST"):
        PrivateEngine(tmp_path, dockerd=str(tmp_path / "missing-dockerd")).start()
