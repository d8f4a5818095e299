"""Unit tests of the app's pure parts: settings, fault file parsing, the sliding max, /proc parsing."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from alertdrill.errors import ConfigError
from alertdrill.stack.app.faults import NO_FAULT, FaultConfig, FaultSwitch, parse_fault
from alertdrill.stack.app.latency import SlidingMax
from alertdrill.stack.app.proctree import read_stat
from alertdrill.stack.app.settings import Settings

pytestmark = pytest.mark.timeout(180)

GOOD_ENV = {
    "ALERTDRILL_DATABASE_URL": "postgresql://app@127.0.0.1:5432/app",
    "ALERTDRILL_REDIS_URL": "redis://127.0.0.1:6379/0",
    "PROMETHEUS_MULTIPROC_DIR": "/tmp/alertdrill-metrics-unit",
}


# ------------------------------------------------------------------------------------- settings


def test_settings_from_env() -> None:
    settings = Settings.from_env({**GOOD_ENV, "ALERTDRILL_APP_FAULT_FILE": "/tmp/f.json",
                                  "ALERTDRILL_DB_STATEMENT_TIMEOUT_MS": "500"})
    assert settings.database_url == GOOD_ENV["ALERTDRILL_DATABASE_URL"]
    assert settings.redis_url == GOOD_ENV["ALERTDRILL_REDIS_URL"]
    assert settings.multiproc_dir == Path(GOOD_ENV["PROMETHEUS_MULTIPROC_DIR"])
    assert settings.fault_file == Path("/tmp/f.json")
    assert settings.statement_timeout_ms == 500
    assert Settings.from_env(GOOD_ENV).fault_file is None


def test_missing_env_is_one_line_naming_every_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    message = str(caught.value)
    assert "\n" not in message
    for name in ("ALERTDRILL_DATABASE_URL", "ALERTDRILL_REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"):
        assert f"{name} is not set" in message


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("ALERTDRILL_DATABASE_URL", "mysql://x", "must be a postgresql:// URL"),
        ("ALERTDRILL_REDIS_URL", "http://x", "must be a redis:// URL"),
        ("ALERTDRILL_DB_STATEMENT_TIMEOUT_MS", "soon", "must be a number"),
        ("ALERTDRILL_DB_POOL_MAX_SIZE", "0", "must be positive"),
    ],
)
def test_bad_env_values_are_config_errors(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        Settings.from_env({**GOOD_ENV, name: value})


def test_multiproc_dir_must_not_be_a_file(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ConfigError, match="is not a directory"):
        Settings.from_env({**GOOD_ENV, "PROMETHEUS_MULTIPROC_DIR": str(not_a_dir)})


# ------------------------------------------------------------------------------------- faults


def test_parse_fault_accepts_every_key() -> None:
    assert parse_fault({}) == NO_FAULT
    assert parse_fault({"error_ratio": 1, "latency_ms": 250, "drop_writes": True}) == FaultConfig(1.0, 250.0, True)


@pytest.mark.parametrize(
    "document",
    [[], {"error_ratio": 1.5}, {"error_ratio": -0.1}, {"error_ratio": "1"}, {"error_ratio": True},
     {"latency_ms": -1}, {"latency_ms": "slow"}, {"drop_writes": 1}, {"surprise": 1}],
)
def test_parse_fault_rejects_bad_documents(document: object) -> None:
    with pytest.raises(ValueError):
        parse_fault(document)


def test_fault_switch_without_a_path_is_off() -> None:
    assert FaultSwitch(None).current() == NO_FAULT


def test_fault_switch_follows_the_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "fault.json"
    switch = FaultSwitch(path, check_interval_s=0.0)
    assert switch.current() == NO_FAULT  # missing file

    path.write_text(json.dumps({"latency_ms": 5}))
    assert switch.current() == FaultConfig(latency_ms=5.0)

    with caplog.at_level(logging.WARNING, logger="alertdrill.stack.app.faults"):
        path.write_text("{broken")
        assert switch.current() == NO_FAULT
    assert "ignoring invalid fault file" in caplog.text

    path.write_text(json.dumps({"error_ratio": 0.25}))
    assert switch.current() == FaultConfig(error_ratio=0.25)

    path.unlink()
    assert switch.current() == NO_FAULT


def test_fault_switch_checks_the_file_at_most_every_interval(tmp_path: Path) -> None:
    path = tmp_path / "fault.json"
    path.write_text(json.dumps({"drop_writes": True}))
    switch = FaultSwitch(path, check_interval_s=3600.0)
    assert switch.current().drop_writes
    path.unlink()
    assert switch.current().drop_writes  # cached: no stat within the interval


# ------------------------------------------------------------------------------------- latency


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_max_keeps_the_maximum_for_the_window_only() -> None:
    clock = FakeClock()
    window = SlidingMax(window_s=60, clock=clock)
    assert window.observe("/a", 0.5) == 0.5
    clock.now += 10
    assert window.observe("/a", 0.1) == 0.5
    assert window.observe("/b", 0.2) == 0.2
    clock.now += 50.5  # the 0.5 s observation is now older than 60 s
    assert window.snapshot() == {"/a": 0.1, "/b": 0.2}
    clock.now += 60
    assert window.snapshot() == {"/a": 0.0, "/b": 0.0}


# ------------------------------------------------------------------------------------- /proc


def test_read_stat_of_this_process() -> None:
    stat = read_stat(os.getpid())
    assert stat is not None
    assert stat.ppid == os.getppid()
    assert stat.rss_bytes > 1_000_000
    assert stat.cpu_seconds > 0
    assert read_stat(2**22 + 12345) is None  # beyond pid_max: never exists


def test_read_stat_survives_odd_command_names(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    fields = ["S", "7"] + ["0"] * 9 + ["100", "50", "20", "10"] + ["0"] * 4 + ["12345", "0", "256"] + ["0"] * 20
    (tmp_path / "42" / "stat").write_text("42 (evil) (name) " + " ".join(fields) + "\n")
    stat = read_stat(42, proc=tmp_path)
    assert stat is not None
    assert (stat.ppid, stat.state, stat.start_ticks) == (7, "S", 12345)
    ticks = os.sysconf("SC_CLK_TCK")
    assert stat.cpu_seconds == pytest.approx(150 / ticks)
    assert stat.children_cpu_seconds == pytest.approx(30 / ticks)
    assert stat.rss_bytes == 256 * os.sysconf("SC_PAGE_SIZE")

