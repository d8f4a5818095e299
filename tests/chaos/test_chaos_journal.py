"""The fault journal on disk: write, read, remove, scan, and corrupt entries named with a way out (no stack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from alertdrill.chaos.journal import Journal, JournalEntry
from alertdrill.chaos.recovery import owner_alive, recover_run_dir
from alertdrill.errors import FaultRevertError
from alertdrill.stack.process import process_start_ticks


def _entry(fault_id: str = "redis-memory-fill-0001", **overrides) -> JournalEntry:
    data = {"id": fault_id, "kind": "redis-memory-fill", "params": {"fraction": 0.9}, "target": {"stack": "unit"},
            "pid": os.getpid(), "pid_start_ticks": process_start_ticks(os.getpid()), "started_at": time.time(),
            "max_duration": 300.0, "original": {"maxmemory-policy": "noeviction"}, "stack": "unit"}
    data.update(overrides)
    return JournalEntry(**data)


def test_write_read_remove_roundtrip(tmp_path):
    journal = Journal(tmp_path / "faults")
    entry = _entry()
    path = journal.write(entry)
    assert path == tmp_path / "faults" / "redis-memory-fill-0001.json"
    on_disk = json.loads(path.read_text())
    assert on_disk["original"] == {"maxmemory-policy": "noeviction"}
    assert on_disk["started_at_utc"].endswith("Z")
    assert journal.read(entry.id) == entry
    assert journal.scan() == ([entry], [])
    assert journal.remove(entry.id) is True
    assert journal.remove(entry.id) is False  # idempotent
    assert journal.scan() == ([], [])
    assert list((tmp_path / "faults").iterdir()) == []  # no temp files left


def test_scan_orders_oldest_first_and_rewrite_replaces(tmp_path):
    journal = Journal(tmp_path)
    journal.write(_entry("b-1", started_at=200.0))
    journal.write(_entry("a-1", started_at=100.0))
    journal.write(_entry("b-1", started_at=300.0, resources={"table": "t"}))
    entries, corrupt = journal.scan()
    assert [(e.id, e.started_at) for e in entries] == [("a-1", 100.0), ("b-1", 300.0)]
    assert entries[1].resources == {"table": "t"} and corrupt == []


@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", "Expecting property name"),
    ("[1, 2]", "not a JSON object"),
    ('{"version": 1, "id": "x-1"}', "missing field 'kind'"),
    ('{"version": 99}', "unknown journal version 99"),
])
def test_corrupt_entry_is_reported_with_path_and_what_to_do(tmp_path, content, reason):
    journal = Journal(tmp_path)
    (tmp_path / "x-1.json").write_text(content)
    entries, corrupt = journal.scan()
    assert entries == [] and len(corrupt) == 1
    assert reason in corrupt[0].reason
    with pytest.raises(FaultRevertError) as info:
        journal.read("x-1")
    message = str(info.value)
    assert str(tmp_path / "x-1.json") in message and reason in message
    assert "check the stack by hand" in message and "delete the file" in message


def test_entry_whose_id_does_not_match_its_file_is_corrupt(tmp_path):
    journal = Journal(tmp_path)
    journal.write(_entry("real-1"))
    (tmp_path / "real-1.json").rename(tmp_path / "other-1.json")
    _, corrupt = journal.scan()
    assert "names fault 'real-1'" in corrupt[0].reason


def test_invalid_ids_never_become_paths(tmp_path):
    journal = Journal(tmp_path)
    for bad in ("../etc/passwd", "UPPER", "", "a/b"):
        with pytest.raises(ValueError, match="invalid fault id"):
            journal.path_for(bad)


def test_owner_alive_tells_live_dead_and_recycled_pids():
    assert owner_alive(_entry())
    assert not owner_alive(_entry(pid_start_ticks=(process_start_ticks(os.getpid()) or 0) + 1))  # pid reused
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not owner_alive(_entry(pid=child.pid))


def test_recovery_without_a_running_stack_clears_entries_and_says_so(tmp_path):
    journal = Journal(tmp_path / "faults")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    journal.write(_entry("redis-memory-fill-dead", pid=child.pid))
    (tmp_path / "faults" / "broken-1.json").write_text("{")
    (tmp_path / "faults" / f".half-1.{child.pid}.tmp").write_text("{")  # a write that never completed
    lines = recover_run_dir(tmp_path)
    assert any("redis-memory-fill-dead" in ln and "stack not running" in ln for ln in lines)
    assert any("broken-1.json" in ln for ln in lines)
    assert list((tmp_path / "faults").iterdir()) == []


def test_recovery_leaves_a_live_owners_fault_alone(tmp_path):
    journal = Journal(tmp_path / "faults")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        journal.write(_entry("held-1", pid=sleeper.pid, pid_start_ticks=process_start_ticks(sleeper.pid)))
        assert recover_run_dir(tmp_path) == []
        assert journal.read("held-1").pid == sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_recovery_of_an_empty_or_missing_journal_is_silent(tmp_path):
    assert recover_run_dir(tmp_path / "nothing-here") == []
    (tmp_path / "faults").mkdir()
    assert recover_run_dir(tmp_path) == []
