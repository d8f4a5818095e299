"""Which Allure renders the HTML: Allure 3 (npm package ``allure``, on Node.js) or Allure 2 (on Java).

Allure 3 is preferred: its single-file report is one self-contained ``index.html`` that a reviewer
opens from a CI artifact without a server or network. Allure 2 (npm package ``allure-commandline``,
which bundles its Java command line) is the fallback where Node.js is too old but Java 17 is there;
its ``--single-file`` report is self-contained too. Both are installed from the npm registry on first
use into a project-local tools directory (``.cache/``), pinned, so every machine renders the same.
Every missing piece is one ReportError line that says what to install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alertdrill.errors import ReportError

__all__ = ["ALLURE2_VERSION", "ALLURE3_VERSION", "Renderer", "default_tools_dir", "find_renderer", "npm_install"]

ALLURE3_VERSION = "3.18.0"
ALLURE2_VERSION = "2.46.1"
#: Allure 3's dependencies (glob, lru-cache, open, p-limit) declare Node.js >= 20.
MIN_NODE = 20
MIN_JAVA = 17
INSTALL_TIMEOUT = 600.0
NODE_HINT = f"install Node.js >= {MIN_NODE} and npm (e.g. apt-get install -y nodejs npm) or set ALERTDRILL_NODE_BIN"
JAVA_HINT = f"install Java {MIN_JAVA} and npm (apt-get install -y openjdk-17-jre-headless npm) for Allure 2"


@dataclass(frozen=True)
class Renderer:
    """A ready-to-run Allure: ``kind`` is allure3 or allure2, ``command`` its argv prefix."""

    kind: str
    command: tuple[str, ...]
    version: str


def default_tools_dir() -> Path:
    """``$ALERTDRILL_TOOLS_DIR``, else ``.cache`` in the checkout (or in the working directory)."""
    if os.environ.get("ALERTDRILL_TOOLS_DIR"):
        return Path(os.environ["ALERTDRILL_TOOLS_DIR"])
    checkout = Path(__file__).resolve().parents[2]
    return (checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()) / ".cache"


def _major(text: str) -> int | None:
    match = re.search(r"(\d+)(?:\.\d+)*", text)
    return int(match.group(1)) if match else None


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def find_node() -> str | None:
    """A Node.js binary new enough for Allure 3 (``$ALERTDRILL_NODE_BIN`` or ``node`` on PATH), or None."""
    node = os.environ.get("ALERTDRILL_NODE_BIN") or shutil.which("node") or shutil.which("nodejs")
    if not node:
        return None
    major = _major(_output([node, "--version"]))
    return node if major is not None and major >= MIN_NODE else None


def find_java() -> str | None:
    """A Java binary >= 17 (``$JAVA_HOME/bin/java`` or ``java`` on PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")
    if not java:
        return None
    match = re.search(r'version "(\d+)', _output([java, "-version"]))
    return java if match and int(match.group(1)) >= MIN_JAVA else None


def _installed_version(directory: Path, package: str) -> str | None:
    try:
        return json.loads((directory / "node_modules" / package / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        return None


def npm_install(directory: Path, package: str, version: str, *, hint: str) -> Path:
    """``npm install --prefix directory package@version`` unless that version is there; its package dir."""
    installed = directory / "node_modules" / package
    if _installed_version(directory, package) == version:
        return installed
    npm = os.environ.get("ALERTDRILL_NPM_BIN") or shutil.which("npm")
    if not npm:
        raise ReportError(f"npm is needed once to install {package} {version} into {directory}: {hint}")
    directory.mkdir(parents=True, exist_ok=True)
    argv = [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund", "--loglevel=error",
            f"{package}@{version}"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ReportError(f"`{' '.join(argv)}` did not finish in {INSTALL_TIMEOUT:g}s; check access to the npm "
                          "registry, or run that command yourself") from None
    if done.returncode != 0 or _installed_version(directory, package) != version:
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ReportError(f"installing {package} with `{' '.join(argv)}` failed (exit {done.returncode}): {tail}")
    return installed


def _allure3(tools: Path, install: bool) -> Renderer | None:
    node = find_node()
    if node is None:
        return None
    directory = tools / "allure-npm"
    if install:
        npm_install(directory, "allure", ALLURE3_VERSION, hint=NODE_HINT)
    cli = directory / "node_modules" / "allure" / "cli.js"
    return Renderer("allure3", (node, str(cli)), ALLURE3_VERSION) if cli.is_file() else None


def _allure2(tools: Path, install: bool) -> Renderer | None:
    if find_java() is None:
        return None
    for candidate in (os.environ.get("ALERTDRILL_ALLURE2_BIN"), shutil.which("allure")):
        lines = _output([candidate, "--version"]).splitlines() if candidate else []
        if lines and _major(lines[-1]) == 2:
            return Renderer("allure2", (candidate,), lines[-1].strip())  # type: ignore[arg-type]
    directory = tools / "allure2-npm"
    if install and (shutil.which("npm") or os.environ.get("ALERTDRILL_NPM_BIN")):
        npm_install(directory, "allure-commandline", ALLURE2_VERSION, hint=JAVA_HINT)
    script = directory / "node_modules" / "allure-commandline" / "dist" / "bin" / "allure"
    return Renderer("allure2", (str(script),), ALLURE2_VERSION) if script.is_file() else None


def find_renderer(kind: str = "auto", *, tools_dir: Path | None = None, install: bool = True) -> Renderer:
    """The renderer to use; ``auto`` prefers Allure 3 (Node.js) and falls back to Allure 2 (Java)."""
    if kind not in ("auto", "allure3", "allure2"):
        raise ReportError(f"unknown renderer {kind!r}; use auto, allure3 or allure2")
    tools = tools_dir or default_tools_dir()
    if kind in ("auto", "allure3") and (renderer := _allure3(tools, install)):
        return renderer
    if kind == "allure3":
        raise ReportError(f"Allure 3 needs Node.js >= {MIN_NODE}, which was not found: {NODE_HINT}")
    if renderer := _allure2(tools, install):
        return renderer
    if kind == "allure2":
        missing = f"Java {MIN_JAVA}" if find_java() is None else "npm (to install allure-commandline) or `allure` 2"
        raise ReportError(f"Allure 2 needs {missing}, which was not found: {JAVA_HINT}")
    raise ReportError(f"no Allure renderer found: {NODE_HINT} (for Allure 3), or {JAVA_HINT}")
