"""The Locust processes of one run: command lines, start, graceful stop, hard kill.

Locust runs in subprocesses, never inside the controller: importing ``locust`` monkey-patches the
importing process with gevent, which breaks the threads, psycopg connections and requests sessions
that pytest, the stack fixtures and the fault injectors use. A subprocess also gives a hard bound a
crash of the controller cannot lift: each process runs under ``timeout -s KILL``, so it dies at
startup allowance + run time + grace even if nobody is left to stop it. Local and distributed runs
use the same path: distributed is Locust's own master plus N ``--worker`` processes, exactly what the
README describes for workers on other machines.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alertdrill.locustfiles.options import LoadOptions
from alertdrill.locustfiles.results import Artifacts
from alertdrill.stack.ports import LOOPBACK, free_ports

__all__ = ["LocustProcesses", "log_tail"]


def log_tail(path: Path, lines: int = 12) -> str:
    """The last lines of a log, for error messages (empty if there is no log)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class _Proc:
    role: str
    popen: subprocess.Popen[bytes]
    log: Path


class LocustProcesses:
    """Starts and stops the Locust master (or local runner) and its workers for one run."""

    def __init__(self, *, options: LoadOptions, artifacts: Artifacts, startup_timeout: float,
                 stop_grace: float, python: str | None = None) -> None:
        self.options = options
        self.artifacts = artifacts
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.python = python or sys.executable
        remote = options.remote
        self.master_host = remote.bind if remote else LOOPBACK
        self.master_port = remote.port if remote else free_ports(1)[0] if options.workers else None
        self._procs: list[_Proc] = []
        self._watchdog: threading.Timer | None = None
        self.watchdog_fired = False  # the controller's own backstop had to kill the run

    # -- command lines ---------------------------------------------------------------------------

    @property
    def hard_limit(self) -> float:
        """Seconds after start when every process is killed, whatever state it is in."""
        return self.startup_timeout + self.options.run_seconds + self.stop_grace

    def master_command(self) -> list[str]:
        o = self.options
        cmd = [
            self.python, "-m", "locust", "-f", str(o.profile_spec.locustfile),
            "--headless", "--host", o.target,
            "--users", str(o.users), "--spawn-rate", f"{o.effective_spawn_rate:g}",
            "--run-time", f"{o.run_seconds}s",
            "--csv", str(self.artifacts.csv_prefix), "--csv-full-history", "--html", str(self.artifacts.html),
            "--exit-code-on-error", "0", "--only-summary",
            "--alertdrill-out", str(self.artifacts.directory),
        ]
        cmd += self._profile_options()
        if o.distributed:
            cmd += ["--master", "--master-bind-host", self.master_host, "--master-bind-port", str(self.master_port),
                    "--expect-workers", str(o.expected_workers),
                    "--expect-workers-max-wait", str(int(self.startup_timeout))]
        return cmd

    def _profile_options(self) -> list[str]:
        return [arg for key, value in sorted(self.options.parameters.items()) for arg in (f"--alertdrill-{key}", value)]

    def worker_command(self) -> list[str]:
        """One worker's command line: the profile's locustfile and options, joining this run's master.

        The same for a local worker and for one on another host (``LoadRun.remote_worker_command``);
        the master forwards the target and users, the profile's options are given here as well.
        """
        return [self.python, "-m", "locust", "-f", str(self.options.profile_spec.locustfile),
                "--worker", "--master-host", self.master_host, "--master-port", str(self.master_port),
                *self._profile_options()]

    def _bounded(self, cmd: Sequence[str]) -> list[str]:
        timeout = shutil.which("timeout")
        return [timeout, "-s", "KILL", f"{self.hard_limit:.0f}s", *cmd] if timeout else list(cmd)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the master (or local runner), then the workers; all in their own process groups."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}  # no stray Locust config
        env["PYTHONUNBUFFERED"] = "1"
        self.artifacts.directory.mkdir(parents=True, exist_ok=True)
        self._spawn("master", self.master_command(), self.artifacts.master_log, env)
        for index in range(1, self.options.workers + 1):
            self._spawn(f"worker-{index}", self.worker_command(), self.artifacts.worker_log(index), env)
        self._watchdog = threading.Timer(self.hard_limit + 1.0, self._watchdog_kill)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _spawn(self, role: str, cmd: list[str], log: Path, env: dict[str, str]) -> None:
        with log.open("ab") as out:
            # cwd: the artifacts directory, so no locust.conf or pyproject.toml of the caller's cwd applies
            popen = subprocess.Popen(self._bounded(cmd), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, cwd=self.artifacts.directory, env=env,
                                     start_new_session=True)
        self._procs.append(_Proc(role, popen, log))

    def master_exit_code(self) -> int | None:
        """The master's exit code once it has exited (``timeout`` passes it through), else None."""
        return self._procs[0].popen.poll() if self._procs else None

    def alive(self) -> list[str]:
        return [p.role for p in self._procs if p.popen.poll() is None]

    def request_stop(self) -> bool:
        """Ask the master to end the run now, as --run-time would (report and CSV written); False if it cannot."""
        pid = self._locust_master_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            return False
        return True

    def _locust_master_pid(self) -> int | None:
        """The Locust master's own pid (under ``timeout`` it is a child), read from status.json."""
        if not self._procs or self._procs[0].popen.poll() is not None:
            return None
        try:
            pid = int(json.loads(self.artifacts.status.read_text())["pid"])
            same_group = os.getpgid(pid) == self._procs[0].popen.pid
        except (OSError, ValueError, KeyError):
            return None
        return pid if same_group else None

    def _watchdog_kill(self) -> None:
        """Backstop in the controller, one second after ``timeout`` should have killed everything."""
        if self.alive():
            self.watchdog_fired = True
        self.kill()

    def kill(self) -> None:
        """SIGKILL every process group of the run and reap them. Idempotent."""
        for proc in self._procs:
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
        for proc in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=5)
        if self._watchdog is not None:
            self._watchdog.cancel()

    def logs(self) -> dict[str, Path]:
        return {p.role: p.log for p in self._procs}
