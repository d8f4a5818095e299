"""Profiles, options and bad input: clear one-line errors before any load starts (no stack needed)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime

import pytest

from alertdrill.errors import LoadError
from alertdrill.locustfiles import PROFILES, LoadOptions, LoadRun, check_target_answers, get_profile
from alertdrill.locustfiles.process import LocustProcesses
from alertdrill.locustfiles.results import Artifacts
from alertdrill.locustfiles.shapes import spike_users
from alertdrill.stack.ports import free_ports

TARGET = "http://127.0.0.1:8080"


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_the_issue_profiles_exist_with_their_locustfiles():
    assert {"steady", "spike", "write_ledger"} <= set(PROFILES)
    for profile in PROFILES.values():
        assert profile.locustfile.is_file(), profile.name
    assert get_profile("write_ledger").writes


def test_unknown_profile_names_the_choices():
    with pytest.raises(LoadError) as exc:
        get_profile("stedy")
    assert one_line(exc) == "unknown load profile 'stedy'; choose one of: bench, spike, steady, write_ledger"


def test_the_controller_never_imports_locust_or_gevent():
    code = ("import sys, alertdrill.locustfiles, alertdrill.cli.load, alertdrill.locustfiles.fixtures; "
            "bad = [m for m in ('locust', 'gevent') if m in sys.modules]; sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_every_locustfile_loads_in_locust():
    procs = {name: subprocess.Popen([sys.executable, "-m", "locust", "-f", str(p.locustfile), "--list"],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for name, p in PROFILES.items()}
    listed = {name: proc.communicate(timeout=60)[0] for name, proc in procs.items()}
    assert "SteadyUser" in listed["steady"]
    assert "SteadyUser" in listed["spike"]
    assert "WriteLedgerUser" in listed["write_ledger"]
    assert "BenchUser" in listed["bench"]
    assert all(proc.returncode == 0 for proc in procs.values()), listed


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"users": 0}, "users must be a whole number > 0, got 0"),
    ({"users": -3}, "users must be a whole number > 0, got -3"),
    ({"users": 2.5}, "users must be a whole number > 0, got 2.5"),
    ({"users": True}, "users must be a whole number > 0, got True"),
    ({"spawn_rate": 0}, "spawn rate must be a number > 0 users/s, got 0"),
    ({"run_time": 0}, "run time must be a number of seconds in (0, 21600], got 0"),
    ({"run_time": float("inf")}, "run time must be a number of seconds in (0, 21600], got inf"),
    ({"workers": -1}, "workers must be a whole number in 0..64, got -1"),
    ({"profile": "nope"}, "unknown load profile 'nope'; choose one of: bench, spike, steady, write_ledger"),
    ({"parameters": {"path": "/x"}}, "profile 'steady' does not accept parameter(s) path (accepted: none)"),
    ({"target": "http://10.0.0.5:8080"}, "load target 'http://10.0.0.5:8080' is not a loopback address: "
     "alertdrill only sends load to the stack on this machine (127.0.0.0/8, ::1, localhost) unless --allow-remote is "
     "given"),
    ({"target": "http://example.com"}, "load target 'http://example.com' is not a loopback address: "
     "alertdrill only sends load to the stack on this machine (127.0.0.0/8, ::1, localhost) unless --allow-remote is "
     "given"),
    ({"target": "127.0.0.1:8080"}, "load target '127.0.0.1:8080' is not an http(s) URL like http://127.0.0.1:8080"),
])
def test_bad_options_are_one_line_errors_naming_the_value(kwargs, message):
    options = {"profile": "steady", "target": TARGET, **kwargs}
    with pytest.raises(LoadError) as exc:
        LoadOptions(**options)
    assert one_line(exc) == message


def test_good_options_have_sane_defaults():
    options = LoadOptions(profile="bench", target="http://localhost:9/", parameters={"path": "/status"})
    assert (options.users, options.run_time, options.workers) == (10, 60.0, 0)
    assert options.target == "http://localhost:9"
    assert options.effective_spawn_rate == 10.0
    assert LoadOptions(profile="steady", target=TARGET, run_time=2.2).run_seconds == 3


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        LoadOptions("steady", TARGET)  # type: ignore[misc]


def test_a_target_that_does_not_answer_is_one_line(tmp_path):
    port = free_ports(1)[0]
    with pytest.raises(LoadError) as exc:
        check_target_answers(f"http://127.0.0.1:{port}")
    assert one_line(exc).startswith(f"load target http://127.0.0.1:{port} does not answer (GET /status: ")


def test_bad_input_fails_before_any_process_starts(tmp_path):
    port = free_ports(1)[0]
    out = tmp_path / "run"
    with pytest.raises(LoadError, match="does not answer"), \
            LoadRun(profile="steady", target=f"http://127.0.0.1:{port}", artifacts_dir=out, run_time=2):
        pass
    assert not out.exists()
    with pytest.raises(LoadError, match="users must be"):
        LoadRun(profile="steady", target=TARGET, artifacts_dir=out, users=0)
    with pytest.raises(LoadError, match="stop grace"):
        LoadRun(profile="steady", target=TARGET, artifacts_dir=out, stop_grace=0)


def test_every_run_is_bounded_by_run_time_and_a_hard_kill(tmp_path):
    options = LoadOptions(profile="steady", target=TARGET, users=4, run_time=7, workers=2)
    procs = LocustProcesses(options=options, artifacts=Artifacts(tmp_path), startup_timeout=20, stop_grace=5)
    master = procs.master_command()
    assert master[master.index("--run-time") + 1] == "7s"
    assert {"--headless", "--master", "--csv-full-history"} <= set(master)
    assert master[master.index("--expect-workers") + 1] == "2"
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    assert procs.hard_limit == 32
    assert procs._bounded(["x"])[:4] == ["/usr/bin/timeout", "-s", "KILL", "32s"]
    worker = procs.worker_command()
    assert worker[worker.index("--master-port") + 1] == str(procs.master_port)


def test_spike_ramps_holds_the_peak_and_falls_back():
    users = [spike_users(t / 10, run_time=10, peak=20) for t in range(100)]
    assert users[0] == 4 and users[-1] == 4
    assert max(users) == 20 and users[50] == 20
    peak_start, peak_end = users.index(20), len(users) - users[::-1].index(20)
    assert users[:peak_start] == sorted(users[:peak_start])
    assert users[peak_end:] == sorted(users[peak_end:], reverse=True)
    assert spike_users(10, run_time=10, peak=20) is None
    assert spike_users(0, run_time=5, peak=1) == 1


SLOW_IMPORT_LOCUSTFILE = '''
import time
from locust import User, constant, task
import alertdrill.locustfiles.collect  # noqa: F401
t0 = time.perf_counter()
while time.perf_counter() - t0 < 2.0:  # a slow import (CPU), as on a busy machine
    pass
class Idle(User):
    wait_time = constant(1)
    @task
    def idle(self):
        pass
'''


def test_a_slow_start_does_not_eat_into_the_run_time(tmp_path):
    """gevent's loop clock stands still while Locust imports; the run-time timer must start from now."""
    locustfile = tmp_path / "slow_import.py"
    locustfile.write_text(SLOW_IMPORT_LOCUSTFILE)
    done = subprocess.run(["timeout", "-s", "KILL", "40s", sys.executable, "-m", "locust", "-f", str(locustfile),
                           "--headless", "-u", "1", "-r", "1", "-t", "3s", "--only-summary"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    stamps = {}
    for line in done.stderr.splitlines():
        found = re.match(r"\[(\S+ \S+)\].*(Run time limit set|--run-time limit reached)", line)
        if found:
            stamps[found.group(2)] = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f")
    assert len(stamps) == 2, done.stderr[-2000:]
    ran = (stamps["--run-time limit reached"] - stamps["Run time limit set"]).total_seconds()
    assert ran >= 2.9, f"a 3 s run stopped after {ran:.3f} s"
