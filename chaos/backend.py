"""What a fault needs from the object that started the stack.

Service faults (stop, kill, pause, restart) act through the backend: the native backend signals
its process groups, the compose backend acts through the Docker API, the external one refuses with
the reason. Database and cache faults only need the backend's ``info`` (DSNs and URLs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from alertdrill.errors import ConfigError, StackNotRunningError
from alertdrill.stack.state import StackInfo

__all__ = ["Backend", "ComponentProcess", "attach_backend", "stack_info", "stack_is_running"]


@runtime_checkable
class ComponentProcess(Protocol):
    """One component's process as the backend sees it (``RunningProcess`` for the native backend)."""

    pid: int

    def is_ours(self) -> bool: ...

    def is_alive(self) -> bool: ...

    def is_stopped(self) -> bool: ...


@runtime_checkable
class Backend(Protocol):
    """The methods service faults call; ``NativeStack`` provides them."""

    info: StackInfo | None

    def process(self, component: str) -> ComponentProcess: ...

    def stop_component(self, component: str, *, kill: bool = False) -> None: ...

    def pause_component(self, component: str) -> None: ...

    def resume_component(self, component: str) -> None: ...

    def start_component(self, component: str, *, timeout: float = 30.0) -> ComponentProcess: ...

    def is_running(self) -> bool: ...


def stack_info(backend: Backend) -> StackInfo:
    """The backend's stack, or StackNotRunningError when it was not started."""
    if not isinstance(backend, Backend):
        raise ConfigError(
            "a fault needs a stack backend such as NativeStack (the `native_stack` fixture), "
            f"got {type(backend).__name__}"
        )
    info = backend.info
    if info is None:
        raise StackNotRunningError("the stack backend has not started a stack; use `with NativeStack(...)` first")
    return info


def stack_is_running(backend: Backend) -> bool:
    """Some component of the stack still runs (so a stopped one may be started again)."""
    info = backend.info
    if info is None:
        return False
    if info.processes:  # local processes: ask each, a zombie does not count
        return any(p.is_alive() for p in info.processes.values())
    try:
        return bool(backend.is_running())
    except Exception:  # an unreachable engine means: not running
        return False


def attach_backend(run_dir: Path) -> Backend:
    """Control the stack recorded in ``run_dir`` (for recovery in a later process), whatever its backend."""
    from alertdrill.stack.backends.base import attach

    return attach(run_dir)
