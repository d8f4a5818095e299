"""What a running stack is: its URLs, DSNs and processes, saved in its run directory.

The state file lets a later command (``alertdrill status``, ``down``, ``recover``, a fault in
another process) find and control a stack that an earlier command started.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from alertdrill.errors import ConfigError, StackNotRunningError
from alertdrill.stack.process import RunningProcess

__all__ = ["STATE_FILE", "StackInfo", "check_home", "default_home", "make_home", "read_state", "write_state"]

STATE_FILE = "stack.json"


def default_home() -> Path:
    """Where stacks live: $ALERTDRILL_HOME, else /tmp/alertdrill-<uid>.

    Not under the user's home: when run as root, Postgres runs as the `postgres` user, which must be
    able to traverse to its data directory, and /root is private.
    """
    return Path(os.environ.get("ALERTDRILL_HOME") or f"/tmp/alertdrill-{os.getuid()}")


def _home_source(home: Path) -> str:
    """How the user named ``home``: the environment variable when it holds that path, else the option."""
    env = os.environ.get("ALERTDRILL_HOME")
    if env and Path(env).absolute() == home:
        return f"ALERTDRILL_HOME={env}"
    return f"the stack home {home} (--home)"


_HOME_FIX = "point it at a directory you can write, or unset it (default /tmp/alertdrill-UID)"


def check_home(home: Path | None = None) -> Path:
    """The stack home (``home`` if given, else :func:`default_home`), absolute; refused with one line
    when it is a file or lies below one. Creates nothing: ``status`` and ``recover`` only read."""
    path = (Path(home) if home is not None else default_home()).absolute()
    source = _home_source(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{source} is a file, not a directory; {_HOME_FIX}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{source} lies below the file {parent}, so it cannot be created; {_HOME_FIX}")
            break
    return path


def make_home(home: Path) -> None:
    """Create the stack home (mode 755: the postgres user must traverse it), or one line saying why not."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        if home.stat().st_uid == os.geteuid():
            os.chmod(home, 0o755)
        probe = home / f".write-probe-{os.getpid()}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise ConfigError(f"{_home_source(home)} cannot be used ({exc.strerror or exc}); {_HOME_FIX}") from None


@dataclass
class StackInfo:
    """The addresses and processes of one running stack (``alertdrill status --json``)."""

    name: str
    run_dir: str
    backend: str
    prometheus_url: str
    alertmanager_url: str
    app_url: str
    sink_url: str
    postgres_dsn: str
    app_postgres_dsn: str
    exporter_postgres_dsn: str
    redis_url: str
    time_scale: float
    owner_pid: int | None = None
    #: The Docker engine a compose stack runs on (so a later process, e.g. recovery, reaches it again).
    docker_host: str | None = None
    started_at: float = 0.0
    startup_seconds: float = 0.0
    ports: dict[str, int] = field(default_factory=dict)
    rule_files: list[str] = field(default_factory=list)
    differences: list[dict] = field(default_factory=list)
    processes: dict[str, RunningProcess] = field(default_factory=dict)

    @property
    def fault_file(self) -> Path:
        return Path(self.run_dir) / "app" / "fault.json"

    @property
    def journal_dir(self) -> Path:
        return Path(self.run_dir) / "faults"

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.processes.items()}

    def to_dict(self) -> dict:
        data = asdict(self)
        data["processes"] = {name: proc.to_dict() for name, proc in self.processes.items()}
        return data

    def public_dict(self) -> dict:
        """What ``status --json`` prints: everything but the process specs."""
        data = self.to_dict()
        data["processes"] = {name: {"pid": p.pid, "alive": p.is_alive()} for name, p in self.processes.items()}
        data["pids"] = self.pids()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> StackInfo:
        data = dict(data)
        data["processes"] = {n: RunningProcess.from_dict(p) for n, p in data.get("processes", {}).items()}
        return cls(**data)


def write_state(info: StackInfo) -> None:
    path = Path(info.run_dir) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info.to_dict(), indent=2))
    tmp.replace(path)


def read_state(run_dir: Path) -> StackInfo:
    path = Path(run_dir) / STATE_FILE
    try:
        return StackInfo.from_dict(json.loads(path.read_text()))
    except (FileNotFoundError, NotADirectoryError):
        raise StackNotRunningError(f"no stack in {run_dir}; start one with `alertdrill up`") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise StackNotRunningError(
            f"the state file {path} is unreadable ({exc}); remove {run_dir} after stopping its processes"
        ) from exc
