"""The nightly workflow, validated statically: it parses, is scheduled, and runs only what exists here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from alertdrill.stack import layout

REPO = layout.STACK_DIR.parent
WORKFLOW = REPO / ".github" / "workflows" / "nightly.yml"
MAKEFILE = REPO / "Makefile"
_TARGET = re.compile(r"^([A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*:(?![:=])")


def makefile_targets(text: str) -> set[str]:
    """Rule targets of a Makefile (``name:`` at the start of a line; ``:=`` assignments excluded)."""
    targets = set()
    for line in text.splitlines():
        if line.startswith(("\t", "#", ".")):
            continue
        match = _TARGET.match(line)
        if match:
            targets.update(match.group(1).split())
    return targets


def commands(script: str) -> list[list[str]]:
    """Shell words of each simple command in a `run:` script (split on newlines, &&, ||, ;)."""
    script = script.replace("\\\n", " ")
    out = []
    for piece in re.split(r"\n|&&|\|\||;", script):
        words = shlex.split(piece, comments=True)
        while words and "=" in words[0] and not words[0].startswith("-"):
            words = words[1:]  # VAR=value prefixes
        if words:
            out.append(words)
    return out


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def steps(workflow) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def test_runs_nightly_and_on_demand(workflow):
    triggers = _triggers(workflow)
    assert "workflow_dispatch" in triggers
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons and all(len(cron.split()) == 5 for cron in crons)


def test_runs_on_an_ubuntu_or_debian_runner(workflow):
    (job,) = workflow["jobs"].values()
    image = job.get("container", "")
    image = image.get("image", "") if isinstance(image, dict) else image
    assert "ubuntu" in job["runs-on"] or "debian" in image
    assert job.get("timeout-minutes"), "a hung stack must not hold a runner for 6 hours"


def test_every_make_target_and_script_it_runs_exists(steps):
    targets = makefile_targets(MAKEFILE.read_text())
    for step in steps:
        for words in commands(step.get("run", "")):
            if words[0] == "make":
                for target in (w for w in words[1:] if not w.startswith("-") and "=" not in w):
                    assert target in targets, f"step {step.get('name')!r} runs `make {target}`; Makefile has {targets}"
            if words[0] in ("bash", "sh") and len(words) > 1:
                assert (REPO / words[1]).is_file(), f"step {step.get('name')!r} runs missing script {words[1]}"
            if words[0].startswith("./") or words[0].startswith("scripts/"):
                assert (REPO / words[0]).is_file(), f"step {step.get('name')!r} runs missing {words[0]}"


def test_scripts_the_makefile_runs_exist():
    for words in commands("\n".join(line.strip() for line in MAKEFILE.read_text().splitlines()
                                    if line.startswith("\t"))):
        if words[0] in ("bash", "sh") and len(words) > 1:
            assert (REPO / words[1]).is_file(), f"Makefile runs missing script {words[1]}"


def _step_running(steps: list[dict], command: list[str]) -> int:
    for index, step in enumerate(steps):
        if command in commands(step.get("run", "")):
            return index
    raise AssertionError(f"no step runs `{' '.join(command)}`")


def test_sets_up_the_native_path_then_runs_the_chaos_suite(steps):
    setup = _step_running(steps, ["bash", "scripts/setup.sh"])
    chaos = _step_running(steps, ["make", "chaos"])
    assert setup < chaos
    assert "actions/checkout" in "".join(s.get("uses", "") for s in steps[:setup])


def test_a_failed_alert_fails_the_job(steps):
    chaos = steps[_step_running(steps, ["make", "chaos"])]
    assert not chaos.get("continue-on-error"), "the chaos step must fail the job"
    assert "|| true" not in chaos["run"] and "set +e" not in chaos["run"]
    assert "if" not in chaos, "the chaos step must run unconditionally"


def test_report_and_junit_are_uploaded_even_on_failure(workflow, steps):
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert all(s.get("if") == "always()" for s in uploads), "upload artifacts with if: always()"
    paths = {s["with"]["path"] for s in uploads}
    assert {"reports/", "reports/junit.xml"} <= paths
    (job,) = workflow["jobs"].values()
    assert "--junitxml=reports/junit.xml" in job["env"]["PYTEST_ADDOPTS"]
    chaos = _step_running(steps, ["make", "chaos"])
    assert all(steps.index(s) > chaos for s in uploads)


def test_actions_are_pinned_to_a_version(steps):
    for step in steps:
        if "uses" in step:
            assert re.search(r"@v\d+|@[0-9a-f]{40}$", step["uses"]), f"pin {step['uses']} to a version"


def test_leftover_stacks_are_stopped(steps):
    down = steps[_step_running(steps, ["make", "down"])]
    assert down.get("if") == "always()"


def test_makefile_target_parser():
    text = "X := 1\n.PHONY: a b\na: b\n\tbash scripts/x.sh\nb:\n\techo hi\n# c:\nd e: a\n"
    assert makefile_targets(text) == {"a", "b", "d", "e"}


def test_workflow_file_is_where_github_looks():
    assert WORKFLOW.relative_to(REPO) == Path(".github/workflows/nightly.yml")


def test_runs_both_backends_and_keeps_each_report(workflow, steps):
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["backend"] == ["native", "compose"]
    assert job["strategy"].get("fail-fast") is False, "a failing backend must not cancel the other's report"
    assert job["env"]["BACKEND"] == "${{ matrix.backend }}"  # `make chaos` reads it
    assert "matrix.backend == 'compose'" in job["env"]["ALERTDRILL_DOCKER"]  # setup.sh installs the Docker path
    assert "BACKEND ?=" in MAKEFILE.read_text() and "--backend $(BACKEND)" in MAKEFILE.read_text()
    names = [s["with"]["name"] for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert names and all(name.endswith("-${{ matrix.backend }}") for name in names), names
    assert "--privileged" in job["container"]["options"]  # the compose leg runs its own dockerd
