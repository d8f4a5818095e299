"""The wheel, outside the checkout: it builds without setuptools warnings, installs into a fresh
virtualenv without warnings, and everything runs from it there — `alertdrill up`, `status`, `lint`,
`down`, `init`, the pytest plugin (one drill, redis-down, to a pass, on the team's edited rules) and
`alertdrill report`.

No network: the wheel is built with this virtualenv's setuptools (--no-build-isolation) and its
dependencies come from the wheelhouse scripts/setup.sh fills (.cache/wheels); the machine's pip
configuration is ignored so the install sees nothing else.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE = REPO / ".cache" / "wheels"
#: What a build never needs: run output, caches, virtualenvs, version control.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", ".cache", "reports", "build", "dist", "*.egg-info",
                                    "__pycache__", "artifacts", "allure-results", "allure-report", ".ruff_cache",
                                    ".pytest_cache")
#: What setuptools (and pip) print when something is off: a Python warning category, distutils'
#: "warning:" lines, pip's "WARNING:"; and the banner setuptools frames its long warnings with.
WARNING = re.compile(r"\b[A-Z]\w*Warning\b|^\s*(?i:warning):|Package would be ignored")
STEP_TIMEOUT = 300


def setuptools_warnings(output: str) -> list[str]:
    """The lines of a build or install log that are warnings."""
    return [line.strip() for line in output.splitlines() if WARNING.search(line)]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without this virtualenv or the machine's pip configuration."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE")
           and not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", **extra)
    return env


def _run(argv: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env or _clean_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def build_wheel(source: Path, dist: Path) -> tuple[Path, str]:
    """Build ``source``'s wheel into ``dist`` with this interpreter's setuptools; the wheel and the log."""
    done = _run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-index",
                 "-w", dist, source], cwd=source)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    (wheel,) = dist.glob("alertdrill-*.whl")
    return wheel, log


def copy_source(target: Path) -> Path:
    """The checkout's source, copied: a build writes build/ and *.egg-info next to pyproject.toml."""
    shutil.copytree(REPO, target, ignore=NOT_SOURCE)
    return target


@dataclass(frozen=True)
class Installed:
    """A fresh virtualenv outside the checkout with the wheel installed."""

    venv: Path
    build_log: str
    install_log: str

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    if not any(WHEELHOUSE.glob("*.whl")):
        pytest.fail(f"no dependency wheels in {WHEELHOUSE}; run scripts/setup.sh (it fills the wheelhouse)")
    work = tmp_path_factory.mktemp("wheel")
    assert REPO not in work.parents
    wheel, build_log = build_wheel(copy_source(work / "src"), work / "dist")
    venv = work / "venv"
    # This pip installs into the new virtualenv (--python): ensurepip would only add seconds; --no-compile
    # skips byte-compiling numpy & co, which the test never imports.
    created = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=work)
    assert created.returncode == 0, created.stderr
    done = _run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-index",
                 "--no-compile", "--find-links", WHEELHOUSE, wheel], cwd=work)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return Installed(venv=venv, build_log=build_log, install_log=done.stdout + done.stderr)


def test_the_wheel_builds_without_setuptools_warnings(installed):
    assert setuptools_warnings(installed.build_log) == []
    assert "Successfully built alertdrill" in installed.build_log


def test_installing_prints_no_warning(installed):
    assert setuptools_warnings(installed.install_log) == []
    assert "Successfully installed" in installed.install_log


def test_a_data_folder_shipped_the_old_way_is_a_warning_the_check_sees(tmp_path):
    """The check above can fail: ship the rules as the parent's data (``rules/*.yml``) instead of as a
    package of their own, as pyproject did before, and setuptools warns."""
    source = copy_source(tmp_path / "src")
    pyproject = source / "pyproject.toml"
    text = pyproject.read_text()
    old_style = (text.replace('    "alertdrill.stack.prometheus.rules",\n', "")
                 .replace('"alertdrill.stack.prometheus.rules" = ["*.yml"]\n', "")
                 .replace('"alertdrill.stack.prometheus" = ["*.yml"]',
                          '"alertdrill.stack.prometheus" = ["*.yml", "rules/*.yml"]'))
    assert old_style.count("prometheus.rules") == 0, "pyproject changed shape; update this test"
    pyproject.write_text(old_style)
    _, log = build_wheel(source, tmp_path / "dist")
    assert any("alertdrill.stack.prometheus.rules" in line for line in setuptools_warnings(log)), log[-2000:]


def test_the_package_imports_from_the_virtualenv_with_its_data(installed, tmp_path):
    script = ("import alertdrill, alertdrill.catalogue as c, alertdrill.stack.layout as l; "
              "print(alertdrill.__file__); "
              "paths = [c.DEFAULT_CATALOGUE, l.COMPOSE_FILE, l.RUNBOOK, l.POSTGRES_BOOTSTRAP_SQL, l.PROMETHEUS_CONFIG,"
              " l.ALERTMANAGER_CONFIG, *l.shipped_rule_files()]; "
              "missing = [str(p) for p in paths if not p.is_file()]; "
              "print('missing', missing, len(l.shipped_rule_files()))")
    done = _run([installed.bin("python"), "-c", script], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where, missing = done.stdout.splitlines()
    assert Path(where).is_relative_to(installed.venv), where
    assert missing == f"missing [] {len(list((REPO / 'stack' / 'prometheus' / 'rules').glob('*.yml')))}"


def test_up_lint_down_init_and_a_drill_run_from_the_installed_package(installed, tmp_path):
    """The whole path a team takes, with nothing from the checkout: one stack name in the environment
    serves the CLI and the plugin alike."""
    env = _clean_env(ALERTDRILL_STACK_NAME=f"wheel-{os.getpid()}")
    alertdrill = installed.bin("alertdrill")
    try:
        up = _run([alertdrill, "up"], cwd=tmp_path, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"alertdrill stack 'wheel-{os.getpid()}' is up" in up.stdout
        status = _run([alertdrill, "status"], cwd=tmp_path, env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        lint = _run([alertdrill, "lint"], cwd=tmp_path, env=env)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    finally:
        down = _run([alertdrill, "down"], cwd=tmp_path, env=env)
    assert down.returncode == 0, down.stdout + down.stderr

    team = tmp_path / "team"
    init = _run([alertdrill, "init", team], cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stdout + init.stderr
    # The team's alert has another name: the drill can pass only on the team's rules and catalogue.
    for name in ("alerts.yml", "catalogue.yml"):
        path = team / name
        path.write_text(path.read_text().replace("RedisDown", "CacheDown"))
    drill = _run([installed.bin("python"), "-m", "pytest", "-m", "chaos", "-k", "redis-down",
                  "--alluredir", "reports/allure-results"], cwd=team, env=env, timeout=600)
    output = drill.stdout + drill.stderr
    assert drill.returncode == 0, output[-4000:]
    assert re.search(r"\b1 passed\b", output), output[-2000:]
    assert "CacheDown" in output  # the summary matrix names the team's alert
    assert (team / "reports" / "summary.json").is_file()

    from alertdrill.report.renderers import find_node

    if find_node() is None:
        pytest.skip("Node.js >= 18 is needed to render the Allure 3 report (apt-get install -y nodejs npm)")
    # Allure itself is installed once per machine; share the checkout's copy (tests/report uses it too).
    report = _run([alertdrill, "report"], cwd=team, env={**env, "ALERTDRILL_TOOLS_DIR": str(REPO / ".cache")})
    assert report.returncode == 0, report.stdout + report.stderr
    assert (team / "reports" / "html" / "index.html").is_file()
