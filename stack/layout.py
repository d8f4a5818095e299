"""Where the shipped configuration lives: the files a team edits, that every backend loads."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ALERTMANAGER_CONFIG",
    "APP_GUNICORN_CONFIG",
    "COMPOSE_FILE",
    "POSTGRES_BOOTSTRAP_SQL",
    "POSTGRES_EXPORTER_QUERIES",
    "PROMETHEUS_CONFIG",
    "ROOT",
    "RULES_DIR",
    "RUNBOOK",
    "STACK_DIR",
    "shipped_rule_files",
]

STACK_DIR = Path(__file__).resolve().parent
#: The checkout in a clone, ``site-packages/alertdrill`` when installed: pyproject maps ``stack/`` and
#: ``docs/`` under the package, so both layouts hold ``stack/`` and ``docs/`` side by side, and the
#: rules' relative ``runbook_url`` (``docs/runbook.md#...``) resolves from here.
ROOT = STACK_DIR.parent
RUNBOOK = ROOT / "docs" / "runbook.md"
COMPOSE_FILE = STACK_DIR / "docker-compose.yml"
PROMETHEUS_CONFIG = STACK_DIR / "prometheus" / "prometheus.yml"
RULES_DIR = STACK_DIR / "prometheus" / "rules"
POSTGRES_EXPORTER_QUERIES = STACK_DIR / "prometheus" / "postgres_exporter_queries.yml"
ALERTMANAGER_CONFIG = STACK_DIR / "alertmanager" / "alertmanager.yml"
POSTGRES_BOOTSTRAP_SQL = STACK_DIR / "postgres" / "bootstrap.sql"
APP_GUNICORN_CONFIG = STACK_DIR / "app" / "gunicorn_conf.py"


def shipped_rule_files() -> list[Path]:
    """The rule files alertdrill ships, in a stable order."""
    return sorted(RULES_DIR.glob("*.yml"))
