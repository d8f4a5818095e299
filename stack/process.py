"""Local processes of the stack: spawn detached, identify safely, signal whole process groups.

Each component runs in its own session, so a stop, kill or pause reaches every process it forked
(Postgres backends, gunicorn workers) and nothing else. A pid read back from disk is trusted only
if the process still has the start time recorded when it was spawned, so a recycled pid is never
signalled.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from alertdrill.waiting import poll_until

__all__ = [
    "ProcessSpec",
    "RunningProcess",
    "child_pids",
    "group_states",
    "log_tail",
    "process_start_ticks",
    "spawn",
    "tree_states",
]


@dataclass
class ProcessSpec:
    """How to (re)start one component: enough to restart it after a fault stopped it."""

    name: str
    argv: list[str]
    log: str
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    cwd: str | None = None
    stop_signal: int = int(signal.SIGTERM)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunningProcess:
    """A spawned component: its spec, pid (= process group id) and start time, for identity checks."""

    spec: ProcessSpec
    pid: int
    start_ticks: int

    def to_dict(self) -> dict:
        return {"spec": self.spec.to_dict(), "pid": self.pid, "start_ticks": self.start_ticks}

    @classmethod
    def from_dict(cls, data: dict) -> RunningProcess:
        return cls(spec=ProcessSpec(**data["spec"]), pid=data["pid"], start_ticks=data["start_ticks"])

    def is_ours(self) -> bool:
        """The pid is alive and is still the very process we spawned (not a recycled pid)."""
        return process_start_ticks(self.pid) == self.start_ticks

    def is_alive(self) -> bool:
        if not self.is_ours():
            return False
        state = _proc_state(self.pid)
        return state not in (None, "Z", "X")

    def exit_status(self) -> int | None:
        """The exit status, when this process spawned it and it has exited (else None)."""
        proc = _CHILDREN.get(self.pid)
        return proc.poll() if proc is not None else None

    def is_stopped(self) -> bool:
        """Paused with SIGSTOP (state T)."""
        return self.is_ours() and _proc_state(self.pid) == "T"

    def tree(self) -> dict[int, int]:
        """pid -> start ticks of every live process of the component (see :func:`tree_states`)."""
        if not self.is_ours():
            return {}
        table = _process_table()
        return {pid: table[pid][3] for pid in _tree_members(table, self.pid) if table[pid][2] not in ("Z", "X")}

    def signal_group(self, sig: int) -> bool:
        """Send ``sig`` to every process of the component (see :meth:`tree`); False if it is gone."""
        members = self.tree()
        # The leader first: a supervisor (gunicorn's arbiter) that sees a child die forks a new one,
        # which a later signal to the old snapshot would miss.
        for pid in sorted(members, key=lambda p: p != self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if sig == signal.SIGKILL:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # anything forked meanwhile stayed in the group
        return bool(members)

    def group_alive(self) -> bool:
        """Any process of the group still exists (children can outlive a killed leader)."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _group_has_live_member(self.pid)

    def stop(self, timeout: float, *, sig: int | None = None) -> None:
        """Stop within ``timeout`` seconds (then SIGKILL); wait until every process of the tree is gone."""
        members = self.tree()
        if members:
            self.signal_group(signal.SIGCONT)  # a paused process cannot handle SIGTERM
            stop_signal = self.spec.stop_signal if sig is None else sig
            if stop_signal == signal.SIGKILL:
                self.signal_group(signal.SIGKILL)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, stop_signal)  # the leader shuts its own children down
        if not self.wait_gone(timeout, members):
            for pid, ticks in members.items():
                if process_start_ticks(pid) == ticks:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.wait_gone(5.0, members)

    def wait_gone(self, timeout: float, members: dict[int, int] | None = None) -> bool:
        """Poll until no process of the group (nor of ``members``) is left, reaping our own child."""
        members = members or {}

        def gone() -> bool:
            _reap(self.pid)
            leftovers = [pid for pid, ticks in members.items()
                         if process_start_ticks(pid) == ticks and _proc_state(pid) not in (None, "Z", "X")]
            return not leftovers and not self.group_alive()

        done, _ = poll_until(gone, timeout=timeout, interval=0.02)
        return done


def spawn(spec: ProcessSpec) -> RunningProcess:
    """Start ``spec`` in a new session with output appended to its log file."""
    env = {**os.environ, **spec.env}
    kwargs: dict = {}
    if spec.user is not None and os.geteuid() == 0:
        pw = pwd.getpwnam(spec.user)
        kwargs.update(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
        env.update(HOME=pw.pw_dir, USER=spec.user)
    Path(spec.log).parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log, "ab") as log:
        proc = subprocess.Popen(
            spec.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Never the caller's directory: it may be a private checkout the service's user cannot enter.
            cwd=spec.cwd or str(Path(spec.log).parent),
            start_new_session=True,
            **kwargs,
        )
    ticks = process_start_ticks(proc.pid)
    # Popen keeps a handle only for reaping; identity from now on is pid + start time.
    _CHILDREN[proc.pid] = proc
    return RunningProcess(spec=spec, pid=proc.pid, start_ticks=ticks if ticks is not None else -1)


_CHILDREN: dict[int, subprocess.Popen] = {}


def _reap(pid: int) -> None:
    proc = _CHILDREN.get(pid)
    if proc is not None and proc.poll() is not None:
        _CHILDREN.pop(pid, None)


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[19])


def _proc_state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw[raw.rindex(")") + 2]


def _process_table() -> dict[int, tuple[int, int, str, int]]:
    """pid -> (ppid, pgid, state, start ticks) for every process visible in /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        rest = raw[raw.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(rest[1]), int(rest[2]), rest[0], int(rest[19]))
    return table


def _tree_members(table: dict[int, tuple[int, int, str, int]], pid: int) -> set[int]:
    """``pid``, its process group and all their descendants (each pid visited once)."""
    members = {p for p, (_, pgid, _, _) in table.items() if pgid == pid}
    if pid in table:
        members.add(pid)
    frontier = set(members)
    while frontier:
        frontier = {p for p, (ppid, _, _, _) in table.items() if ppid in frontier} - members
        members |= frontier
    return members


def tree_states(pid: int) -> dict[int, str]:
    """pid -> state letter (R, S, T, Z, ...) of ``pid``, its process group and all their descendants.

    Descendants matter because Postgres backends call setsid(): they leave the postmaster's process
    group, so a pause or kill -9 of the group alone would leave open connections served.
    """
    table = _process_table()
    return {p: table[p][2] for p in sorted(_tree_members(table, pid))}


def child_pids(pid: int) -> list[int]:
    """The live direct children of ``pid`` (e.g. an xdist controller's workers)."""
    return sorted(p for p, (ppid, _, state, _) in _process_table().items() if ppid == pid and state not in ("Z", "X"))


def group_states(pgid: int) -> dict[int, str]:
    """pid -> state letter of every process in process group ``pgid``."""
    return {pid: state for pid, (_, group, state, _) in _process_table().items() if group == pgid}


def _group_has_live_member(pgid: int) -> bool:
    """Any process of group ``pgid`` that is not a zombie (zombies of our own children are reaped)."""
    states = group_states(pgid)
    for pid, state in states.items():
        if state in ("Z", "X"):
            _reap(pid)
    return any(state not in ("Z", "X") for state in states.values())


def log_tail(path: str | Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log, for error messages."""
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"
