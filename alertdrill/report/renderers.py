"""Which Allure renders the HTML: Allure 3 (npm package ``allure``, run by Node.js) or Allure 2 (Java).

Allure 3 is preferred: its single-file report is one self-contained ``index.html`` that a reviewer
opens from a CI artifact without a server or network. It is installed from the npm registry into a
project-local directory (``.cache/allure-npm``) on first use, pinned, so every machine renders the same.
Allure 2's command line (``allure``, e.g. from the npm package ``allure-commandline``) is the fallback
where only Java 17 is available. Every missing piece is one ReportError line saying what to install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alertdrill.errors import ReportError

__all__ = ["ALLURE3_VERSION", "Renderer", "default_allure_dir", "find_renderer", "install_allure3"]

ALLURE3_VERSION = "3.18.0"
MIN_NODE = 18
MIN_JAVA = 17
INSTALL_TIMEOUT = 600.0
NODE_HINT = "install Node.js >= 18 and npm (apt-get install -y nodejs npm) or set ALERTDRILL_NODE_BIN"
JAVA_HINT = ("install Java 17 (apt-get install -y openjdk-17-jre-headless) and Allure 2 "
             "(npm install -g allure-commandline)")


@dataclass(frozen=True)
class Renderer:
    """A ready-to-run Allure: ``kind`` is allure3 or allure2, ``command`` its argv prefix."""

    kind: str
    command: tuple[str, ...]
    version: str


def default_allure_dir() -> Path:
    """``$ALERTDRILL_ALLURE_DIR``, else ``.cache/allure-npm`` in the checkout (or the working directory)."""
    if os.environ.get("ALERTDRILL_ALLURE_DIR"):
        return Path(os.environ["ALERTDRILL_ALLURE_DIR"])
    checkout = Path(__file__).resolve().parents[2]
    root = checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()
    return root / ".cache" / "allure-npm"


def _major(text: str) -> int | None:
    match = re.search(r"(\d+)(?:\.\d+)*", text)
    return int(match.group(1)) if match else None


def _run_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def find_node() -> str | None:
    """A Node.js binary >= 18 (``$ALERTDRILL_NODE_BIN`` or ``node`` on PATH), or None."""
    node = os.environ.get("ALERTDRILL_NODE_BIN") or shutil.which("node") or shutil.which("nodejs")
    if not node:
        return None
    major = _major(_run_version([node, "--version"]))
    return node if major is not None and major >= MIN_NODE else None


def find_java() -> str | None:
    """A Java binary >= 17 (``$JAVA_HOME/bin/java`` or ``java`` on PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    if not java:
        return None
    match = re.search(r'version "(\d+)', _run_version([java, "-version"]))
    return java if match and int(match.group(1)) >= MIN_JAVA else None


def install_allure3(directory: Path, *, version: str = ALLURE3_VERSION) -> Path:
    """``npm install --prefix directory allure@version`` unless it is there; returns its ``cli.js``."""
    cli = directory / "node_modules" / "allure" / "cli.js"
    if cli.is_file() and _installed_version(directory) == version:
        return cli
    npm = os.environ.get("ALERTDRILL_NPM_BIN") or shutil.which("npm")
    if not npm:
        raise ReportError(f"npm is needed once to install Allure {version} into {directory}: {NODE_HINT}")
    directory.mkdir(parents=True, exist_ok=True)
    argv = [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund", "--loglevel=error",
            f"allure@{version}"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ReportError(f"`{' '.join(argv)}` did not finish in {INSTALL_TIMEOUT:g}s; check access to the npm "
                          "registry, or install it yourself with that command") from None
    if done.returncode != 0 or not cli.is_file():
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ReportError(f"installing Allure with `{' '.join(argv)}` failed (exit {done.returncode}): {tail}")
    return cli


def _installed_version(directory: Path) -> str | None:
    import json

    try:
        return json.loads((directory / "node_modules" / "allure" / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        return None


def _allure2_command() -> tuple[str, str] | None:
    """``$ALERTDRILL_ALLURE2_BIN`` or ``allure`` on PATH, if it says it is version 2."""
    allure = os.environ.get("ALERTDRILL_ALLURE2_BIN") or shutil.which("allure")
    if not allure:
        return None
    lines = _run_version([allure, "--version"]).splitlines()
    version = lines[-1].strip() if lines else ""
    return (allure, version) if _major(version) == 2 else None


def find_renderer(kind: str = "auto", *, allure_dir: Path | None = None, install: bool = True) -> Renderer:
    """The renderer to use; ``auto`` prefers Allure 3 (Node.js) and falls back to Allure 2 (Java)."""
    if kind not in ("auto", "allure3", "allure2"):
        raise ReportError(f"unknown renderer {kind!r}; use auto, allure3 or allure2")
    allure_dir = allure_dir or default_allure_dir()
    node = find_node() if kind in ("auto", "allure3") else None
    if node:
        cli = install_allure3(allure_dir) if install else allure_dir / "node_modules" / "allure" / "cli.js"
        if cli.is_file():
            return Renderer("allure3", (node, str(cli)), _installed_version(allure_dir) or "?")
    if kind == "allure3":
        raise ReportError(f"Allure 3 needs Node.js >= {MIN_NODE}, which was not found: {NODE_HINT}")
    java, allure2 = find_java(), _allure2_command()
    if java and allure2:
        return Renderer("allure2", (allure2[0],), allure2[1])
    if kind == "allure2":
        missing = "Java 17" if not java else "the Allure 2 command line (`allure`)"
        raise ReportError(f"Allure 2 needs {missing}, which was not found: {JAVA_HINT}")
    raise ReportError(f"no Allure renderer found: {NODE_HINT} (for Allure 3), or {JAVA_HINT}")
