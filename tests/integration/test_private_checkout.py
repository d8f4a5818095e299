"""The newcomer's path: a clone in a private (mode 700) directory, as root's home is.

Services run as other users (Postgres as `postgres`) and must read nothing from the checkout or the
virtualenv: everything they need is copied or rendered into the stack's run directory and they start
from there. The test copies the working tree into a mode-700 directory, gives it a virtualenv of its
own (the project from the copy, its dependencies from this one), and runs the README's commands
from there: `alertdrill up`, `status`, `down`, and one chaos scenario.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from alertdrill.stack.state import default_home

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

_FINDER = '''
import sys
from importlib.util import spec_from_file_location

MAPPING = {mapping!r}


class _CloneFinder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname in MAPPING:
            return spec_from_file_location(fullname, MAPPING[fullname] + "/__init__.py",
                                           submodule_search_locations=[MAPPING[fullname]])
        return None


sys.meta_path.insert(0, _CloneFinder)
'''


def _private_clone(base: Path) -> tuple[Path, Path]:
    """A copy of the working tree in ``base/private`` (mode 700) and a venv that imports it."""
    private = base / "private"
    private.mkdir(mode=0o700)
    clone = private / "alertdrill"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", purelib], capture_output=True, text=True,
                               check=True).stdout.strip())
    package_dir = tomllib.loads((clone / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    mapping = {name: str(clone / folder) for name, folder in package_dir.items()}
    (site / "_alertdrill_clone.py").write_text(_FINDER.format(mapping=mapping))
    # The project from the clone (imported first), its dependencies (and entry points) from this venv.
    (site / "_alertdrill_clone.pth").write_text("import _alertdrill_clone\n" + sysconfig.get_path("purelib") + "\n")
    return clone, venv / "bin" / "python"


def _foreign_readers(run_dir: Path, clone: Path) -> list[str]:
    """Stack processes that run from, or were given a path into, the private checkout."""
    problems = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(run_dir) not in cmdline:
            continue
        args = cmdline.split(" ", 1)[1] if " " in cmdline else ""
        if cwd.startswith(str(clone)) or str(clone) in args.replace(str(clone / ".venv" / "bin" / "python"), ""):
            problems.append(f"{entry.name} (cwd {cwd}): {cmdline[:160]}")
    return problems


def test_readme_commands_work_from_a_private_clone(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root runs Postgres as another user")
    clone, python = _private_clone(tmp_path)
    home = default_home() / f"private-{os.getpid()}"
    env = {**os.environ, "ALERTDRILL_HOME": str(home)}
    cli = [str(python), "-m", "alertdrill.cli", "--name", "newcomer"]
    try:
        where = subprocess.run([str(python), "-c", "import alertdrill.stack as s; print(s.__file__)"],
                               capture_output=True, text=True, env=env, cwd=clone, timeout=60)
        assert where.stdout.strip().startswith(str(clone)), where.stdout + where.stderr

        up = subprocess.run([*cli, "up"], capture_output=True, text=True, env=env, cwd=clone, timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        run_dir = home / "newcomer"
        assert _foreign_readers(run_dir, clone) == []
        status = subprocess.run([*cli, "status", "--json"], capture_output=True, text=True, env=env, cwd=clone,
                                timeout=60)
        assert status.returncode == 0 and json.loads(status.stdout)["run_dir"] == str(run_dir)
        conf = run_dir / "postgres" / "data" / "postgresql.conf"
        assert conf.stat().st_uid == conf.parent.stat().st_uid != 0  # the postgres user's own copy
        assert "as alertdrill ships it" in conf.read_text()
        down = subprocess.run([*cli, "down"], capture_output=True, text=True, env=env, cwd=clone, timeout=120)
        assert down.returncode == 0, down.stderr

        chaos = subprocess.run(
            [str(python), "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-p", "no:cacheprovider",
             "-k", "redis-down", "--report-dir", str(tmp_path / "reports")],
            capture_output=True, text=True, env={**env, "ALERTDRILL_STACK_NAME": "newcomer-chaos"}, cwd=clone,
            timeout=300)
        assert chaos.returncode == 0, chaos.stdout[-3000:] + chaos.stderr[-2000:]
        assert "1 passed" in chaos.stdout
    finally:
        subprocess.run([*cli, "down"], capture_output=True, env=env, cwd=clone, timeout=120)
        shutil.rmtree(home, ignore_errors=True)
