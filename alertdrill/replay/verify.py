"""Replay recordings with ``promtool test rules``, and point a recording at another rule file.

promtool resolves ``rule_files`` relative to the test file, so it runs in the file's directory; a
recording therefore stays valid wherever it is copied (reports/recordings, tests/replays).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from alertdrill.errors import ConfigError, ReplayError

__all__ = ["TEST_SUFFIX", "Replay", "ReplayError", "find_test_files", "replay", "retarget"]

TEST_SUFFIX = ".test.yml"
PROMTOOL_TIMEOUT = 120.0



@dataclass(frozen=True)
class Replay:
    """The outcome of ``promtool test rules`` on one test file."""

    test_file: Path
    passed: bool
    output: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.test_file}"


def find_test_files(paths: Iterable[Path]) -> list[Path]:
    """Every ``*.test.yml`` in ``paths`` (files, or directories searched recursively), sorted."""
    found: list[Path] = []
    paths = list(paths)
    for path in paths:
        path = Path(path)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(path.rglob(f"*{TEST_SUFFIX}")))
        else:
            raise ConfigError(f"{path} does not exist; pass a recording directory or a {TEST_SUFFIX} file")
    if not found:
        where = ", ".join(str(p) for p in paths) or "(nothing given)"
        raise ConfigError(f"no {TEST_SUFFIX} files in {where}; record a run first "
                          "(pytest -m chaos scenarios --record DIR)")
    return found


def replay(test_file: Path, *, promtool: str | None = None, timeout: float = PROMTOOL_TIMEOUT) -> Replay:
    """Run ``promtool test rules`` on ``test_file`` in its directory."""
    from alertdrill.stack.binaries import resolve

    test_file = Path(test_file).resolve()
    argv = [promtool or resolve("promtool"), "test", "rules", test_file.name]
    try:
        done = subprocess.run(argv, cwd=test_file.parent, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ReplayError(f"promtool test rules {test_file} took longer than {timeout:g}s; is the recording huge?") \
            from exc
    return Replay(test_file, done.returncode == 0, (done.stdout + done.stderr).strip())


def retarget(test_file: Path, rule_file: Path, out: Path | None = None) -> Path:
    """A copy of ``test_file`` that loads ``rule_file`` instead (default: next to ``rule_file``).

    Used to replay what was observed against a broken or a changed rule.
    """
    test_file, rule_file = Path(test_file), Path(rule_file).resolve()
    try:
        doc = yaml.safe_load(test_file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{test_file} does not exist; pass a recording's {TEST_SUFFIX} file") from None
    if not isinstance(doc, dict) or "tests" not in doc:
        raise ConfigError(f"{test_file} is not a promtool test file (no 'tests')")
    out = Path(out) if out else rule_file.parent / f"{rule_file.stem}{TEST_SUFFIX}"
    doc["rule_files"] = [str(rule_file)]
    out.write_text(yaml.safe_dump(doc, sort_keys=False, width=100_000, allow_unicode=True))
    return out
