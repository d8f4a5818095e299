"""The embedded default backend: the whole stack as local processes on free loopback ports.

``NativeStack`` is a context manager in the testcontainers style: ``__enter__`` starts every
component and waits until Prometheus scrapes every target and has evaluated every rule group;
if anything fails it tears down what it started and raises with the failing component's log tail;
``__exit__`` always stops everything and removes the run directory. The same object controls
components for service faults (stop, kill, pause, resume, start).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import requests
import yaml

from alertdrill.assertions.durations import format_duration
from alertdrill.errors import ConfigError, StackError, StackRunningError, StackStartError
from alertdrill.lint.rules import refuse_duplicates
from alertdrill.stack import layout
from alertdrill.stack.binaries import resolve
from alertdrill.stack.components import (
    COMPONENTS,
    SCRAPE_JOBS,
    Addresses,
    copy_shipped_files,
    readiness_check,
    specs,
)
from alertdrill.stack.pgdata import prepare_data_dir
from alertdrill.stack.ports import free_ports
from alertdrill.stack.process import RunningProcess, log_tail, spawn
from alertdrill.stack.rendering import (
    StackTiming,
    load_yaml,
    render_alertmanager_config,
    render_prometheus_config,
    render_rules,
)
from alertdrill.stack.rulefiles import check_rule_files
from alertdrill.stack.state import STATE_FILE, StackInfo, check_home, make_home, read_state, write_state
from alertdrill.stack.timescale import Difference, RuleTiming
from alertdrill.waiting import poll_until

__all__ = ["NativeStack"]

_PORT_KEYS = ("postgres", "redis", "postgres_link", "redis_link", "sink", "alertmanager", "app",
              "postgres_exporter", "redis_exporter", "prometheus")
STOP_TIMEOUT = 10.0


class NativeStack:
    """Start, control and stop one native stack in ``<home>/<name>``."""

    backend = "native"

    def __init__(
        self,
        *,
        name: str = "default",
        home: Path | None = None,
        timing: StackTiming | None = None,
        rule_files: list[Path] | None = None,
        rule_overrides: Mapping[str, RuleTiming] | None = None,
        startup_timeout: float = 60.0,
        app_workers: int = 2,
        owner_pid: int | None = None,
    ) -> None:
        if not name or "/" in name or name.startswith("."):
            raise ConfigError(f"stack name {name!r} must be a plain directory name, e.g. 'default'")
        if startup_timeout <= 0:
            raise ConfigError(f"startup timeout must be > 0 s, got {startup_timeout!r}")
        self.name = name
        self.home = check_home(home)
        self.run_dir = self.home / name
        self.timing = timing or StackTiming()
        self.rule_files = [Path(p) for p in (rule_files or layout.shipped_rule_files())]
        self.rule_overrides = dict(rule_overrides or {})
        self.startup_timeout = startup_timeout
        self.app_workers = app_workers
        self.owner_pid = owner_pid
        self.info: StackInfo | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @classmethod
    def attach(cls, run_dir: Path) -> NativeStack:
        """Control a stack that another command started, from its state file."""
        info = read_state(run_dir)
        stack = cls(name=Path(run_dir).name, home=Path(run_dir).parent)
        stack.info = info
        return stack

    def __enter__(self) -> StackInfo:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        """Start every component and wait until the monitoring pipeline is healthy."""
        began = time.monotonic()
        for key in ("initdb", "postgres", "redis-server", "alertmanager", "postgres_exporter", "redis_exporter",
                    "prometheus", "promtool"):
            resolve(key)  # a missing or wrong binary fails before anything starts
        self.check_config()
        self._claim_run_dir()
        try:
            self._initdb()
            info, addr = self._start_components()
            self._wait_ready(list(COMPONENTS), addr, deadline=began + self.startup_timeout)
            self._wait_monitoring_healthy(info, deadline=began + self.startup_timeout)
        except BaseException as exc:
            if isinstance(exc, StackStartError):
                self._keep_logs()
            self.stop()
            raise
        info.startup_seconds = round(time.monotonic() - began, 2)
        write_state(info)
        return info

    def check_config(self) -> None:
        """What can be refused before a process starts: the rule files, with promtool's reason, and one
        alert name in two groups (a drill could not tell which fired). (Waits that drills would make are
        bounded by their callers: alertdrill.bounds.check_rules_bounded.)"""
        check_rule_files(self.rule_files)
        refuse_duplicates(self.rule_files)

    @property
    def kept_logs_dir(self) -> Path:
        """Where the logs of a failed start are kept (the run directory itself is removed)."""
        return self.home / f"{self.name}.failed-logs"

    def _keep_logs(self) -> None:
        logs = self.run_dir / "logs"
        if logs.is_dir():
            shutil.rmtree(self.kept_logs_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                shutil.copytree(logs, self.kept_logs_dir)

    def stop(self) -> None:
        """Stop every component (newest first), then remove the run directory. Idempotent."""
        known = [self.info] if self.info is not None else []
        if (self.run_dir / STATE_FILE).exists():
            # Another process (a fault, `alertdrill recover`) may have restarted a component since:
            # the state file has its new pid, memory the old one. Stop both.
            with contextlib.suppress(StackError):
                known.append(read_state(self.run_dir))
        for name in reversed(COMPONENTS):
            seen: set[tuple[int, int]] = set()
            for info in known:
                proc = info.processes.get(name)
                if proc is not None and (proc.pid, proc.start_ticks) not in seen:
                    seen.add((proc.pid, proc.start_ticks))
                    proc.stop(STOP_TIMEOUT)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.info = None

    def is_running(self) -> bool:
        info = self.info or (read_state(self.run_dir) if (self.run_dir / STATE_FILE).exists() else None)
        return info is not None and any(p.is_ours() for p in info.processes.values())

    # -- component control (service faults) ------------------------------------------------------

    def process(self, component: str) -> RunningProcess:
        info = self._require_info()
        self._adopt_restarts(info)
        try:
            return info.processes[component]
        except KeyError:
            raise ConfigError(
                f"unknown component {component!r}; this stack has {', '.join(sorted(info.processes))}"
            ) from None

    def stop_component(self, component: str, *, kill: bool = False) -> None:
        """Stop (SIGTERM-like, or SIGKILL with ``kill``) every process of ``component``."""
        proc = self.process(component)
        proc.stop(STOP_TIMEOUT, sig=int(signal.SIGKILL) if kill else None)

    def pause_component(self, component: str) -> None:
        self.process(component).signal_group(signal.SIGSTOP)

    def resume_component(self, component: str) -> None:
        self.process(component).signal_group(signal.SIGCONT)

    def start_component(self, component: str, *, timeout: float = 30.0) -> RunningProcess:
        """(Re)start a stopped component from its recorded spec and wait until it serves."""
        info = self._require_info()
        old = self.process(component)
        if old.is_alive():
            return old
        old.wait_gone(STOP_TIMEOUT)  # Postgres backends may outlive a killed postmaster briefly
        if component == "postgres":
            (Path(info.run_dir) / "postgres" / "data" / "postmaster.pid").unlink(missing_ok=True)
        if component == "app":
            _reset_dir(Path(info.run_dir) / "app" / "metrics")
        proc = spawn(old.spec)
        info.processes[component] = proc
        write_state(info)
        self._wait_ready([component], Addresses(info.ports), deadline=time.monotonic() + timeout)
        return proc

    def reload_rules(self, rule_files: list[Path], overrides: Mapping[str, RuleTiming] | None = None
                     ) -> list[Difference]:
        """Load other rule files into the running Prometheus (POST /-/reload) and wait for them."""
        info = self._require_info()
        rules_dir = Path(info.run_dir) / "prometheus" / "rules"
        check_rule_files(rule_files)
        refuse_duplicates(rule_files)
        shutil.rmtree(rules_dir, ignore_errors=True)
        diffs = render_rules(rule_files, rules_dir, timing=self.timing, overrides=overrides)
        response = requests.post(info.prometheus_url + "/-/reload", timeout=10)
        if response.status_code != 200:
            raise StackError(f"Prometheus refused to reload rules: HTTP {response.status_code} {response.text[:200]}")
        info.rule_files = [str(p) for p in rule_files]
        info.differences = [d.to_dict() for d in diffs]
        write_state(info)
        self._wait_monitoring_healthy(info, deadline=time.monotonic() + 30)
        return diffs

    # -- internals -------------------------------------------------------------------------------

    def _adopt_restarts(self, info: StackInfo) -> None:
        """Take over components that another process restarted (their new pids are in the state file)."""
        if not (self.run_dir / STATE_FILE).exists():
            return
        try:
            on_disk = read_state(self.run_dir)
        except StackError:
            return
        for name, proc in on_disk.processes.items():
            mine = info.processes.get(name)
            if mine is None or (proc.pid != mine.pid and not mine.is_ours() and proc.is_ours()):
                info.processes[name] = proc

    def _require_info(self) -> StackInfo:
        if self.info is None:
            self.info = read_state(self.run_dir)
        return self.info

    def _claim_run_dir(self) -> None:
        if (self.run_dir / STATE_FILE).exists():
            old = read_state(self.run_dir)
            alive = {n: p.pid for n, p in old.processes.items() if p.is_ours()}
            if alive:
                raise StackRunningError(
                    f"a stack is already running in {self.run_dir} (pids {alive}); "
                    "stop it with `alertdrill down` or pick another --name"
                )
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self.kept_logs_dir, ignore_errors=True)
        make_home(self.home)  # mode 755: the postgres user traverses it
        self.run_dir.mkdir()
        os.chmod(self.run_dir, 0o755)

    def _start_components(self) -> tuple[StackInfo, Addresses]:
        """Pick ports (leased to this process: stack.ports), render the configs, spawn every component;
        :meth:`_wait_ready` then waits until each serves."""
        run = self.run_dir
        addr = Addresses(dict(zip(_PORT_KEYS, free_ports(len(_PORT_KEYS)), strict=True)))
        for sub in ("logs", "redis", "sink", "alertmanager/data", "prometheus/data", "app", "faults", "links"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        _reset_dir(run / "app" / "metrics")
        copy_shipped_files(run)
        differences = self._render_configs(addr)
        resend = format_duration(max(1.0, 60.0 / self.timing.time_scale))
        lookback = self.timing.lookback_delta()
        process_specs = specs(run, addr, app_workers=self.app_workers, resend_delay=resend, lookback_delta=lookback)
        if lookback != "5m":
            differences.append(Difference("*", "prometheus --query.lookback-delta", "5m", lookback,
                                          "time scale; a dropped scrape job stays visible for the lookback"))
        self.info = info = StackInfo(
            name=self.name,
            run_dir=str(run),
            backend=self.backend,
            prometheus_url=addr.url("prometheus"),
            alertmanager_url=addr.url("alertmanager"),
            app_url=addr.url("app"),
            sink_url=addr.url("sink"),
            postgres_dsn=addr.postgres_dsn(),
            app_postgres_dsn=addr.postgres_dsn("alertdrill_app", via="postgres_link"),
            exporter_postgres_dsn=addr.postgres_dsn("postgres_exporter"),
            redis_url=addr.redis_url,
            ports=dict(addr.ports),
            time_scale=self.timing.time_scale,
            owner_pid=self.owner_pid,
            started_at=time.time(),
            rule_files=[str(p) for p in self.rule_files],
            differences=[d.to_dict() for d in differences],
        )
        # Prometheus first: its discovery hands targets to the scrape manager only on a 5 s tick, which
        # overlaps with the rest starting; every other component tolerates its dependencies coming up later.
        info.processes["prometheus"] = spawn(process_specs["prometheus"])
        write_state(info)
        for name in COMPONENTS:
            if name not in info.processes:
                info.processes[name] = spawn(process_specs[name])
                write_state(info)
        return info, addr

    def _render_configs(self, addr: Addresses) -> list[Difference]:
        run = self.run_dir
        rule_diffs = render_rules(self.rule_files, run / "prometheus" / "rules", timing=self.timing,
                                  overrides=self.rule_overrides)
        targets = {job: addr.address(component) for job, component in SCRAPE_JOBS.items()}
        prom, prom_diffs = render_prometheus_config(
            load_yaml(layout.PROMETHEUS_CONFIG, what="Prometheus config"),
            targets=targets,
            alertmanager=addr.address("alertmanager"),
            rule_files=[str(run / "prometheus" / "rules" / "*.yml")],
            timing=self.timing,
        )
        (run / "prometheus" / "prometheus.yml").write_text(yaml.safe_dump(prom, sort_keys=False))
        am, am_diffs = render_alertmanager_config(
            load_yaml(layout.ALERTMANAGER_CONFIG, what="Alertmanager config"),
            sink_url=addr.url("sink"),
            timing=self.timing,
        )
        (run / "alertmanager" / "alertmanager.yml").write_text(yaml.safe_dump(am, sort_keys=False))
        return prom_diffs + am_diffs + rule_diffs

    def _initdb(self) -> None:
        pg = self.run_dir / "postgres"
        (pg / "socket").mkdir(parents=True)
        user = _postgres_user()
        if user is not None:
            _check_traversable(pg, user)
            pw = pwd.getpwnam(user)
            for path in (pg, pg / "socket"):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        prepare_data_dir(pg, cache_dir=self.home / ".cache", user=user)

    def _wait_ready(self, components: list[str], addr: Addresses, *, deadline: float) -> None:
        info = self._require_info()
        for name in components:
            proc = info.processes[name]
            check = readiness_check(name, addr)
            last: list[str | None] = [None]

            def probe(proc: RunningProcess = proc, check=check, last=last) -> str:
                if not proc.is_alive():
                    return "exited"
                last[0] = check.probe()
                return "ready" if last[0] is None else "waiting"

            ok, state = poll_until(probe, timeout=max(0.0, deadline - time.monotonic()), interval=0.05,
                                   accept=lambda s: s in ("ready", "exited"))
            if ok and state == "ready":
                continue
            kept = self.kept_logs_dir / Path(proc.spec.log).name
            if state == "exited":
                code = proc.exit_status()
                status = f"exit status {code}" if code is not None else "exit status unknown"
                what = (f"exited during start-up ({status}) before serving {check.description}; "
                        f"check that {proc.spec.argv[0]} is {name} and that its log says why")
            else:
                what = f"not ready within {self.startup_timeout:g}s ({check.description}; last error: {last[0]})"
            raise StackStartError(f"{name} {what}; log kept at {kept}:\n{log_tail(proc.spec.log)}")

    def _wait_monitoring_healthy(self, info: StackInfo, *, deadline: float) -> None:
        """Every target up, every rule group evaluated, exporters connected to their services."""
        last = ["nothing checked yet"]

        def healthy() -> bool:
            try:
                problem = _monitoring_problem(info.prometheus_url)
            except (requests.RequestException, ValueError) as exc:
                problem = f"Prometheus API: {exc}"
            last[0] = problem or ""
            return problem is None

        ok, _ = poll_until(healthy, timeout=max(0.0, deadline - time.monotonic()), interval=0.1)
        if not ok:
            raise StackStartError(
                f"the stack did not become healthy within {self.startup_timeout:g}s: {last[0]}; "
                f"logs kept in {self.kept_logs_dir}:\n{log_tail(info.processes['prometheus'].spec.log)}"
            )


def _monitoring_problem(prometheus_url: str) -> str | None:
    targets = requests.get(prometheus_url + "/api/v1/targets", timeout=2).json()["data"]["activeTargets"]
    down = [f"{t['labels']['job']} ({t.get('lastError') or t['health']})" for t in targets if t["health"] != "up"]
    jobs = {t["labels"]["job"] for t in targets}
    if missing := sorted(set(SCRAPE_JOBS) - jobs):
        return f"no targets yet for jobs {missing}"
    if down:
        return "targets not up: " + ", ".join(down)
    groups = requests.get(prometheus_url + "/api/v1/rules", timeout=2).json()["data"]["groups"]
    if not groups:
        return "no rule groups loaded"
    pending = [g["name"] for g in groups if g.get("lastEvaluation", "").startswith("0001-")]
    if pending:
        return "rule groups not evaluated yet: " + ", ".join(pending)
    broken = [f"{r['name']}: {r['lastError']}" for g in groups for r in g["rules"] if r.get("health") == "err"]
    if broken:
        return "rule evaluation errors: " + "; ".join(broken)
    for expr, why in (("min(pg_up)", "postgres_exporter cannot reach Postgres"),
                      ("min(redis_up)", "redis_exporter cannot reach Redis"),
                      ("max(pg_exporter_last_scrape_error)", "postgres_exporter queries fail")):
        result = requests.get(prometheus_url + "/api/v1/query", params={"query": expr}, timeout=2).json()
        series = result["data"]["result"]
        want = 0.0 if "error" in expr else 1.0
        if not series or float(series[0]["value"][1]) != want:
            return f"{why} ({expr} = {series[0]['value'][1] if series else 'no data'})"
    return None


def _postgres_user() -> str | None:
    """Postgres refuses to run as root: use the `postgres` account then."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StackStartError(
            "running as root, Postgres needs the `postgres` user; `apt-get install postgresql` creates it"
        ) from None
    return "postgres"


def _check_traversable(path: Path, user: str) -> None:
    """Postgres runs as ``user``; every parent of its data directory must let that user through."""
    pw = pwd.getpwnam(user)
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == pw.pw_uid:
            bit = 0o100
        elif st.st_gid == pw.pw_gid:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            raise StackStartError(
                f"the {user} user cannot reach {path}: {parent} is private (mode {oct(st.st_mode & 0o777)}); "
                f"use a --home / ALERTDRILL_HOME outside it (default /tmp/alertdrill-UID)"
            )


def _reset_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


