"""Remote-worker settings: precedence, one-line errors before anything runs, the master's and workers'
command lines (no stack, no traffic: whether an address is this machine's is a bind, not a send)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from alertdrill.errors import ConfigError, LoadError
from alertdrill.locustfiles import LoadOptions, LoadRun
from alertdrill.locustfiles.options import RemoteWorkers, remote_workers_setting
from alertdrill.locustfiles.process import LocustProcesses
from alertdrill.locustfiles.results import Artifacts
from alertdrill.settings import SETTINGS, resolve_settings
from alertdrill.stack.ports import is_local_address

TARGET = "http://127.0.0.1:8080"
NOT_HERE = "192.0.2.7"  # TEST-NET-1 (RFC 5737): never an address of this machine
REPO = Path(__file__).resolve().parents[2]


def test_neither_given_means_no_remote_workers():
    assert remote_workers_setting(None, None) is None
    assert resolve_settings(environ={}).load_master_bind is None


def test_option_beats_environment_and_port_defaults_to_locusts_own():
    env = {SETTINGS["load_master_bind"].env: "127.0.0.1:6000", SETTINGS["load_expect_workers"].env: "3"}
    settings = resolve_settings(environ=env)
    assert remote_workers_setting(settings.load_master_bind, settings.load_expect_workers) == \
        RemoteWorkers(bind="127.0.0.1", port=6000, expect=3)
    settings = resolve_settings(options={"load_master_bind": "127.0.0.2", "load_expect_workers": "2"}, environ=env)
    assert remote_workers_setting(settings.load_master_bind, settings.load_expect_workers) == \
        RemoteWorkers(bind="127.0.0.2", port=5557, expect=2)
    settings = resolve_settings(environ={**env, SETTINGS["load_master_bind"].env: ""})  # empty counts as unset
    with pytest.raises(LoadError, match="needs --load-master-bind"):
        remote_workers_setting(settings.load_master_bind, settings.load_expect_workers)
    with pytest.raises(ConfigError, match="ALERTDRILL_LOAD_EXPECT_WORKERS '0' must be >= 1"):
        resolve_settings(environ={SETTINGS["load_expect_workers"].env: "0"})


def test_port_zero_picks_a_free_port_on_that_address():
    remote = remote_workers_setting("127.0.0.1:0", "1")
    assert remote is not None and 0 < remote.port < 65536 and remote.address == f"127.0.0.1:{remote.port}"


@pytest.mark.parametrize(("bind", "expect", "message"), [
    ("127.0.0.1", None, "--load-master-bind 127.0.0.1 needs --load-expect-workers N"),
    (None, 2, "--load-expect-workers 2 needs --load-master-bind ADDR"),
    (NOT_HERE, 1, f"--load-master-bind '{NOT_HERE}' is not an IP address of this machine"),
    ("0.0.0.0", 1, "is not an IP address of this machine"),
    ("stackhost", 1, "is not an IP address of this machine"),
    ("127.0.0.1:http", 1, "must be ADDR or ADDR:PORT"),
    ("127.0.0.1:70000", 1, "port must be 0..65535"),
    ("127.0.0.1", 0, "--load-expect-workers must be a whole number in 1..64, got 0"),
    ("127.0.0.1", "two", "--load-expect-workers 'two' is not a whole number"),
])
def test_bad_settings_are_one_line_errors(bind, expect, message):
    with pytest.raises(LoadError, match=message) as exc:
        remote_workers_setting(bind, expect)
    assert "\n" not in str(exc.value)


def test_local_address_is_a_bind_check():
    assert is_local_address("127.0.0.1") and is_local_address("127.0.0.9")
    assert not is_local_address(NOT_HERE) and not is_local_address("0.0.0.0") and not is_local_address("localhost")


def test_with_remote_workers_the_target_may_be_an_address_of_this_machine_but_nothing_else():
    remote = RemoteWorkers(bind="127.0.0.1", port=5557, expect=1)
    with pytest.raises(LoadError, match="not a loopback address"):
        LoadOptions(profile="steady", target=f"http://{NOT_HERE}:8080")
    with pytest.raises(LoadError, match="neither loopback nor an address of this machine"):
        LoadOptions(profile="steady", target=f"http://{NOT_HERE}:8080", remote=remote)
    assert LoadOptions(profile="steady", target=TARGET + "/", remote=remote).target == TARGET


def test_master_binds_for_local_and_remote_workers_and_the_worker_command_carries_the_profile_options(tmp_path):
    remote = RemoteWorkers(bind="127.0.0.2", port=6001, expect=3)
    options = LoadOptions(profile="bench", target=TARGET, workers=1, parameters={"path": "/helloworld"}, remote=remote)
    procs = LocustProcesses(options=options, artifacts=Artifacts(tmp_path), startup_timeout=20, stop_grace=5)
    master = procs.master_command()
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.2"
    assert master[master.index("--master-bind-port") + 1] == "6001"
    assert master[master.index("--expect-workers") + 1] == "4"  # 1 local + 3 remote
    worker = procs.worker_command()
    assert worker[worker.index("--master-host") + 1] == "127.0.0.2"
    assert worker[worker.index("--master-port") + 1] == "6001"
    assert worker[worker.index("--alertdrill-path") + 1] == "/helloworld"
    assert worker[worker.index("-f") + 1].endswith("bench.py") and "--worker" in worker
    # only remote workers: still a master (a local run would ignore the workers)
    alone = LoadOptions(profile="steady", target=TARGET, remote=remote)
    master = LocustProcesses(options=alone, artifacts=Artifacts(tmp_path), startup_timeout=20,
                             stop_grace=5).master_command()
    assert "--master" in master and master[master.index("--expect-workers") + 1] == "3"


def test_load_run_prints_the_worker_command_before_waiting_and_waits_longer(tmp_path):
    remote = RemoteWorkers(bind="127.0.0.1", port=6002, expect=2)
    run = LoadRun(profile="steady", target=TARGET, artifacts_dir=tmp_path / "run", remote=remote)
    assert run.startup_timeout == 300.0  # someone has to start the workers first
    argv = shlex.split(run.remote_worker_command or "")
    assert argv[argv.index("--master-port") + 1] == "6002"
    assert LoadRun(profile="steady", target=TARGET, artifacts_dir=tmp_path / "r2").remote_worker_command is None


def test_cli_bad_remote_setting_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "alertdrill.cli", "--home", str(tmp_path), "load",
                           "--target", TARGET, "--load-master-bind", NOT_HERE, "--load-expect-workers", "2",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "is not an IP address of this machine" in done.stderr
    assert not (tmp_path / "out").exists()


def test_pytest_bad_remote_setting_is_a_usage_error_before_anything_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--co", "-q",
                           "--load-expect-workers", "2", str(REPO / "tests" / "load" / "test_remote_settings.py")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "alertdrill: --load-expect-workers 2 needs --load-master-bind ADDR" in done.stderr
    assert "Traceback" not in done.stderr


def test_pytest_options_reach_the_load_and_the_worker_command_is_shown_past_output_capture(tmp_path):
    (tmp_path / "test_announce.py").write_text(
        "def test_announce(load_remote_options):\n"
        "    remote = load_remote_options['remote']\n"
        "    assert (remote.bind, remote.expect) == ('127.0.0.1', 3) and remote.port > 0\n"
        "    print('captured, not shown')\n"
        "    load_remote_options['announce']('the worker command is shown')\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
                           "--load-master-bind", "127.0.0.1:0", "--load-expect-workers", "3",
                           str(tmp_path / "test_announce.py")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the worker command is shown" in done.stdout and "captured, not shown" not in done.stdout
