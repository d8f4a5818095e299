"""Service faults: stop, kill -9, pause (SIGSTOP) and restart one component, through the backend.

Evidence comes from the operating system, not from monitoring: the process group is gone and the
port refuses connections, or every process of the group is in state T (stopped), or a new pid
serves where the old one was. Revert starts a stopped component again (only while the rest of its
stack still runs) or resumes a paused one, and waits until it serves.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, ClassVar

from alertdrill.errors import FaultInjectError
from alertdrill.stack.components import COMPONENTS, Addresses, readiness_check
from alertdrill.stack.ports import port_open
from alertdrill.stack.process import group_states, tree_states
from alertdrill.waiting import poll_until

from .backend import stack_is_running
from .base import Fault, poll
from .params import Param

__all__ = ["ServiceFault", "ServiceKill", "ServicePause", "ServiceRestart", "ServiceStop"]

READY_TIMEOUT = 30.0


class ServiceFault(Fault):
    """A fault on one component's processes; subclasses choose the action."""

    needs_local_stack = "it stops, kills or pauses the component's processes, which needs process control"

    action: ClassVar[str] = ""

    parameters = {"component": Param(str, choices=COMPONENTS, help="the stack component to act on")}
    component: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.component = self.guard.component(self.component)
        # Local processes (native): evidence and cleanup may look at /proc. Containers: the backend's view.
        self.local = self.guard.local_processes

    def target(self) -> dict[str, Any]:
        return {"stack": self.info.name, "component": self.component}

    def _check_targets(self) -> None:
        proc = self.backend.process(self.component)
        if not proc.is_alive():
            raise FaultInjectError(f"cannot {self.action} {self.component}: it is not running (pid {proc.pid})")
        self.guard.owned(proc, self.component)
        self.resources["pid"] = proc.pid

    def _port(self) -> int:
        return int(self.info.ports[self.component])

    def _wait_ready(self) -> None:
        check = readiness_check(self.component, Addresses(dict(self.info.ports)))
        poll(lambda: check.probe() is None, timeout=READY_TIMEOUT, interval=0.1,
             what=f"{self.component} serving again ({check.description})")

    def _ensure_running(self) -> str:
        """Start the component again if it is down and its stack still runs."""
        proc = self.backend.process(self.component)
        if proc.is_alive() and proc.is_ours():
            if self.local:
                stopped = [p for p, s in tree_states(proc.pid).items() if s == "T"]
            else:
                stopped = [proc.pid] if proc.is_stopped() else []
            if stopped:
                self.backend.resume_component(self.component)  # the native backend resumes the whole tree
                self._wait_ready()
                return f"resumed {self.component} ({len(stopped)} stopped process(es), pid {proc.pid})"
            self._wait_ready()
            return f"{self.component} runs (pid {proc.pid})"
        if not stack_is_running(self.backend):
            return f"left {self.component} stopped: the rest of stack {self.info.name!r} is not running either"
        if self.local:
            self._wait_reaped(proc.pid)
        new = self.backend.start_component(self.component, timeout=READY_TIMEOUT)
        return f"started {self.component} again (pid {new.pid})"

    @staticmethod
    def _wait_reaped(pid: int) -> None:
        """Wait until the old pid is gone even as a zombie: Postgres treats a zombie's lock file as live.

        A stack started by a process that has since exited is parented to init, which reaps orphans
        on its own schedule; the new postmaster would refuse to start next to the zombie's socket lock.
        """
        def gone() -> bool:
            with contextlib.suppress(ChildProcessError):  # not our child: its parent (init) reaps it
                os.waitpid(pid, os.WNOHANG)  # our own child (we started the stack): reap it now
            return not Path(f"/proc/{pid}").exists()

        poll_until(gone, timeout=10.0, interval=0.05)

    def _revert(self) -> str:
        return self._ensure_running()

    def _wait_port_closed(self) -> None:
        """Return once the component's port refuses connections (the kernel frees it after the last
        holder exits); a port that stays open means something else holds it, and the fault failed."""
        poll(lambda: not port_open(self._port()), timeout=5.0, interval=0.05,
             what=f"port {self._port()} of {self.component} refusing connections")

    def _gone_facts(self) -> dict[str, Any]:
        proc = self.backend.process(self.component)
        states = group_states(proc.pid) if self.local and proc.pid > 0 else {}
        live = {pid: s for pid, s in states.items() if s not in ("Z", "X")}
        return {"component": self.component, "pid": proc.pid, "alive": proc.is_alive(),
                "group_processes_left": sorted(live), "port": self._port(), "port_open": port_open(self._port())}

    def _prove_gone(self) -> tuple[str, dict[str, Any]]:
        facts = self._gone_facts()
        if facts["alive"] or facts["group_processes_left"]:
            raise self.not_in_effect(f"{self.component} still has processes {facts['group_processes_left']}", **facts)
        if facts["port_open"]:
            raise self.not_in_effect(f"port {facts['port']} still accepts connections", **facts)
        return f"{self.component} is down: pid {facts['pid']} gone, port {facts['port']} refuses connections", facts


