"""`pytest -m chaos --rules FILE` proves the rules first: a rule that cannot fire is reported before
its drill would spend its deadline, and its drill fails at once with the reason."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alertdrill.stack import layout

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_rule_that_cannot_fire_fails_its_drill_without_running_it(tmp_path: Path) -> None:
    rules = []  # the shipped rule set, RedisDown's condition broken
    for path in layout.shipped_rule_files():
        rules += ["--rules", str(tmp_path / path.name)]
        (tmp_path / path.name).write_text(path.read_text().replace("expr: redis_up == 0", "expr: redis_up > 1"))
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider", "-k",
         "redis-down", *rules, "--report-dir", str(tmp_path / "reports")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "ALERTDRILL_STACK_NAME": "prove-first"})
    took = time.monotonic() - began
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "alertdrill prove: cannot-fire  RedisDown[critical]: `redis_up` stays between 0 and 1" in out
    assert "no drill run" in out and "Traceback" not in out
    assert (tmp_path / "reports" / "prove.json").is_file()
    assert took < 300, f"the session took {took:.0f}s: the drill seems to have run"
