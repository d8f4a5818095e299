"""What every backend offers the faults: the stack's addresses (``info``) and service control.

Service faults (stop, kill, pause) need control over the component's process or container. The
native and compose backends have it; a backend that only holds connections (external) does not,
and says so through :func:`supports_service_faults` (so scenarios can skip with the reason up front) and,
if asked anyway, with a one-line FaultInjectError naming the backends that can do it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from alertdrill.errors import ConfigError, FaultInjectError
from alertdrill.stack.state import StackInfo, read_state

__all__ = ["BACKENDS", "SERVICE_FAULT_BACKENDS", "Backend", "ProcesslessControl", "attach", "backend_class",
           "create_backend", "service_faults_unsupported", "supports_service_faults"]

#: Every backend, by the name ``--backend`` takes.
BACKENDS = ("native", "compose", "external")
#: Backends that can stop, kill, pause and restart a component.
SERVICE_FAULT_BACKENDS = ("native", "compose")


@runtime_checkable
class Backend(Protocol):
    """The part of a backend that faults and scenarios use (NativeStack, ComposeStack, ExternalStack)."""

    backend: str
    info: StackInfo | None

    def stop_component(self, component: str, *, kill: bool = False) -> None:
        """Stop ``component`` gracefully, or abruptly with ``kill``."""

    def pause_component(self, component: str) -> None:
        """Freeze ``component`` so it holds its connections but answers nothing."""

    def resume_component(self, component: str) -> None:
        """Undo :meth:`pause_component`."""

    def start_component(self, component: str, *, timeout: float = 30.0) -> object:
        """Start a stopped ``component`` again and wait until it serves."""


def supports_service_faults(stack: Backend) -> bool:
    """Whether ``stack`` can stop, kill, pause and restart components (scenarios skip otherwise)."""
    return bool(getattr(stack, "supports_service_faults", stack.backend in SERVICE_FAULT_BACKENDS))


def service_faults_unsupported(backend: str, action: str, component: str) -> FaultInjectError:
    """The error a process-less backend raises for a service fault."""
    return FaultInjectError(
        f"{action} {component!r} needs the {' or '.join(SERVICE_FAULT_BACKENDS)} backend: the {backend} backend "
        "reaches its stack only over connections; run this scenario against a native or compose stack"
    )


class ProcesslessControl:
    """Service-control methods for a backend without processes: each raises the same clear error."""

    backend = "external"
    supports_service_faults = False

    def stop_component(self, component: str, *, kill: bool = False) -> None:
        raise service_faults_unsupported(self.backend, "killing" if kill else "stopping", component)

    def pause_component(self, component: str) -> None:
        raise service_faults_unsupported(self.backend, "pausing", component)

    def resume_component(self, component: str) -> None:
        raise service_faults_unsupported(self.backend, "resuming", component)

    def start_component(self, component: str, *, timeout: float = 30.0) -> object:
        raise service_faults_unsupported(self.backend, "starting", component)

    def restart_component(self, component: str, *, timeout: float = 30.0) -> object:
        raise service_faults_unsupported(self.backend, "restarting", component)

    def process(self, component: str) -> object:
        raise service_faults_unsupported(self.backend, "controlling the process of", component)

    def is_running(self) -> bool:
        """An external stack runs by definition; it was checked for reachability on start."""
        return True


def backend_class(kind: str) -> Any:
    """The class of backend ``kind``; every one has ``attach(run_dir)`` (recovery, `down`, `status`)."""
    if kind == "native":
        from alertdrill.stack.backends.native import NativeStack

        return NativeStack
    if kind == "compose":
        from alertdrill.stack.backends.compose import ComposeStack

        return ComposeStack
    if kind == "external":
        from alertdrill.stack.backends.external import ExternalStack

        return ExternalStack
    raise ConfigError(f"unknown backend {kind!r}; choose one of {', '.join(BACKENDS)}")


def attach(run_dir: Path) -> Backend:
    """Control the stack recorded in ``run_dir`` from another process, whichever backend started it."""
    return backend_class(read_state(run_dir).backend).attach(run_dir)


def create_backend(kind: str, *, external_config: str | None = None, **kwargs: Any) -> Backend:
    """The backend named ``kind``; ``kwargs`` go to its constructor (name, home, timing, rule_files, owner_pid).

    The external backend takes only ``external_config`` (a file; else ALERTDRILL_EXTERNAL_* variables)
    and ``home``: its timing and rules are those of the stack it is pointed at.
    """
    cls = backend_class(kind)
    if kind == "external":
        return cls.from_config(external_config, home=kwargs.get("home"))
    return cls(**kwargs)