class ServiceStop(ServiceFault):
    """Stop a component the way its supervisor would (SIGTERM, SIGINT for Postgres)."""

    kind = "service-stop"
    action = "stop"

    def _inject(self) -> None:
        self.backend.stop_component(self.component)
        self._wait_port_closed()

    def _prove(self) -> tuple[str, dict[str, Any]]:
        summary, facts = self._prove_gone()
        return summary, {**facts, "signal": "graceful stop"}


class ServiceKill(ServiceFault):
    """kill -9 the component's whole process group: no shutdown handlers run."""

    kind = "service-kill"
    action = "kill"

    def _inject(self) -> None:
        self.backend.stop_component(self.component, kill=True)
        self._wait_port_closed()

    def _prove(self) -> tuple[str, dict[str, Any]]:
        summary, facts = self._prove_gone()
        return summary.replace("is down", "was killed (SIGKILL)"), {**facts, "signal": "SIGKILL"}


class ServicePause(ServiceFault):
    """SIGSTOP the component's process group: it holds its sockets but answers nothing."""

    kind = "service-pause"
    action = "pause"

    def _inject(self) -> None:
        self.backend.pause_component(self.component)  # the native backend pauses the whole tree
        if self.local:
            self.resources["paused_pids"] = sorted(tree_states(self.backend.process(self.component).pid))
        poll(lambda: self._all_stopped(), timeout=5.0, what=f"every process of {self.component} stopped")

    def _states(self) -> dict[int, str]:
        proc = self.backend.process(self.component)
        if self.local:
            return tree_states(proc.pid)
        return {proc.pid: "T" if proc.is_stopped() else ("R" if proc.is_alive() else "X")}

    def _all_stopped(self) -> bool:
        states = self._states()
        return bool(states) and all(s in ("T", "Z") for s in states.values())

    def _prove(self) -> tuple[str, dict[str, Any]]:
        proc = self.backend.process(self.component)
        states = self._states()
        facts = {"component": self.component, "pid": proc.pid, "process_states": {str(k): v for k, v in states.items()},
                 "stopped": proc.is_stopped()}
        running = [pid for pid, s in states.items() if s not in ("T", "Z")]
        if not states:
            raise self.not_in_effect(f"{self.component} has no processes at all (it died instead)", **facts)
        if running:
            raise self.not_in_effect(f"processes {running} of {self.component} are not stopped", **facts)
        return f"{self.component} is paused: {len(states)} process(es) in state T", facts


class ServiceRestart(ServiceFault):
    """Stop and start the component again (a deploy, a crash loop of one)."""

    kind = "service-restart"
    action = "restart"

    def _inject(self) -> None:
        self.backend.stop_component(self.component)
        self._wait_port_closed()
        new = self.backend.start_component(self.component, timeout=READY_TIMEOUT)
        self.resources["new_pid"] = new.pid

    def _prove(self) -> tuple[str, dict[str, Any]]:
        proc = self.backend.process(self.component)
        check = readiness_check(self.component, Addresses(dict(self.info.ports)))
        problem = check.probe()
        facts = {"component": self.component, "old_pid": self.resources.get("pid"), "new_pid": proc.pid,
                 "alive": proc.is_alive(), "serving": problem is None, "readiness_error": problem}
        if proc.pid == self.resources.get("pid"):
            raise self.not_in_effect(f"{self.component} still runs as the old pid {proc.pid}", **facts)
        if not proc.is_alive() or problem is not None:
            raise self.not_in_effect(f"the restarted {self.component} does not serve: {problem or 'not alive'}",
                                     **facts)
        return f"{self.component} restarted: pid {facts['old_pid']} -> {proc.pid}, serving", facts
