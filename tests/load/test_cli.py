"""`alertdrill load`: options, bad input as one line before any load, and one short real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertdrill.cli import parse_args
from alertdrill.errors import LoadError
from alertdrill.settings import resolve_setting


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    return args.func(args)


def test_defaults_are_sane(monkeypatch):
    monkeypatch.delenv("ALERTDRILL_LOAD_WORKERS", raising=False)
    args = parse_args(["load"])
    assert (args.profile, args.users, args.spawn_rate, args.run_time) == ("steady", 10, None, 60.0)
    assert args.workers is None and resolve_setting("load_workers", option=args.workers) == 0
    assert parse_args(["load", "spike", "--load-workers", "3"]).workers == 3


def test_list_prints_every_profile(capsys):
    assert run(["load", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("steady", "spike", "write_ledger", "bench"))


@pytest.mark.parametrize(("argv", "message"), [
    (["load", "burst", "--target", "http://127.0.0.1:9"], "unknown load profile 'burst'"),
    (["load", "-u", "0", "--target", "http://127.0.0.1:9"], "users must be a whole number > 0, got 0"),
    (["load", "-u", "-5", "--target", "http://127.0.0.1:9"], "users must be a whole number > 0, got -5"),
    (["load", "--target", "http://192.168.1.10:8080"], "is not a loopback address"),
    (["load", "bench", "--param", "path", "--target", "http://127.0.0.1:9"], "must look like KEY=VALUE"),
])
def test_bad_input_is_a_load_error_before_any_load(argv, message, tmp_path):
    with pytest.raises(LoadError, match=message):
        run(["--home", str(tmp_path), *argv, "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_no_stack_and_no_target_says_how_to_start_one(tmp_path):
    with pytest.raises(Exception, match="alertdrill up"):
        run(["--home", str(tmp_path), "--name", "nothing", "load", "--out", str(tmp_path / "out")])


@pytest.mark.integration
def test_a_short_real_run_prints_the_client_view(stack_info, tmp_path, capsys):
    home, name = Path(stack_info.run_dir).parent, Path(stack_info.run_dir).name
    code = run(["--home", str(home), "--name", name, "load", "bench", "--param", "path=/helloworld",
                "-u", "4", "-t", "2", "--out", str(tmp_path / "bench")])
    out = capsys.readouterr().out
    assert code == 0
    assert "GET /helloworld" in out and "Aggregated" in out
    assert (tmp_path / "bench" / "report.html").exists()
