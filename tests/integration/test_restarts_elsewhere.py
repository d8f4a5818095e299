"""A component restarted by another process (a fault, `alertdrill recover`) is still stopped at the end."""

import os

import pytest

from alertdrill.stack.backends.native import NativeStack

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return False
    return raw[raw.rindex(")") + 2] not in "ZX"


def test_stop_reaches_a_component_restarted_through_another_stack_object(native_stack):
    other = NativeStack.attach(native_stack.run_dir)  # what a separate process would do
    other.stop_component("redis_exporter")
    restarted = other.start_component("redis_exporter")
    assert native_stack.process("redis_exporter").pid == restarted.pid, "the session's stack adopts the restart"
    assert _alive(restarted.pid)


def test_stop_kills_pids_only_the_state_file_knows(tmp_path):
    from alertdrill.stack.state import default_home

    stack = NativeStack(name=f"test-adopt-{os.getpid()}", home=default_home(), owner_pid=os.getpid())
    with stack as info:
        other = NativeStack.attach(stack.run_dir)
        other.stop_component("sink")
        new_pid = other.start_component("sink").pid
        old_pid = info.processes["sink"].pid
    assert new_pid != old_pid
    assert not _alive(new_pid), "the restarted sink outlived the stack"
