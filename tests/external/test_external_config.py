"""The external backend: addresses from a file or the environment, validated into a StackInfo."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from alertdrill.errors import ConfigError, FaultInjectError, StackStartError
from alertdrill.stack.backends.base import Backend, supports_service_faults
from alertdrill.stack.backends.external import ENV_PREFIX, ExternalStack, load_external
from alertdrill.stack.state import read_state

GOOD = {
    "prometheus_url": "http://prometheus.staging.example:9090/",
    "alertmanager_url": "https://alertmanager.staging.example",
    "app_url": "http://10.0.0.5:5000",
    "sink_url": "http://127.0.0.1:9095",
    "postgres_dsn": "postgresql://postgres@db.staging.example:5432/alertdrill?sslmode=require",
    "redis_url": "redis://cache.staging.example:6379/0",
}


#: GOOD points off this machine: every test that only checks shapes allows that explicitly.
ALLOW = {"ALERTDRILL_ALLOW_REMOTE": "1"}


def _env(values: dict) -> dict[str, str]:
    return {ENV_PREFIX + key.upper(): str(value) for key, value in values.items()} | ALLOW


def test_yaml_file_gives_a_complete_stack_info(tmp_path):
    path = tmp_path / "staging.yml"
    path.write_text(yaml.safe_dump({**GOOD, "name": "staging"}))
    info = load_external(path, environ=ALLOW, home=tmp_path / "home")
    assert info.backend == "external"
    assert info.name == "staging"
    assert info.run_dir == str(tmp_path / "home" / "staging")
    assert info.prometheus_url == "http://prometheus.staging.example:9090"  # trailing slash dropped
    assert info.app_postgres_dsn == info.exporter_postgres_dsn == GOOD["postgres_dsn"]
    assert info.time_scale == 1.0
    assert info.ports == {"prometheus": 9090, "alertmanager": 443, "app": 5000, "sink": 9095, "postgres": 5432,
                          "redis": 6379}
    assert info.processes == {}


def test_json_file_and_environment_merge_with_the_file_winning(tmp_path):
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"app_url": "http://api.example:8000", "time_scale": 60}))
    env = _env({**GOOD, "app_url": "http://ignored.example:1"}) | {"ALERTDRILL_EXTERNAL_CONFIG": str(path)}
    info = load_external(environ=env, home=tmp_path)
    assert info.app_url == "http://api.example:8000"
    assert info.prometheus_url == GOOD["prometheus_url"].rstrip("/")
    assert info.time_scale == 60.0


def test_environment_alone_is_enough(tmp_path):
    info = load_external(environ=_env(GOOD), home=tmp_path)
    assert info.redis_url == GOOD["redis_url"]
    assert info.name == "external"


def test_missing_keys_are_named_with_their_variables(tmp_path):
    env = _env({k: v for k, v in GOOD.items() if k not in ("sink_url", "redis_url")})
    with pytest.raises(ConfigError) as err:
        load_external(environ=env, home=tmp_path)
    message = str(err.value)
    assert "sink_url (or ALERTDRILL_EXTERNAL_SINK_URL)" in message
    assert "redis_url (or ALERTDRILL_EXTERNAL_REDIS_URL)" in message
    assert "\n" not in message


def test_unknown_key_is_rejected_with_the_allowed_list(tmp_path):
    path = tmp_path / "s.yml"
    path.write_text(yaml.safe_dump({**GOOD, "promethues_url": "http://x:1"}))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) promethues_url; allowed: prometheus_url"):
        load_external(path, environ=ALLOW, home=tmp_path)


@pytest.mark.parametrize("key,value,reason", [
    ("prometheus_url", "localhost:9090", "scheme must be http or https"),
    ("alertmanager_url", "http://", "it has no host"),
    ("app_url", "http://api:notaport", "Port could not be cast"),
    ("sink_url", "http://127.0.0.1:9095/?x=1", "must not carry a query"),
    ("postgres_dsn", "mysql://db:3306/x", "scheme must be postgresql or postgres"),
    ("redis_url", "cache.example:6379", "scheme must be redis or rediss"),
])
def test_bad_url_shapes_name_the_key_and_an_example(tmp_path, key, value, reason):
    with pytest.raises(ConfigError) as err:
        load_external(environ=_env({**GOOD, key: value}), home=tmp_path)
    message = str(err.value)
    assert key in message and repr(value) in message and reason in message and "write it like" in message
    assert "\n" not in message


def test_non_loopback_addresses_need_allow_remote(tmp_path):
    info = load_external(environ=_env(GOOD), home=tmp_path)
    assert "staging.example" in info.prometheus_url
    local = {key: "http://127.0.0.1:1" for key in ("prometheus_url", "alertmanager_url", "app_url", "sink_url")}
    local |= {"postgres_dsn": "postgresql://postgres@localhost:5432/a", "redis_url": "redis://[::1]:6379/0"}
    for key, remote in (("prometheus_url", "http://prometheus.staging.example:9090"),
                        ("app_url", "http://10.0.0.5:5000"),
                        ("postgres_dsn", "postgresql://postgres@db.internal:5432/a"),
                        ("redis_url", "redis://192.168.1.7:6379/0")):
        env = {ENV_PREFIX + k.upper(): v for k, v in {**local, key: remote}.items()}
        with pytest.raises(ConfigError, match=rf"{key} .* points off this machine .*--allow-remote"):
            load_external(environ=env, home=tmp_path)
    env = {ENV_PREFIX + k.upper(): v for k, v in local.items()}
    assert load_external(environ=env, home=tmp_path).redis_url == "redis://[::1]:6379/0"


@pytest.mark.parametrize("content,match", [
    ("- just\n- a list\n", "must hold a mapping"),
    ("prometheus_url: [unclosed\n", "is not valid YAML"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, match):
    path = tmp_path / "bad.yml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=match) as err:
        load_external(path, environ=ALLOW, home=tmp_path)
    assert "\n" not in str(err.value)


def test_missing_file_and_bad_json(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_external(tmp_path / "nope.yml", environ=ALLOW, home=tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{'single': 'quotes'}")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_external(bad, environ=ALLOW, home=tmp_path)


@pytest.mark.parametrize("value", ["0", "-1", "fast", "inf", "nan", "1e9"])
def test_time_scale_must_be_positive(tmp_path, value):
    with pytest.raises(ConfigError, match="time_scale"):
        load_external(environ=_env({**GOOD, "time_scale": value}), home=tmp_path)


def test_name_must_be_a_plain_directory_name(tmp_path):
    with pytest.raises(ConfigError, match="plain directory name"):
        load_external(environ=_env({**GOOD, "name": "../etc"}), home=tmp_path)


@pytest.mark.parametrize("call", [
    lambda s: s.stop_component("postgres"),
    lambda s: s.stop_component("postgres", kill=True),
    lambda s: s.pause_component("redis"),
    lambda s: s.resume_component("redis"),
    lambda s: s.start_component("app"),
    lambda s: s.restart_component("app"),
])
def test_service_faults_raise_a_clear_error(tmp_path, call):
    stack = ExternalStack(load_external(environ=_env(GOOD), home=tmp_path))
    assert isinstance(stack, Backend)
    assert not supports_service_faults(stack)
    with pytest.raises(FaultInjectError, match="needs the native or compose backend") as err:
        call(stack)
    assert "\n" not in str(err.value)


class _Ready(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_start_checks_reachability_and_records_state(tmp_path, endpoint):
    urls = {key: endpoint for key in ("prometheus_url", "alertmanager_url", "app_url", "sink_url")}
    stack = ExternalStack(load_external(environ=_env({**GOOD, **urls}), home=tmp_path), ready_timeout=5)
    with stack as info:
        assert read_state(stack.run_dir).prometheus_url == endpoint
        assert (stack.run_dir / "faults").is_dir()
        assert info.backend == "external"
    assert not stack.run_dir.exists()


def test_unreachable_endpoint_fails_start_naming_it(tmp_path, endpoint):
    urls = {key: endpoint for key in ("prometheus_url", "alertmanager_url", "app_url")}
    urls["sink_url"] = "http://127.0.0.1:9"  # discard port: nothing listens
    stack = ExternalStack(load_external(environ=_env({**GOOD, **urls}), home=tmp_path), ready_timeout=0.5)
    with pytest.raises(StackStartError, match=r"sink at http://127.0.0.1:9/-/ready refused the connection"):
        stack.start()


def test_create_backend_builds_each_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("ALERTDRILL_ALLOW_REMOTE", "1")  # GOOD's hosts are off this machine (never contacted)
    from alertdrill.stack.backends.base import create_backend
    from alertdrill.stack.backends.compose import ComposeStack
    from alertdrill.stack.backends.native import NativeStack

    native = create_backend("native", name="x", home=tmp_path)
    assert isinstance(native, NativeStack) and isinstance(native, Backend) and supports_service_faults(native)
    assert isinstance(create_backend("compose", name="x", home=tmp_path), ComposeStack)
    path = tmp_path / "ext.yml"
    path.write_text(yaml.safe_dump(GOOD))
    external = create_backend("external", external_config=str(path), home=tmp_path)
    assert isinstance(external, ExternalStack) and external.info.prometheus_url.endswith(":9090")
    with pytest.raises(ConfigError, match="unknown backend 'k8s'; choose one of native, compose, external"):
        create_backend("k8s")
