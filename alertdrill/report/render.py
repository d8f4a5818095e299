"""Allure results -> the HTML a reviewer opens: ``index.html`` (the summary) beside ``allure/index.html``.

The layout of ``--output`` (default ``reports/html``)::

    index.html        summary matrix, coverage, plots; links to everything below (self-contained)
    allure/index.html the Allure report: one self-contained file with Allure 3 (or Allure 2 --single-file)
    runbook.html      docs/runbook.md, so each scenario's runbook link works offline
    junit.xml         pytest's JUnit XML, copied when the run wrote one
    summary.json      the run's summary, copied

Results are staged in a temporary copy so relative runbook links can be pointed at ``runbook.html``
without touching what pytest wrote.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from alertdrill.errors import AlertdrillError, ConfigError, ReportError
from alertdrill.report.matrix import CoverageView, coverage_view, summary_page
from alertdrill.report.renderers import Renderer, find_renderer
from alertdrill.report.runbook import RUNBOOK, write_runbook
from alertdrill.results import RunSummary
from alertdrill.scratch import scratch_dir

__all__ = ["RUN_FIRST", "RenderedReport", "read_results", "render_report"]

RUN_FIRST = ("run the chaos suite first: `make chaos`, or `pytest -m chaos scenarios --alluredir {dir} "
             "--junitxml reports/junit.xml`")
RENDER_TIMEOUT = 600.0


@dataclass
class RenderedReport:
    """Where the report went and what made it."""

    index: Path
    allure_index: Path
    renderer: Renderer
    scenario_links: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Result:
    uuid: str
    story: str | None
    stop: int
    plots: list[tuple[str, Path]]


def read_results(results_dir: Path) -> list[_Result]:
    """The test results in an Allure results directory; ReportError when there are none."""
    hint = RUN_FIRST.format(dir=results_dir)
    if not results_dir.is_dir():
        raise ReportError(f"no Allure results at {results_dir}: {hint}")
    found = sorted(results_dir.glob("*-result.json"))
    if not found:
        raise ReportError(f"{results_dir} holds no Allure results (*-result.json): {hint}")
    out = []
    for path in found:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReportError(f"Allure result {path} is unreadable ({exc}); remove {results_dir} and {hint}") from exc
        story = next((lb.get("value") for lb in raw.get("labels", []) if lb.get("name") == "story"), None)
        plots = [(a.get("name", ""), results_dir / a["source"]) for a in raw.get("attachments", [])
                 if str(a.get("name", "")).startswith("plot:") and a.get("source")]
        out.append(_Result(str(raw.get("uuid", path.name.split("-result")[0])), story, int(raw.get("stop") or 0),
                           plots))
    return out


def _local_runbook(url: str, runbook_href: str) -> str | None:
    """``docs/runbook.md#x`` -> ``<runbook_href>#x``; None for any other URL."""
    path, _, anchor = url.partition("#")
    if "://" in path or not path.endswith("runbook.md"):
        return None
    return runbook_href + (f"#{anchor}" if anchor else "")


def _href(url: str, runbook_href: str) -> str:
    return f'href="{_local_runbook(url, runbook_href) or url}"'


_HREF = re.compile(r'href="([^"]*runbook\.md[^"]*)"')


def _stage(results_dir: Path, staging: Path, *, runbook_href: str | None) -> None:
    """Copy the results; point relative ``docs/runbook.md#x`` links at the rendered runbook page.

    Allure 3 shows only http(s) URLs as links, so the description's runbook link is the one that
    works offline; Allure 2 follows the rewritten link of the Links section too.
    """
    staging.mkdir(parents=True, exist_ok=True)
    for path in results_dir.iterdir():
        if not path.is_file():
            continue
        if runbook_href and path.name.endswith("-result.json"):
            raw = json.loads(path.read_text(encoding="utf-8"))
            for link in raw.get("links", []):
                link["url"] = _local_runbook(str(link.get("url", "")), runbook_href) or link.get("url")
            if raw.get("descriptionHtml"):
                raw["descriptionHtml"] = _HREF.sub(lambda m, h=runbook_href: _href(m.group(1), h),
                                                   raw["descriptionHtml"])
            (staging / path.name).write_text(json.dumps(raw), encoding="utf-8")
        else:
            shutil.copy2(path, staging / path.name)


def _run(argv: list[str], *, cwd: Path, what: str) -> None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ReportError(f"{what} did not finish in {RENDER_TIMEOUT:g}s: {' '.join(argv)}") from None
    except OSError as exc:
        raise ReportError(f"{what} could not start ({exc}): {' '.join(argv)}") from exc
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-4:])
        raise ReportError(f"{what} failed (exit {done.returncode}): {tail}")


