"""``alertdrill record``: promtool replays of live drills, checked and collected for fast CI.

A recording can only be taken while the Prometheus that watched the drill still holds its samples, so
the usual producer is the chaos run itself (``pytest -m chaos scenarios --record reports/recordings``).
``capture`` does the same afterwards from summary.json for a stack that is still up; ``verify``
replays recordings with promtool; ``collect`` copies the green ones into the repository's suite.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from alertdrill.settings import resolve_setting

__all__ = ["cmd_capture", "cmd_collect", "cmd_verify", "register"]


def _recordings_dir() -> Path:
    return resolve_setting("report_dir") / "recordings"


def cmd_capture(args: argparse.Namespace) -> int:
    from alertdrill.assertions.notifications import SinkClient
    from alertdrill.assertions.prometheus import PrometheusClient
    from alertdrill.errors import AlertdrillError, ConfigError
    from alertdrill.replay.record import record_drill
    from alertdrill.results import RunSummary

    results = RunSummary.read(Path(args.from_summary)).results
    if not results:
        raise ConfigError(f"summary {args.from_summary} holds no drill results; pass the summary.json of a chaos run")
    prometheus_url, sink_url, time_scale = args.prometheus, args.sink, None
    if not prometheus_url:
        info = _stack_info(args)
        prometheus_url, sink_url, time_scale = info.prometheus_url, sink_url or info.sink_url, info.time_scale
    wanted = set(args.scenario or ())
    unknown = wanted - {r.scenario for r in results}
    if unknown:
        raise ConfigError(f"{args.from_summary} has no scenario {', '.join(sorted(unknown))}")
    prometheus = PrometheusClient(prometheus_url)
    sink = SinkClient(sink_url) if sink_url else None
    failed = 0
    for result in results:
        scenario = result.scenario
        if wanted and scenario not in wanted:
            continue
        if result.status != "passed":
            print(f"skip  {scenario}: {result.status}, only passed drills are recorded")
            continue
        try:
            path = record_drill(result, prometheus=prometheus, sink=sink, out_dir=Path(args.out),
                                time_scale=args.time_scale or time_scale)
        except AlertdrillError as exc:
            failed += 1
            print(f"FAIL  {scenario}: {exc}")
            continue
        print(f"ok    {scenario}: {path}")
    return 1 if failed else 0


def _stack_info(args: argparse.Namespace):
    from alertdrill.stack.state import read_state

    return read_state(args.home / args.name)


def cmd_verify(args: argparse.Namespace) -> int:
    import dataclasses

    from alertdrill.replay import current_rule_file, find_test_files, replay, retarget
    from alertdrill.scratch import scratch_dir

    failed = 0
    for test_file in find_test_files(Path(p) for p in (args.paths or [_recordings_dir()])):
        outcomes = [replay(test_file)]
        if args.current_rules:
            with scratch_dir("verify") as tmp:
                rules = current_rule_file(test_file.parent, tmp / "current.yml")
                current = replay(retarget(test_file, rules, tmp / test_file.name))
                outcomes.append(dataclasses.replace(current, test_file=test_file))
        for outcome, what in zip(outcomes, ("", "  (against the shipped rules as they are now)"), strict=False):
            print(outcome.line() + what)
            if not outcome.passed:
                failed += 1
                print("      " + "\n      ".join(outcome.output.splitlines()[-15:]))
    print(f"{failed} failed" if failed else "every recording replays green")
    return 1 if failed else 0


def cmd_collect(args: argparse.Namespace) -> int:
    from alertdrill.replay import find_test_files, replay

    source, target = Path(args.source), Path(args.to)
    wanted = set(args.scenario or ())
    failed = 0
    for test_file in find_test_files([source]):
        recording = test_file.parent
        if wanted and recording.name not in wanted:
            continue
        outcome = replay(test_file)
        if not outcome.passed:
            failed += 1
            print(f"FAIL  {recording.name}: does not replay green, not collected ({test_file})")
            continue
        destination = target / recording.name
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(recording, destination)
        print(f"ok    {recording.name} -> {destination}")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``record capture|verify|collect`` to the ``alertdrill`` parser."""
    record = subparsers.add_parser("record", help="promtool replays of live drills (capture, verify, collect)",
                                   description=__doc__.splitlines()[0])
    sub = record.add_subparsers(dest="record_command", required=True)

    capture = sub.add_parser("capture", help="record the passed drills of summary.json from a Prometheus that is "
                                             "still up (the stack --name, or --prometheus)")
    capture.add_argument("--from-summary", metavar="PATH", default=str(_recordings_dir().parent / "summary.json"),
                         help="summary of the chaos run (default: %(default)s)")
    capture.add_argument("--out", metavar="DIR", default=str(_recordings_dir()),
                         help="recordings go to DIR/<scenario>/ (default: %(default)s)")
    capture.add_argument("--prometheus", metavar="URL", default=None,
                         help="Prometheus that watched the run (default: the stack named by --name)")
    capture.add_argument("--sink", metavar="URL", default=None,
                         help="notification sink for delivered annotations (default: the stack's, if any)")
    capture.add_argument("--time-scale", type=float, default=None, help="time scale of the run, noted in the README")
    capture.add_argument("--scenario", action="append", metavar="ID", help="only this scenario (repeatable)")
    capture.set_defaults(func=cmd_capture)

    verify = sub.add_parser("verify", help="replay recordings with promtool; one PASS/FAIL line per file")
    verify.add_argument("paths", nargs="*", metavar="PATH",
                        help=f"recording directories or test files (default: {_recordings_dir()})")
    verify.add_argument("--current-rules", action="store_true",
                        help="also replay each recording against today's shipped rule (rendered at the "
                             "recording's time scale): would a rule change break what the run observed?")
    verify.set_defaults(func=cmd_verify)

    collect = sub.add_parser("collect", help="copy recordings that replay green into the repository's replay suite")
    collect.add_argument("--from", dest="source", metavar="DIR", default=str(_recordings_dir()),
                         help="recordings of a run (default: %(default)s)")
    collect.add_argument("--to", metavar="DIR", default="tests/replays", help="replay suite (default: %(default)s)")
    collect.add_argument("--scenario", action="append", metavar="ID", help="only this scenario (repeatable)")
    collect.set_defaults(func=cmd_collect)
