"""``alertdrill load``: run a load profile headless against the stack's app, print the client's view.

Registered by :mod:`alertdrill.cli`. The target defaults to the app of
the stack named by the global ``--name``/``--home``, and so does the Postgres DSN of the write ledger.
Exit status: 0, 1 when acknowledged writes were lost, 2 for bad input (one line, before any load).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from alertdrill.errors import LoadError
from alertdrill.locustfiles.options import DEFAULT_RUN_TIME, DEFAULT_USERS, remote_workers_setting
from alertdrill.locustfiles.profiles import PROFILES
from alertdrill.locustfiles.runner import LoadRun
from alertdrill.settings import SETTINGS, resolve_setting

__all__ = ["cmd_load", "register"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``load`` sub-command to ``alertdrill``'s sub-parsers."""
    parser = subparsers.add_parser(
        "load", help="run a Locust load profile against the stack's app and print what the clients saw",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("profile", nargs="?", default="steady",
                        help=f"load profile: {', '.join(sorted(PROFILES))} (default: %(default)s)")
    parser.add_argument("-u", "--users", type=int, default=DEFAULT_USERS,
                        help="concurrent users; the peak for `spike` (default: %(default)s)")
    parser.add_argument("-r", "--spawn-rate", type=float, default=None,
                        help="users started per second (default: all users within ~1 s)")
    parser.add_argument("-t", "--run-time", type=float, default=DEFAULT_RUN_TIME,
                        help="seconds of load; always bounded (default: %(default)s)")
    parser.add_argument("-w", "--workers", "--load-workers", dest="workers", type=int,
                        default=None, help="run Locust's master and this many worker processes "
                                           "(env $ALERTDRILL_LOAD_WORKERS, default: 0, one local process)")
    parser.add_argument("--load-master-bind", metavar="ADDR[:PORT]", default=None,
                        help=f"{SETTINGS['load_master_bind'].help} (env ${SETTINGS['load_master_bind'].env})")
    parser.add_argument("--load-expect-workers", metavar="N", default=None,
                        help=f"{SETTINGS['load_expect_workers'].help} (env ${SETTINGS['load_expect_workers'].env})")
    parser.add_argument("--target", default=None,
                        help="base URL on loopback, or with remote workers an address of this machine they reach "
                             "the app on (default: the app of the stack --name)")
    parser.add_argument("--out", type=Path, default=None,
                        help="artifacts directory (default: ./artifacts/load/<profile>-<UTC time>)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="profile parameter, e.g. --param path=/helloworld for `bench` (repeatable)")
    parser.add_argument("--no-ledger-check", action="store_true",
                        help="do not check acknowledged writes against Postgres afterwards")
    parser.add_argument("--list", action="store_true", help="list the profiles and exit")
    parser.set_defaults(func=cmd_load)
    return parser


def _parameters(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise LoadError(f"--param {pair!r} must look like KEY=VALUE, e.g. path=/status")
        params[key] = value
    return params


def _stack_target(args: argparse.Namespace) -> tuple[str, str | None]:
    """The app URL and Postgres DSN of the stack named by the global options."""
    from alertdrill.stack.state import read_state

    info = read_state(args.home / args.name)
    return info.app_url, info.postgres_dsn


def cmd_load(args: argparse.Namespace) -> int:
    if args.list:
        for profile in PROFILES.values():
            print(f"{profile.name:<13} {profile.description}")
        return 0
    if args.target:
        target, dsn = args.target, None
        if not args.no_ledger_check:
            try:
                dsn = _stack_target(args)[1]
            except Exception:  # no stack state: the ledger cannot be checked, say so below
                dsn = None
    else:
        target, dsn = _stack_target(args)
    workers = resolve_setting("load_workers", option=args.workers)
    out = args.out or Path("artifacts") / "load" / f"{args.profile}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    remote = remote_workers_setting(resolve_setting("load_master_bind", option=args.load_master_bind),
                                    resolve_setting("load_expect_workers", option=args.load_expect_workers))
    run = LoadRun(profile=args.profile, target=target, artifacts_dir=out, users=args.users,
                  spawn_rate=args.spawn_rate, run_time=args.run_time, workers=workers,
                  parameters=_parameters(args.param), ledger_dsn=None if args.no_ledger_check else dsn,
                  remote=remote)
    try:
        run.start()  # with remote workers: prints their command, then waits for them
    except KeyboardInterrupt:
        run.kill()
        print("interrupted before the load started", flush=True)
        return 130
    remote_text = f" + {remote.expect} remote" if remote else ""
    print(f"load {args.profile!r} -> {run.options.target}: {args.users} users, {workers} workers{remote_text}, "
          f"{run.options.run_seconds} s (Ctrl-C stops early); artifacts in {run.artifacts.directory}", flush=True)
    try:
        try:
            result = run.wait()
        except KeyboardInterrupt:
            print("interrupted: stopping the load", flush=True)
            result = run.stop()
    finally:
        run.kill()
    print(result.summary())
    if result.ledger is None and run.options.profile_spec.writes and not args.no_ledger_check:
        print("ledger: not checked (no stack state to find Postgres; use --name or --no-ledger-check)")
    return 1 if result.ledger is not None and not result.ledger.ok else 0
