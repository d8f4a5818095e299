"""The whole chaos suite against an external stack identical to the native one (a native stack started here).

The external backend must pass every contract it can run over connections and skip every other with
the reason its fault gives (process control, the API's fault switch, a link proxy, the Prometheus
config file): no error, no failure. Its time scale is the one the stack it is pointed at runs.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

from alertdrill.catalogue import DEFAULT_CATALOGUE, load_catalogue

pytestmark = pytest.mark.integration

KEYS = ("prometheus_url", "alertmanager_url", "app_url", "sink_url", "postgres_dsn", "redis_url",
        "app_postgres_dsn", "exporter_postgres_dsn")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _outcomes(junit: str) -> dict[str, tuple[str, str]]:
    """Scenario id -> (passed | skipped | failed | error, message) from pytest's JUnit XML."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        scenario = name[name.index("[") + 1:-1] if "[" in name else name
        status, message = "passed", ""
        for tag in ("skipped", "failure", "error"):
            element = case.find(tag)
            if element is not None:
                status, message = {"failure": "failed"}.get(tag, tag), element.get("message", "")
        out[scenario] = (status, message)
    return out


def test_external_backend_passes_what_it_can_and_skips_the_rest_with_the_reason(stack_info, tmp_path):
    config = {key: getattr(stack_info, key) for key in KEYS}
    config.update(name="external-test", time_scale=stack_info.time_scale)
    path = tmp_path / "external.yml"
    path.write_text(yaml.safe_dump(config))
    junit = tmp_path / "junit.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-rs", "-p", "no:cacheprovider",
         "--backend", "external", "--external-config", str(path), "--report-dir", str(tmp_path / "reports"),
         "--junitxml", str(junit)],
        capture_output=True, text=True, timeout=900, cwd=REPO,
    )
    output = result.stdout + result.stderr
    outcomes = _outcomes(str(junit))
    bad = {sid: outcome for sid, outcome in outcomes.items() if outcome[0] in ("failed", "error")}
    assert bad == {}, output[-4000:]
    assert result.returncode == 0, output[-4000:]
    needs = {s.id: s.fault.needs_local_stack for s in load_catalogue(DEFAULT_CATALOGUE).scenarios}
    skipped = {sid: message for sid, (status, message) in outcomes.items() if status == "skipped"}
    assert set(skipped) == {sid for sid, why in needs.items() if why}
    for sid, message in skipped.items():
        assert needs[sid] in message and "run it against a native or compose stack" in message, message
    passed = {sid for sid, (status, _) in outcomes.items() if status == "passed"}
    assert {sid for sid, why in needs.items() if not why} <= passed
    summary = yaml.safe_load((tmp_path / "reports" / "summary.json").read_text())
    assert summary["time_scale"] == stack_info.time_scale  # the stack's, not a default
