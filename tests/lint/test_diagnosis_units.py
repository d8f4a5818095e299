"""Units of the diagnosis: the typed result, the drill entry point's failure modes, CI annotations."""

from __future__ import annotations

from pathlib import Path

import yaml
from linttest_support import rule

from alertdrill.assertions.prometheus import PrometheusClient
from alertdrill.cli import main
from alertdrill.diagnosis import Diagnosis, diagnose_rule, diagnose_rules
from alertdrill.diagnosis.metrics import MetricTypes
from alertdrill.diagnosis.static import check_counter_types, domain
from alertdrill.lint.findings import Finding
from alertdrill.lint.promql import parse_promql
from alertdrill.lint.rules import Rule


def _rule(expr: str, name: str = "A") -> Rule:
    return Rule(name, expr, {"severity": "warning"}, {}, Path("r.yml"), "g", 3)


def _kinds(expr: str, others: list[Rule] | None = None) -> dict[str, str]:
    found = diagnose_rules([_rule(expr)], others=others or [])
    return {f.kind: f.severity for f in found}


def test_co_firing_is_broken_with_a_partner_and_suspicious_without():
    partner = _rule("pg_up == 0", "PostgresNotResponding")
    assert _kinds("pg_exporter_last_scrape_error == 1", [partner]) == {"co-firing": "broken"}
    assert _kinds("pg_exporter_last_scrape_error == 1") == {"co-firing": "suspicious"}
    assert _kinds("pg_exporter_last_scrape_error == 1 and on (instance) pg_up == 1", [partner]) == {}


def test_thresholds_inside_the_domain_draw_nothing():
    for expr in ("pg_up == 0", "pg_up < 1", "rate(x_total[5m]) > 0", "a_bytes / a_limit_bytes > 0.9",
                 "sum by (instance) (rate(r_total{code=\"5\"}[5m])) / sum by (instance) (rate(r_total[5m])) > 0.01",
                 "count by (instance) (x_seconds > 5) > 0",
                 "time() - x_timestamp_seconds > 60 and x_timestamp_seconds > 0"):
        assert _kinds(expr) == {}, expr


def test_domains_follow_the_arithmetic():
    types = MetricTypes()
    assert (domain(parse_promql("a_bytes / a_limit_bytes * 100"), types).hi) == 100
    assert domain(parse_promql("up > bool 0"), types).hi == 1
    assert not domain(parse_promql("some_gauge"), types).known


def test_rate_over_a_gauge_needs_the_declared_type():
    rule_ = _rule("rate(redis_connected_clients[5m]) > 1")
    assert diagnose_rules([rule_], others=[]) == []  # no metadata: the name does not say gauge
    types = MetricTypes({"redis_connected_clients": "gauge"}, origin="http://127.0.0.1:1")
    (finding,) = check_counter_types(rule_, parse_promql(rule_.expr), types)
    assert finding.kind == "rate-over-gauge" and "http://127.0.0.1:1/api/v1/metadata says gauge" in finding.problem


def test_diagnose_rule_never_raises_for_an_unreachable_prometheus():
    found = diagnose_rule("X", PrometheusClient("http://127.0.0.1:9", timeout=1))
    assert isinstance(found, Diagnosis) and found.findings == ()
    assert found.one_line().startswith("no root cause found in the rule (Prometheus unavailable")


def test_one_line_and_text_lead_with_the_first_broken_cause():
    a = Finding("warning", "timestamp", "A", "maybe", "guard it", kind="timestamp-age-never", severity="suspicious")
    b = Finding("error", "threshold", "A", "`pg_up > 1` never holds", "compare with 0", kind="threshold-unreachable")
    found = Diagnosis("A", (a, b), "http://127.0.0.1:9090")
    assert found.one_line() == "threshold-unreachable: `pg_up > 1` never holds (+1 more)"
    assert found.text().splitlines()[:3] == [
        "diagnosis of A (live checks against Prometheus 127.0.0.1:9090):",
        "  broken threshold-unreachable: `pg_up > 1` never holds", "    fix: compare with 0"]


def test_annotation_escapes_newlines_and_property_separators():
    f = Finding("error", "x", "A", "50% of\nit", "fix, now", path="a,b.yml", line_no=3, kind="dead-selector")
    assert f.annotation() == ("::error file=a%2Cb.yml,line=3,title=broken dead-selector%3A A::"
                              "50%25 of%0Ait; fix: fix, now")


def test_up_refuses_one_alert_name_in_two_groups_with_one_line(tmp_path, capsys):
    path = tmp_path / "dup.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "a", "rules": [rule()]}, {"name": "b", "rules": [rule()]}]}))
    assert main(["--home", str(tmp_path / "home"), "--name", "dup", "up", "--rules", str(path)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "alert GoodAlert is defined in 2 groups" in err and "rename one" in err
    assert not (tmp_path / "home" / "dup").exists()


def test_a_usage_over_the_hosts_memory_is_suspicious_and_names_the_limit():
    found = diagnose_rules([_rule("redis_memory_used_bytes / redis_total_system_memory_bytes > 0.9")], others=[])
    (finding,) = found
    assert (finding.kind, finding.severity) == ("threshold-unreachable", "suspicious")
    assert "the host's size" in finding.problem and finding.fix == "divide by redis_memory_max_bytes"
