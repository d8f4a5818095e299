"""Two chaos sessions started together on one stack name and report directory: the second refuses at
once with one line naming the first, and the first runs to a clean pass untouched (its load, ledger
and report files included)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _session(name: str, reports: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider",
         "-k", "redis-down", "--report-dir", str(reports)],
        cwd=ROOT, env={**os.environ, "ALERTDRILL_STACK_NAME": name},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_second_session_refuses_and_the_first_is_untouched(tmp_path):
    name = f"twice-{os.getpid()}"
    reports = tmp_path / "reports"
    first, second = _session(name, reports), _session(name, reports)
    started = time.monotonic()
    try:
        # Whichever locks first runs; the other must give up within seconds, long before any stack is up.
        while first.poll() is None and second.poll() is None:
            assert time.monotonic() - started < 30, "neither session refused"
            time.sleep(0.05)
        refused, runner = (first, second) if first.poll() is not None else (second, first)
        out, err = refused.communicate(timeout=10)
        assert time.monotonic() - started < 30
        assert refused.returncode == 2, out + err
        lines = [line for line in (out + err).splitlines() if "alertdrill: " in line]
        assert len(lines) == 1 and "another alertdrill session" in lines[0], out + err
        assert f"pid {runner.pid}," in lines[0] and "--stack-name" in lines[0] and "Traceback" not in out + err

        out, err = runner.communicate(timeout=300)
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    assert runner.returncode == 0, out[-3000:] + err[-2000:]
    summary = json.loads((reports / "summary.json").read_text())
    assert [r["scenario"] for r in summary["results"]] == ["redis-down"]
    assert (reports / "load" / "ledger.jsonl").exists(), "the first session's load artifacts were removed"
    assert not (reports / ".session.lock").exists(), "the lock file outlived its session"
