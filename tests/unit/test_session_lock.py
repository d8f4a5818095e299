"""SessionLock: one holder per resource, the second names the first, a killed holder frees it."""

import os
import subprocess
import sys

import pytest

from alertdrill.errors import StackRunningError
from alertdrill.session_lock import SessionLock


def test_second_holder_is_refused_naming_the_first(tmp_path):
    with SessionLock({"stack 'x'": tmp_path / "x.lock"}):
        with pytest.raises(StackRunningError) as info:
            SessionLock({"report directory r": tmp_path / "r.lock", "stack 'x'": tmp_path / "x.lock"}).acquire()
        message = str(info.value)
        assert f"pid {os.getpid()}," in message and "stack 'x'" in message and "\n" not in message
        # what the refused session took before failing is released again
        with SessionLock({"report directory r": tmp_path / "r.lock"}):
            pass
    with SessionLock({"stack 'x'": tmp_path / "x.lock"}):
        pass
    assert not (tmp_path / "x.lock").exists()


def test_a_killed_holder_frees_the_lock(tmp_path):
    lock = tmp_path / "s.lock"
    code = ("import sys, time; from alertdrill.session_lock import SessionLock; "
            f"held = SessionLock({{'stack': __import__('pathlib').Path({str(lock)!r})}}).acquire(); "
            "print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StackRunningError, match=f"pid {holder.pid},"):
            SessionLock({"stack": lock}).acquire()
    finally:
        holder.kill()
        holder.wait()
    with SessionLock({"stack": lock}):
        pass
