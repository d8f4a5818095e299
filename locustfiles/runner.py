"""``LoadRun``: load for the length of a scenario, then the client's view of it.

    with LoadRun(profile="steady", target=info.app_url, artifacts_dir=out, users=20, run_time=120,
                 ledger_dsn=info.postgres_dsn) as load:
        load.mark("fault")
        ...                                    # inject, wait for the alert, revert
        load.mark("reverted")
        during = load.window("fault", "reverted")   # live, complete up to "reverted"
    result = load.result                       # LoadResult; lost acknowledged writes raised already

``__enter__`` validates everything, checks that the target answers, starts Locust and returns once
the test has started. ``__exit__`` (or ``stop()``) ends the run the way ``--run-time`` does, kills
whatever is left after the grace period, reads Locust's CSV and the buckets, checks the write
ledger against Postgres and raises :class:`LostWritesError` naming the ids of lost writes.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from alertdrill.errors import LoadError
from alertdrill.locustfiles.buckets import RequestBuckets
from alertdrill.locustfiles.csvstats import parse_stats_csv
from alertdrill.locustfiles.ledger import check_ledger, read_ledger
from alertdrill.locustfiles.options import (
    DEFAULT_RUN_TIME,
    DEFAULT_USERS,
    LoadOptions,
    RemoteWorkers,
    check_target_answers,
)
from alertdrill.locustfiles.process import LocustProcesses, log_tail
from alertdrill.locustfiles.results import Artifacts, EndpointStats, LoadResult, WindowStats, check_within_run
from alertdrill.stack.ports import is_loopback
from alertdrill.waiting import poll_until

__all__ = ["LoadRun"]

DEFAULT_STARTUP_TIMEOUT = 30.0
#: Remote workers are started by someone (or something) after the worker command is printed.
DEFAULT_REMOTE_STARTUP_TIMEOUT = 300.0
DEFAULT_STOP_GRACE = 15.0
WINDOW_TIMEOUT = 10.0


class LoadRun:
    """One bounded, headless Locust run against a loopback target; a context manager."""

    def __init__(
        self,
        *,
        profile: str,
        target: str,
        artifacts_dir: Path,
        users: int = DEFAULT_USERS,
        spawn_rate: float | None = None,
        run_time: float = DEFAULT_RUN_TIME,
        workers: int = 0,
        parameters: Mapping[str, str] | None = None,
        ledger_dsn: str | None = None,
        check_target: bool = True,
        startup_timeout: float | None = None,
        stop_grace: float = DEFAULT_STOP_GRACE,
        remote: RemoteWorkers | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.options = LoadOptions(profile=profile, target=target, users=users, spawn_rate=spawn_rate,
                                   run_time=run_time, workers=workers, parameters=dict(parameters or {}),
                                   remote=remote)
        if startup_timeout is None:
            startup_timeout = DEFAULT_REMOTE_STARTUP_TIMEOUT if remote else DEFAULT_STARTUP_TIMEOUT
        if not startup_timeout > 0:
            raise LoadError(f"startup timeout must be > 0 s, got {startup_timeout!r}")
        if not stop_grace > 0:
            raise LoadError(f"stop grace must be > 0 s, got {stop_grace!r}")
        if artifacts_dir is None or str(artifacts_dir) == "":
            raise LoadError("artifacts_dir is required: Locust's CSV, HTML report and logs are written there")
        self.artifacts = Artifacts(Path(artifacts_dir).resolve())
        self.ledger_dsn = ledger_dsn
        self.check_target = check_target
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.marks: dict[str, float] = {}
        self.result: LoadResult | None = None
        self.announce = announce or (lambda text: print(text, flush=True))
        self._procs = LocustProcesses(options=self.options, artifacts=self.artifacts,
                                      startup_timeout=self.startup_timeout, stop_grace=self.stop_grace)
        self._started = False

    @property
    def remote_worker_command(self) -> str | None:
        """The exact shell command that starts one remote worker for this run (None without remote workers).

        The profile's locustfile, the master's address and port, the profile's options; the master
        sends the target, the users and the run time when the test starts.
        """
        return shlex.join(self._procs.worker_command()) if self.options.remote else None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LoadRun:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self._stop_after_error()
            return
        result = self.stop()
        if result.ledger is not None:
            result.ledger.raise_for_loss()

    def start(self) -> LoadRun:
        """Check the target, start Locust, return once its test has started (load is being spawned)."""
        if self._started:
            raise LoadError("this LoadRun was already started; create a new one for another run")
        self._started = True
        if self.artifacts.status.exists():
            raise LoadError(f"{self.artifacts.directory} already holds a load run; give each run its own directory")
        if self.check_target:
            check_target_answers(self.options.target)
        self.artifacts.directory.mkdir(parents=True, exist_ok=True)
        try:
            self._procs.start()
            if self.options.remote is not None:
                self._announce_remote(self.options.remote)
            self._wait_started()
        except BaseException:
            self._procs.kill()
            raise
        self.marks.setdefault("start", self._status().get("started_at", time.time()))
        return self

    def _announce_remote(self, remote: RemoteWorkers) -> None:
        command = self.remote_worker_command
        (self.artifacts.directory / "worker-command.txt").write_text(f"{command}\n")
        note = ""
        if is_loopback(urlsplit(self.options.target).hostname or ""):
            note = (f"\n  (the target {self.options.target} is loopback: on a worker host that is the host itself; "
                    f"forward it to this machine, e.g. ssh -L, or give a target address of this machine)")
        self.announce(f"load: Locust master on {remote.address} waits up to {self.startup_timeout:g} s for "
                      f"{remote.expect} remote worker(s) sending load to {self.options.target}; on each worker "
                      f"host run:\n  {command}{note}")

    def _status(self) -> dict:
        try:
            return json.loads(self.artifacts.status.read_text())
        except (OSError, ValueError):
            return {}

    def _wait_started(self) -> None:
        procs = self._procs

        def probe() -> str:
            state = self._status().get("state", "")
            if state in ("running", "done"):
                return state
            return "exited" if procs.master_exit_code() is not None else ""

        ok, state = poll_until(probe, timeout=self.startup_timeout, interval=0.1)
        if ok and state != "exited":
            return
        what = (f"Locust exited with code {procs.master_exit_code()} before its test started" if state == "exited"
                else f"Locust's test did not start within {self.startup_timeout:g} s "
                     f"(still running: {', '.join(procs.alive()) or 'nothing'})")
        raise LoadError(f"load profile {self.options.profile!r}: {what}; {self._log_hint()}")

    def _log_hint(self) -> str:
        tail = log_tail(self.artifacts.master_log, 6).replace("\n", " | ")
        return f"log {self.artifacts.master_log}: {tail}" if tail else f"no log at {self.artifacts.master_log}"

    @property
    def running(self) -> bool:
        return self._started and self._procs.master_exit_code() is None

    def alive(self) -> list[str]:
        """Roles of this run's Locust processes still alive: "master", "worker-1", ..."""
        return self._procs.alive()

    def mark(self, label: str) -> float:
        """Record that something happened now (a fault injected, reverted); returns the Unix time."""
        if not label or not isinstance(label, str):
            raise LoadError(f"a mark needs a non-empty label, got {label!r}")
        self.marks[label] = now = time.time()
        return now

    def resolve(self, when: str | float) -> float:
        if isinstance(when, str):
            try:
                return self.marks[when]
            except KeyError:
                raise LoadError(f"no mark {when!r}; marks are: {', '.join(self.marks) or 'none'}") from None
        return float(when)

    def window(self, start: str | float, end: str | float | None = None, *,
               timeout: float = WINDOW_TIMEOUT) -> WindowStats:
        """Stats between two marks or Unix times (``end`` defaults to now), once the buckets covers ``end``.

        While the run goes on, this waits (up to ``timeout`` s) until every request completed before
        ``end`` has reached the buckets: about 0.25 s locally, about 1 s with workers.
        """
        if self.result is not None:
            return self.result.window(start, end)
        t0 = self.resolve(start)
        t1 = self.resolve(end) if end is not None else time.time()

        def probe() -> RequestBuckets:
            return RequestBuckets.read(self.artifacts.buckets)

        ok, buckets = poll_until(probe, timeout=timeout, interval=0.1,
                                  accept=lambda tl: tl.covered_to >= t1 or not self.running)
        status = self._status()
        if status.get("state") == "done":
            check_within_run(t1, float(status["stopped_at"]))
        if buckets is None or (not ok and self.running):
            covered = buckets.covered_to if buckets else 0.0
            raise LoadError(f"the load's request buckets did not reach {t1:.2f} within {timeout:g} s (covered to "
                            f"{covered:.2f}); are the workers reporting? {self._log_hint()}")
        return buckets.window(t0, t1)

    def wait(self, timeout: float | None = None) -> LoadResult:
        """Let the run end by its run time (bounded by ``timeout``), then collect the result."""
        if not self._started:
            raise LoadError("the load run was never started")
        limit = timeout if timeout is not None else self._procs.hard_limit
        poll_until(lambda: not self.running, timeout=limit, interval=0.2)
        return self.stop()

    def stop(self) -> LoadResult:
        """End the run (gracefully, then by force after the grace period) and return the client's view."""
        if self.result is not None:
            return self.result
        if not self._started:
            raise LoadError("the load run was never started")
        procs = self._procs
        if self.running:
            self.marks.setdefault("stop", time.time())
            procs.request_stop()
        else:  # it ended by its run time before anyone asked
            self.marks.setdefault("stop", float(self._status().get("stopped_at") or time.time()))
        finished, _ = poll_until(lambda: not procs.alive(), timeout=self.stop_grace, interval=0.1)
        procs.kill()
        exit_code = procs.master_exit_code()
        self.result = self._collect(exit_code)
        self.artifacts.result.write_text(json.dumps(self.result.to_dict(), indent=2))
        if not finished or exit_code not in (0, None):
            reason = (f"exited with code {exit_code}" if exit_code not in (0, None)
                      else f"was killed after a {self.stop_grace:g} s grace period")
            raise LoadError(f"load profile {self.options.profile!r}: Locust {reason}; {self._log_hint()}")
        return self.result

    def kill(self) -> None:
        """Kill every Locust process of this run now, without collecting anything. Idempotent."""
        self._procs.kill()

    def _stop_after_error(self) -> None:
        """On an exception in the scenario: stop and collect what we can without masking the exception."""
        try:
            self.stop()
        except Exception:  # the scenario's own exception is the one to report
            self._procs.kill()

    def _collect(self, exit_code: int | None) -> LoadResult:
        status = self._status()
        buckets = RequestBuckets.read(self.artifacts.buckets)
        try:
            endpoints, total = parse_stats_csv(self.artifacts.stats_csv)
        except LoadError:
            endpoints, total = {}, EndpointStats.empty("", "Aggregated")
        started_at = float(status.get("started_at") or self.marks.get("start") or time.time())
        stopped_at = float(status.get("stopped_at") or time.time())
        whole = buckets.window(started_at - 1.0, stopped_at + 1.0)
        endpoints = {k: _with_codes(v, whole.endpoint(k).status_counts) for k, v in endpoints.items()}
        total = _with_codes(total, whole.status_counts)
        ledger = None
        if self.ledger_dsn and self.options.profile_spec.writes:
            ledger = check_ledger(read_ledger(self.artifacts.ledger), self.ledger_dsn)
        return LoadResult(
            profile=self.options.profile, target=self.options.target, users=self.options.users,
            workers=self.options.workers, started_at=started_at, stopped_at=stopped_at, total=total,
            endpoints=endpoints, marks=dict(self.marks), artifacts=self.artifacts, buckets=buckets,
            ledger=ledger, exit_code=exit_code,
            remote_workers=self.options.remote.expect if self.options.remote else 0,
            worker_totals={str(k): dict(v) for k, v in (status.get("workers") or {}).items()},
        )


def _with_codes(stats: EndpointStats, codes: dict[int, int]) -> EndpointStats:
    return replace(stats, status_counts=dict(codes))