def _generate(renderer: Renderer, staging: Path, target: Path, work: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    if renderer.kind == "allure3":
        config = {"name": "alertdrill", "output": str(target),
                  "plugins": {"awesome": {"options": {"singleFile": True, "reportName": "alertdrill",
                                                      "groupBy": ["epic", "feature", "story"]}}}}
        rc = work / "allurerc.json"
        rc.write_text(json.dumps(config), encoding="utf-8")
        _run([*renderer.command, "generate", str(staging), "--config", str(rc), "--output", str(target)],
             cwd=work, what=f"Allure {renderer.version}")
    else:
        _run([*renderer.command, "generate", str(staging), "-o", str(target), "--clean", "--single-file"],
             cwd=work, what=f"Allure {renderer.version}")
    if not (target / "index.html").is_file():
        raise ReportError(f"Allure {renderer.version} wrote no {target / 'index.html'}")


def _links(results: list[_Result], renderer: Renderer, allure_dir: Path) -> dict[str, str]:
    """Scenario id -> its page in the Allure 3 report (Allure 3 names a test result md5(uuid))."""
    if renderer.kind != "allure3":
        return {}
    try:
        known = set(json.loads((allure_dir / "test-results.json").read_text()).get("byId", {}))
    except (OSError, ValueError):
        known = set()
    links = {}
    for result in sorted(results, key=lambda r: r.stop):  # the latest attempt of a scenario wins
        rid = hashlib.md5(result.uuid.encode()).hexdigest()
        if result.story and (not known or rid in known):
            links[result.story] = f"allure/index.html#{rid}"
    return links


def _summary(path: Path | None) -> RunSummary | None:
    if path is None or not path.is_file():
        return None
    try:
        return RunSummary.read(path)
    except ConfigError as exc:
        raise ReportError(f"{exc}; re-run the chaos suite") from exc


def _coverage(summary: RunSummary | None, catalogue_path: Path | None, notes: list[str],
              prove_path: Path | None = None) -> CoverageView | None:
    from alertdrill.catalogue import load_catalogue
    from alertdrill.prove.run import load_results
    from alertdrill.stack.layout import shipped_rule_files

    try:
        catalogue = load_catalogue(catalogue_path)
    except AlertdrillError as exc:
        notes.append(f"coverage not shown: {exc}")
        return None
    proofs = load_results(prove_path) if prove_path is not None and prove_path.is_file() else []
    return coverage_view(summary.results if summary else [], catalogue, shipped_rule_files(), proofs)


def render_report(results_dir: Path, output_dir: Path, *, summary_path: Path | None = None,
                  junit_path: Path | None = None, catalogue_path: Path | None = None, renderer: str = "auto",
                  tools_dir: Path | None = None, runbook: Path = RUNBOOK) -> RenderedReport:
    """Render the Allure report and the summary page; ReportError (one line) when that is impossible."""
    # Allure runs in a scratch directory: relative paths must not be resolved against that.
    results_dir, output_dir = Path(results_dir).resolve(), Path(output_dir).resolve()
    results = read_results(results_dir)
    chosen = find_renderer(renderer, tools_dir=tools_dir)
    summary = _summary(summary_path)
    output_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    runbook_page = write_runbook(output_dir / "runbook.html", runbook)
    allure_target = output_dir / "allure"
    with scratch_dir("report") as tmp:
        staging = tmp / "results"
        _stage(results_dir, staging, runbook_href="../runbook.html" if runbook_page else None)
        _generate(chosen, staging, allure_target, tmp)
    links = {"Allure report (every scenario, its steps and attachments)": "allure/index.html"}
    if junit_path is not None and junit_path.is_file():
        shutil.copy2(junit_path, output_dir / "junit.xml")
        links["JUnit XML"] = "junit.xml"
    if summary is not None and summary_path is not None:
        shutil.copy2(summary_path, output_dir / "summary.json")
        links["summary.json"] = "summary.json"
    if runbook_page:
        links["runbook"] = "runbook.html"
    scenario_links = _links(results, chosen, allure_target)
    plots = {r.story: [(name, path.read_bytes()) for name, path in r.plots if path.is_file()]
             for r in sorted(results, key=lambda r: r.stop) if r.story and r.plots}
    index = output_dir / "index.html"
    prove_path = summary_path.parent / "prove.json" if summary_path is not None else None  # from prove_first
    index.write_text(summary_page(summary, coverage=_coverage(summary, catalogue_path, notes, prove_path), links=links,
                                  scenario_links=scenario_links, plots=plots, notes=notes), encoding="utf-8")
    return RenderedReport(index=index, allure_index=allure_target / "index.html", renderer=chosen,
                          scenario_links=scenario_links, notes=notes)
