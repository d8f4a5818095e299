"""The catalogue validates every fault against its kind's declared parameters when it loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertdrill.catalogue import DEFAULT_CATALOGUE, load_catalogue
from alertdrill.chaos import fault_class, kinds
from alertdrill.errors import ConfigError

ENTRY = """
scenarios:
  - id: broken
    component: redis
    fault: {FAULT}
    alerts:
      - {{name: RedisDown, labels: {{severity: critical}}, receiver: critical}}
"""


def _load(tmp_path: Path, fault: str):
    path = tmp_path / "catalogue.yml"
    path.write_text(ENTRY.replace("{FAULT}", fault).replace("{{", "{").replace("}}", "}"))
    return load_catalogue(path)


@pytest.mark.parametrize(("fault", "message"), [
    ("{kind: redis-memory-fil}", "unknown fault kind 'redis-memory-fil'; did you mean redis-memory-fill?"),
    ("{kind: redis_memory_fill}", "did you mean redis-memory-fill?"),
    ("{kind: redis-memory-fill, fraction: lots}", "redis-memory-fill fraction must be a number in (0..1], got 'lots'"),
    ("{kind: redis-memory-fill, fraction: 1.5}", "got 1.5"),
    ("{kind: redis-memory-fill, fractoin: 0.5}", "takes no parameter 'fractoin'; did you mean fraction?"),
    ("{kind: redis-memory-fill, policy: lru}", "policy must be one of noeviction"),
    ("{kind: service-stop}", "needs the parameter component: str"),
    ("{kind: service-stop, component: mysql}", "component must be one of postgres, redis"),
    ("{kind: network-cut, dependency: kafka}", "dependency must be one of postgres, redis"),
    ("{kind: prometheus-drop-job, job: prometheus}", "dropping the prometheus job would hide nothing"),
])
def test_a_bad_fault_is_one_line_naming_the_scenario(tmp_path, fault, message):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, fault)
    text = str(info.value)
    assert message in text and "scenario 'broken'" in text and "\n" not in text


def test_defaults_are_filled_in_and_types_converted(tmp_path):
    spec = _load(tmp_path, "{kind: redis-memory-fill, fraction: 1}").scenarios[0].fault
    assert spec.kind == "redis-memory-fill"
    assert spec.params == {"url": None, "fraction": 1.0, "policy": "noeviction", "value_bytes": 16384}
    assert isinstance(spec.params["fraction"], float)


def test_the_shipped_catalogue_names_only_known_kinds():
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    assert {s.fault.kind for s in catalogue.scenarios} <= set(kinds())


def test_every_fault_declares_its_parameters_with_a_type():
    for kind in kinds():
        for name, param in fault_class(kind).spec().items():
            assert param.type in (int, float, str, bool), (kind, name)


def _named(tmp_path, alerts: str, silent: str = "[]"):
    path = tmp_path / "catalogue.yml"
    path.write_text(f"""
scenarios:
  - id: redis-down
    component: redis
    fault: {{kind: service-stop, component: redis}}
    alerts: {alerts}
    silent: {silent}
""")
    return load_catalogue(path)


RULES = {"RedisDown", "RedisOutOfMemory", "PostgresNotResponding"}


def test_a_misspelt_alert_is_one_line_with_the_closest_names(tmp_path):
    catalogue = _named(tmp_path, "[{name: RedisDwn, receiver: critical}]")
    with pytest.raises(ConfigError) as info:
        catalogue.check_names(RULES, strict=False)
    assert ("scenario 'redis-down' names alert 'RedisDwn', which no rule under test defines (closest: RedisDown)"
            in str(info.value))
    assert "\n" not in str(info.value)


def test_a_misspelt_silent_name_is_refused_even_when_lenient(tmp_path):
    catalogue = _named(tmp_path, "[{name: RedisDown, receiver: critical}]", "[RedisOutOfMemroy]")
    with pytest.raises(ConfigError, match=r"names silent 'RedisOutOfMemroy'.*closest: RedisOutOfMemory"):
        catalogue.check_names(RULES, strict=False)


def test_strict_coverage_refuses_alerts_without_a_scenario(tmp_path):
    catalogue = _named(tmp_path, "[{name: RedisDown, receiver: critical}]")
    catalogue.check_names({"RedisDown"}, strict=True)
    with pytest.raises(ConfigError, match="alerts without a scenario: PostgresNotResponding, RedisOutOfMemory"):
        catalogue.check_names(RULES, strict=True)
    catalogue.check_names(RULES, strict=False)  # lenient: listed by the coverage fixture, not refused
