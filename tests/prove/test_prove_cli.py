"""`alertdrill prove` and `alertdrill inventory` as a user runs them: exit status, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertdrill.cli import main
from alertdrill.prove import shipped_inventory_path

CORPUS = Path(__file__).resolve().parents[1] / "rule_corpus"


@pytest.fixture(autouse=True)
def _no_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty home: no running stack, so `prove` falls back to the shipped inventory."""
    monkeypatch.setenv("ALERTDRILL_HOME", str(tmp_path / "home"))


def test_prove_writes_a_proof_that_promtool_passes(tmp_path: Path, capsys) -> None:
    from alertdrill.replay import replay

    code = main(["prove", "--rules", str(CORPUS / "correct" / "simple-1.yml"), "--out", str(tmp_path / "out"),
                 "--json", str(tmp_path / "prove.json")])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "fireable" in out and "shipped" not in out and str(shipped_inventory_path()) in err
    (test_file,) = (tmp_path / "out").rglob("*.test.yml")
    assert replay(test_file).passed
    assert json.loads((tmp_path / "prove.json").read_text())["results"][0]["verdict"] == "fireable"


def test_prove_exits_1_on_a_rule_that_cannot_fire(tmp_path: Path, capsys) -> None:
    code = main(["prove", "--rules", str(CORPUS / "defective" / "threshold-unreachable-1.yml"),
                 "--inventory", str(shipped_inventory_path()), "--out", str(tmp_path / "out")])
    out, _err = capsys.readouterr()
    assert code == 1 and "cannot-fire" in out and "never holds" in out
    assert not list((tmp_path / "out").rglob("*.test.yml"))


@pytest.mark.parametrize("args, line", [
    (["--inventory", "/nonexistent/inv.yml"], "inventory /nonexistent/inv.yml does not exist"),
    (["--rules", "/nonexistent/rules.yml"], "rule file(s) not found: /nonexistent/rules.yml"),
    (["--workers", "0"], "--workers 0: give at least 1"),
    (["--out", "/dev/null/proofs"], "cannot create /dev/null/proofs"),
])
def test_bad_input_is_one_line(args: list[str], line: str, capsys) -> None:
    code = main(["prove", *args])
    _out, err = capsys.readouterr()
    assert code == 2 and line in err and len(err.strip().splitlines()) <= 2 and "Traceback" not in err


def test_inventory_without_a_stack_says_how_to_get_one(tmp_path: Path, capsys) -> None:
    code = main(["inventory", "--out", str(tmp_path / "inv.yml")])
    err = capsys.readouterr().err
    assert code == 2 and "alertdrill up" in err and not (tmp_path / "inv.yml").exists()


def test_rules_without_series_are_judged_not_guessed(tmp_path: Path, capsys) -> None:
    rules = tmp_path / "edge.yml"
    rules.write_text("groups:\n  - name: edge\n    rules:\n      - alert: AlwaysOne\n        expr: vector(1) > 0\n"
                     "      - alert: NoName\n        expr: '{job=\"redis\"} > 1e12'\n")
    code = main(["prove", "--rules", str(rules), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "always-fires AlwaysOne[no severity]: true on the stack as inventoried" in out
    assert "undecided    NoName[no severity]: selector {job=\"redis\"} names no metric" in out


def test_inventory_to_an_unwritable_file_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    from alertdrill.cli import inventory as cli_inventory
    from alertdrill.prove import load_inventory

    monkeypatch.setattr("alertdrill.prove.run.live_inventory", lambda client: load_inventory(shipped_inventory_path()))
    monkeypatch.setattr("alertdrill.assertions.prometheus.PrometheusClient.api", lambda self, path, *a, **k: {})
    assert cli_inventory.register  # the sub-command is registered by alertdrill.cli
    code = main(["inventory", "--prometheus", "http://127.0.0.1:9", "--out", "/dev/null/inv.yml"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write the inventory to /dev/null/inv.yml" in err and "Traceback" not in err
