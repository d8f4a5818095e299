"""The chaos suite against an external stack: connection faults run, process faults are skipped with the reason."""

import os
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.integration

KEYS = ("prometheus_url", "alertmanager_url", "app_url", "sink_url", "postgres_dsn", "redis_url",
        "app_postgres_dsn", "exporter_postgres_dsn")


def test_external_backend_runs_connection_faults_and_skips_process_faults(stack_info, tmp_path):
    config = {key: getattr(stack_info, key) for key in KEYS}
    config.update(name="external-test", time_scale=stack_info.time_scale)
    path = tmp_path / "external.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "chaos", "scenarios", "-q", "-rs", "-p", "no:cacheprovider",
         "--backend", "external", "--external-config", str(path), "--report-dir", str(tmp_path / "reports"),
         "-k", "redis-out-of-memory or redis-down"],
        capture_output=True, text=True, timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "1 passed, 1 skipped" in output
    assert "fault service-stop controls processes" in output and "run it against a native or compose stack" in output
