"""The fault lifecycle without a stack: journal first, revert on failure, Ctrl-C, SIGTERM, watchdog, records."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from chaostest_support import FakeBackend, fake_info

from alertdrill.chaos import Fault, TerminatedBySignal
from alertdrill.chaos.journal import Journal
from alertdrill.chaos.registry import fault_class, kinds, rebuild
from alertdrill.errors import ConfigError, FaultInjectError, FaultNotInEffectError, FaultRevertError
from alertdrill.waiting import poll_until


class FlagFault(Fault):
    """A harmless fault: a flag file in the run directory, and a 'setting' file it changes and restores."""

    kind = "test-flag"

    def __init__(self, *, backend, name: str = "flag", fail_inject: str = "", fail_revert: int = 0,
                 max_duration: float = 60.0) -> None:
        super().__init__(backend=backend, max_duration=max_duration)
        self.name = name
        self.fail_inject = fail_inject
        self.fail_revert = fail_revert
        self.journal_seen_at_inject: dict[str, Any] | None = None
        self.interrupt_revert = False

    def _flag(self) -> Path:
        return Path(self.info.run_dir) / self.name

    def _setting(self) -> Path:
        return Path(self.info.run_dir) / "setting"

    def params(self) -> dict[str, Any]:
        return {"name": self.name}

    def target(self) -> dict[str, Any]:
        return {"file": self.name}

    def _read_original(self) -> dict[str, Any]:
        return {"setting": self._setting().read_text() if self._setting().exists() else None}

    def _inject(self) -> None:
        path = Journal(self.info.journal_dir).path_for(self.id)
        self.journal_seen_at_inject = json.loads(path.read_text())
        self._setting().write_text("changed")
        if self.fail_inject == "error":
            raise OSError("disk on fire")
        if self.fail_inject == "interrupt":
            raise KeyboardInterrupt
        self._flag().write_text(self.id)

    def _prove(self) -> tuple[str, dict[str, Any]]:
        if not self._flag().exists():
            raise self.not_in_effect("the flag is gone", flag=str(self._flag()))
        return "flag present", {"flag": str(self._flag())}

    def _revert(self) -> str:
        if self.interrupt_revert:
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C in the middle of the undo
        if self.fail_revert > 0:
            self.fail_revert -= 1
            raise OSError("read-only file system")
        self._flag().unlink(missing_ok=True)
        original = self.original.get("setting")
        if original is None:
            self._setting().unlink(missing_ok=True)
        else:
            self._setting().write_text(original)
        return "flag removed"


@pytest.fixture
def backend(tmp_path):
    return FakeBackend(fake_info(tmp_path))


def _journal(backend) -> list[str]:
    return sorted(p.name for p in backend.info.journal_dir.glob("*.json"))


def test_journal_entry_is_written_before_inject_and_removed_by_revert(backend, tmp_path):
    (tmp_path / "setting").write_text("original value")
    fault = FlagFault(backend=backend)
    with fault:
        seen = fault.journal_seen_at_inject
        assert seen["kind"] == "test-flag" and seen["pid"] == os.getpid()
        assert seen["original"] == {"setting": "original value"} and seen["max_duration"] == 60.0
        assert seen["params"] == {"name": "flag"} and seen["started_at_utc"].endswith("Z")
        evidence = fault.prove()
        assert evidence.summary == "flag present" and evidence.to_dict()["kind"] == "test-flag"
        assert _journal(backend) == [f"{fault.id}.json"]
    assert _journal(backend) == [] and fault.state == "reverted"
    assert (tmp_path / "setting").read_text() == "original value"
    assert [r.name for r in fault.records] == ["inject", "prove", "revert"]
    assert all(r.status == "passed" and r.ended for r in fault.records)
    assert fault.revert() is None  # idempotent


def test_prove_after_revert_says_the_fault_is_not_in_effect(backend):
    fault = FlagFault(backend=backend)
    with fault:
        pass
    with pytest.raises(FaultNotInEffectError, match=r"fault test-flag test-flag-\w+ \(file=flag\) not in effect"):
        fault.prove()
    with pytest.raises(FaultInjectError, match="already injected"):
        fault.inject()


def test_failed_inject_reverts_and_wraps_the_cause(backend, tmp_path):
    fault = FlagFault(backend=backend, fail_inject="error")
    with pytest.raises(FaultInjectError, match="could not be injected: disk on fire") as info:
        fault.inject()
    assert isinstance(info.value.__cause__, OSError)
    assert not (tmp_path / "setting").exists() and _journal(backend) == []
    assert fault.state == "reverted" and fault.records[0].status == "broken"


def test_ctrl_c_during_inject_reverts_and_propagates(backend, tmp_path):
    fault = FlagFault(backend=backend, fail_inject="interrupt")
    with pytest.raises(KeyboardInterrupt):
        fault.inject()
    assert fault.state == "reverted" and _journal(backend) == [] and not (tmp_path / "setting").exists()


def test_ctrl_c_inside_the_with_block_reverts(backend, tmp_path):
    fault = FlagFault(backend=backend)
    with pytest.raises(KeyboardInterrupt), fault:
        raise KeyboardInterrupt
    assert fault.state == "reverted" and _journal(backend) == [] and not (tmp_path / "flag").exists()


def test_sigterm_while_active_reverts_and_restores_the_previous_handler(backend, tmp_path):
    def previous_handler(signum, frame):  # pragma: no cover - must not be called while the fault is active
        raise AssertionError("the fault's handler should have run")

    old = signal.signal(signal.SIGTERM, previous_handler)
    try:
        fault = FlagFault(backend=backend)
        with pytest.raises(TerminatedBySignal, match="SIGTERM while fault"), fault:
            assert signal.getsignal(signal.SIGTERM) is not previous_handler
            os.kill(os.getpid(), signal.SIGTERM)
            poll_until(lambda: False, timeout=5)  # the handler raises long before this deadline
        assert fault.state == "reverted" and _journal(backend) == [] and not (tmp_path / "flag").exists()
        assert signal.getsignal(signal.SIGTERM) is previous_handler
    finally:
        signal.signal(signal.SIGTERM, old)


def test_nested_faults_keep_the_handler_until_the_last_one_reverts(backend):
    before = signal.getsignal(signal.SIGTERM)
    with FlagFault(backend=backend, name="a"):
        installed = signal.getsignal(signal.SIGTERM)
        with FlagFault(backend=backend, name="b"):
            assert signal.getsignal(signal.SIGTERM) is installed
        assert signal.getsignal(signal.SIGTERM) is installed
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_second_ctrl_c_cannot_cut_a_revert_in_half(backend, tmp_path):
    fault = FlagFault(backend=backend)
    fault.inject()
    fault.interrupt_revert = True
    with pytest.raises(KeyboardInterrupt):
        fault.revert()
    assert fault.state == "reverted" and _journal(backend) == [] and not (tmp_path / "flag").exists()


def test_failed_revert_keeps_the_journal_entry_and_can_be_retried(backend):
    fault = FlagFault(backend=backend, fail_revert=1)
    fault.inject()
    with pytest.raises(FaultRevertError, match=r"read-only file system; its journal entry .* stays"):
        fault.revert()
    assert fault.state == "revert-failed" and _journal(backend) == [f"{fault.id}.json"]
    assert fault.revert() == "flag removed"
    assert _journal(backend) == []


def test_revert_failure_while_unwinding_does_not_mask_the_original_error(backend):
    fault = FlagFault(backend=backend, fail_revert=1)
    with pytest.raises(ValueError, match="the test's own error") as info, fault:
        raise ValueError("the test's own error")
    assert any("the revert failed too" in note for note in info.value.__notes__)
    fault.revert()


def test_watchdog_reverts_after_max_duration(backend, tmp_path):
    fault = FlagFault(backend=backend, max_duration=0.3)
    fault.inject()
    ok, _ = poll_until(lambda: fault.state == "reverted", timeout=5, interval=0.05)
    assert ok and fault.expired and _journal(backend) == [] and not (tmp_path / "flag").exists()
    with pytest.raises(FaultNotInEffectError, match=r"reverted itself after its max duration of 0\.3s"):
        fault.prove()
    assert [r.name for r in fault.records] == ["inject", "expire", "revert"]


def test_wait_until_proven_explains_what_never_happened(backend, tmp_path):
    with FlagFault(backend=backend) as fault:
        (tmp_path / "flag").unlink()
        with pytest.raises(FaultNotInEffectError, match=r"the flag is gone \(still, after waiting 0.3s\)"):
            fault.wait_until_proven(timeout=0.3, interval=0.05)


def test_rebuild_from_the_journal_reverts_what_another_process_left(backend, tmp_path):
    fault = FlagFault(backend=backend, name="left")
    fault.inject()
    entry = Journal(backend.info.journal_dir).read(fault.id)
    again = rebuild(entry, backend)
    assert type(again) is FlagFault and again.id == fault.id and again.recovered
    assert again.revert() == "flag removed"
    assert not (tmp_path / "left").exists() and _journal(backend) == []
    fault.revert()  # the original object finds nothing left to undo


def test_unknown_kinds_are_named_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown fault kind 'nope' \(known kinds: .*redis-memory-fill"):
        fault_class("nope")
    with pytest.raises(ConfigError, match=r"unknown fault kind 'redis-memory-fil'; did you mean redis-memory-fill\?"):
        fault_class("redis-memory-fil")


def test_a_fault_class_is_registered_by_its_kind_alone():
    assert "test-flag" in kinds() and fault_class("test-flag") is FlagFault
    with pytest.raises(ConfigError, match="fault kind 'test-flag' is taken by FlagFault"):
        type("OtherFlag", (FlagFault,), {"kind": "test-flag"})


def test_inject_against_an_unreachable_service_fails_cleanly(tmp_path):
    from alertdrill.stack.ports import free_ports

    PgConnectionHold = fault_class("pg-connections")
    info = fake_info(tmp_path)
    port = free_ports(1)[0]  # nothing listens there
    info.ports["postgres"] = port
    fault = PgConnectionHold(backend=FakeBackend(info), dsn=f"postgresql://postgres@127.0.0.1:{port}/x")
    with pytest.raises(FaultInjectError, match=r"could not be prepared: .*127\.0\.0\.1"):
        fault.inject()
    assert fault.state == "new" and list(info.journal_dir.glob("*")) == []
