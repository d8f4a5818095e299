"""Local stand-ins for the compose stack's images, built from Debian packages (no registry needed).

docker-compose.yml pins upstream images for users; where no registry is reachable (CI here), these
stand-ins replace them through the per-service ``ALERTDRILL_<SERVICE>_IMAGE`` variables. They hold
exactly the Debian packages the native backend runs:

1. one base filesystem: ``debootstrap --variant=minbase --include=<every package>`` (about 100 s),
   prepared (users, data directories, the Postgres entrypoint) and kept as a tarball in the cache
   directory (``$ALERTDRILL_IMAGE_CACHE``, default ``/var/cache/alertdrill/images``), keyed by the
   package list, so it is built once per machine;
2. ``docker import`` of that tarball as ``alertdrill-base:<key>`` (about 15 s, once per engine);
3. one thin image per service on top of it: entrypoint, user and working directory only, plus the
   project's source for the API image (keyed by its content). Building these takes seconds.

Nothing here contacts a registry: the thin images are built ``FROM`` the local base with no pull.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import docker.errors
import requests

from alertdrill.errors import StackError, StackStartError
from alertdrill.stack import layout
from alertdrill.stack.engine.daemon import Engine

__all__ = [
    "BASE_PACKAGES",
    "IMAGE_SERVICES",
    "STAND_INS",
    "ImageSet",
    "StandIn",
    "base_key",
    "build_images",
    "image_cache_dir",
    "image_variable",
]

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_CACHE = Path("/var/cache/alertdrill/images")
PG_MAJOR = "15"
#: The same Debian packages as scripts/setup.sh installs for the native stack, and what the API needs.
BASE_PACKAGES = tuple(sorted({
    f"postgresql-{PG_MAJOR}", "redis-server", "prometheus", "prometheus-alertmanager",
    "prometheus-postgres-exporter", "prometheus-redis-exporter",
    "python3", "python-is-python3", "wget",
}))
#: What the API, the sink and the link proxies import. Debian's versions are too old for them (psycopg-pool
#: 3.1 has no ``check``), so the API image gets the versions this project's own environment runs, which
#: is what the native stack's API runs (pip from PyPI, cp311 wheels for Debian's Python 3.11).
APP_REQUIREMENTS = ("flask", "gunicorn", "prometheus-client", "psycopg", "psycopg-binary", "psycopg-pool", "redis",
                    "requests")
#: redis-py needs it below Python 3.11.3 (bookworm has 3.11.2); the installing interpreter may be newer.
_EXTRA_REQUIREMENTS = ("async-timeout>=4.0.3",)
#: Bump when the preparation below changes: it is part of the cache key.
PREPARATION_VERSION = 1
APP_UID = 10001
DEBOOTSTRAP_TIMEOUT = 1200.0

_POSTGRES_ENTRYPOINT = """#!/bin/sh
# The official postgres image's start-up, reduced to what docker-compose.yml uses: initdb on an empty
# data directory (POSTGRES_HOST_AUTH_METHOD for non-local clients), POSTGRES_DB, the *.sql files in
# /docker-entrypoint-initdb.d on a socket-only server, then the command.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --username=postgres --auth=trust --pgdata="$PGDATA" >/dev/null
  echo "host all all all ${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
  db=${POSTGRES_DB:-postgres}
  [ "$db" = postgres ] || createdb -h /tmp -U postgres "$db"
  for f in /docker-entrypoint-initdb.d/*.sql; do
    [ -e "$f" ] && psql -h /tmp -U postgres -d "$db" -v ON_ERROR_STOP=1 -q -f "$f"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$@"
"""

_PREPARE = f"""set -e
mkdir -p /data /prometheus /alertmanager /var/lib/postgresql/data /run/postgresql /docker-entrypoint-initdb.d \
         /var/lib/alertdrill/app /var/lib/alertdrill/sink /opt/alertdrill/src
useradd --system --uid {APP_UID} --home-dir /var/lib/alertdrill --shell /usr/sbin/nologin alertdrill
chown redis:redis /data
chown nobody:nogroup /prometheus /alertmanager
chown -R postgres:postgres /var/lib/postgresql /run/postgresql
chmod 700 /var/lib/postgresql/data
chown -R alertdrill /var/lib/alertdrill
chmod 755 /usr/local/bin/alertdrill-postgres-entrypoint
rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /usr/share/doc /usr/share/man /usr/share/locale
"""


@dataclass(frozen=True)
class StandIn:
    """One thin image: what it runs and as whom (docker-compose.yml gives the command's arguments)."""

    role: str
    user: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    workdir: str = "/"
    env: Mapping[str, str] = field(default_factory=dict)
    stopsignal: str = "SIGTERM"
    with_source: bool = False

    def dockerfile(self, base: str) -> str:
        lines = [f"FROM {base}"]
        if self.with_source:
            lines += ["COPY site /opt/alertdrill/site", "COPY src /opt/alertdrill/src"]
        lines += [f"ENV {k}={v}" for k, v in self.env.items()]
        lines += [f"USER {self.user}", f"WORKDIR {self.workdir}", f"STOPSIGNAL {self.stopsignal}",
                  f"LABEL io.alertdrill.stand-in={self.role}"]
        if self.entrypoint:
            lines.append(f"ENTRYPOINT {json.dumps(list(self.entrypoint))}")
        if self.cmd:
            lines.append(f"CMD {json.dumps(list(self.cmd))}")
        return "\n".join(lines) + "\n"


_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STAND_INS = {s.role: s for s in (
    StandIn("postgres", "postgres", ("/usr/local/bin/alertdrill-postgres-entrypoint",), ("postgres",),
            "/var/lib/postgresql", {"PATH": f"/usr/lib/postgresql/{PG_MAJOR}/bin:{_PATH}",
                                    "PGDATA": "/var/lib/postgresql/data", "LANG": "C.UTF-8"}, "SIGINT"),
    StandIn("redis", "redis", (), ("redis-server",), "/data"),
    StandIn("alertmanager", "nobody", ("/usr/bin/prometheus-alertmanager",),
            ("--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"), "/alertmanager"),
    StandIn("prometheus", "nobody", ("/usr/bin/prometheus",),
            ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"), "/prometheus"),
    StandIn("postgres_exporter", "nobody", ("/usr/bin/prometheus-postgres-exporter",)),
    StandIn("redis_exporter", "nobody", ("/usr/bin/prometheus-redis-exporter",)),
    StandIn("app", "alertdrill", (), (), "/var/lib/alertdrill",
            {"PYTHONPATH": "/opt/alertdrill/src:/opt/alertdrill/site", "PYTHONDONTWRITEBYTECODE": "1",
             "PYTHONUNBUFFERED": "1"},
            with_source=True),
)}
#: Which stand-in each compose service runs (the API's helpers share its image, as upstream).
IMAGE_SERVICES = {"postgres": "postgres", "redis": "redis", "sink": "app", "postgres_link": "app",
                  "redis_link": "app", "alertmanager": "alertmanager", "app": "app",
                  "postgres_exporter": "postgres_exporter", "redis_exporter": "redis_exporter",
                  "prometheus": "prometheus"}
#: The project's folders that install as alertdrill's subpackages (pyproject's package-dir).
_SOURCE_DIRS = {"alertdrill": "alertdrill", "stack": "alertdrill/stack", "chaos": "alertdrill/chaos",
                "assertions": "alertdrill/assertions", "locustfiles": "alertdrill/locustfiles"}


def image_variable(service: str) -> str:
    """The variable docker-compose.yml reads the service's image from."""
    return f"ALERTDRILL_{service.upper()}_IMAGE"


@dataclass(frozen=True)
class ImageSet:
    """The image of every compose service, as docker-compose.yml's override variables."""

    images: Mapping[str, str]
    build_seconds: float = 0.0

    def environment(self) -> dict[str, str]:
        return {image_variable(service): tag for service, tag in self.images.items()}


def image_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("ALERTDRILL_IMAGE_CACHE") or DEFAULT_CACHE)


def debian_mirror(sources: Path = Path("/etc/apt/sources.list.d/debian.sources")) -> str:
    """The machine's own Debian mirror (the one apt-get uses), else deb.debian.org."""
    if override := os.environ.get("ALERTDRILL_DEBIAN_MIRROR"):
        return override
    try:
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split(":", 1)[1].split()[0]
    except OSError:
        pass
    return DEFAULT_MIRROR


def base_key(packages: tuple[str, ...] = BASE_PACKAGES) -> str:
    """The cache key of the base filesystem: suite, package list and preparation."""
    text = json.dumps({"suite": SUITE, "packages": sorted(packages), "prepare": PREPARATION_VERSION,
                       "entrypoint": _POSTGRES_ENTRYPOINT, "script": _PREPARE})
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _source_files(root: Path) -> Iterator[tuple[Path, str]]:
    for folder, target in _SOURCE_DIRS.items():
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path, f"src/{target}/{path.relative_to(root / folder)}"


def _source_key(root: Path) -> str:
    digest = hashlib.sha256()
    for path, name in _source_files(root):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def app_requirements() -> tuple[str, ...]:
    """APP_REQUIREMENTS pinned to the versions installed here (unpinned where one is missing)."""
    pins = []
    for name in APP_REQUIREMENTS:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return (*pins, *_EXTRA_REQUIREMENTS)


def app_site(cache: Path, *, log=print) -> Path:
    """The API's Python packages, installed once into ``cache`` (keyed by the pins) for the API image."""
    requirements = app_requirements()
    site = cache / f"site-{hashlib.sha256(json.dumps(requirements).encode()).hexdigest()[:12]}"
    if site.is_dir():
        return site
    partial = site.with_name(site.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log(f"alertdrill: installing the API's Python packages for its image: {' '.join(requirements)}")
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
          "--only-binary=:all:", "--target", str(partial), *requirements], "pip install of the API's packages",
         timeout=600)
    partial.replace(site)
    return site


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One builder per cache directory at a time (two CI jobs on one machine wait for each other)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def base_tarball(cache: Path, key: str, *, log=print) -> Path:
    """The prepared base filesystem as a tarball in ``cache``: built with debootstrap if missing."""
    tarball = cache / key / "rootfs.tar"
    if tarball.is_file():
        return tarball
    if not shutil.which("debootstrap"):
        raise StackStartError("building the stand-in images needs debootstrap; `apt-get install debootstrap` "
                              "(scripts/setup.sh --docker does), or use upstream images from a registry")
    work = cache / key / "rootfs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    began = time.monotonic()
    log(f"alertdrill: building the stand-in base filesystem with debootstrap ({len(BASE_PACKAGES)} packages)")
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(work),
          debian_mirror()], "debootstrap", timeout=DEBOOTSTRAP_TIMEOUT, log_file=cache / key / "debootstrap.log")
    entry = work / "usr/local/bin/alertdrill-postgres-entrypoint"
    entry.write_text(_POSTGRES_ENTRYPOINT)
    _run(["chroot", str(work), "/bin/sh", "-c", _PREPARE], "preparing the base filesystem", timeout=120)
    versions = subprocess.run(["chroot", str(work), "dpkg-query", "-W", *BASE_PACKAGES], capture_output=True,
                              text=True, timeout=60).stdout
    partial = tarball.with_suffix(".partial")
    _run(["tar", "-C", str(work), "--numeric-owner", "-cf", str(partial), "."], "packing the base filesystem",
         timeout=600)
    partial.replace(tarball)
    (cache / key / "manifest.json").write_text(json.dumps({
        "suite": SUITE, "mirror": debian_mirror(), "packages": dict(line.split("\t", 1) for line in
                                                                     versions.splitlines() if "\t" in line),
        "built_seconds": round(time.monotonic() - began, 1)}, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return tarball


def _run(argv: list[str], what: str, *, timeout: float, log_file: Path | None = None) -> None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StackStartError(f"{what} did not finish within {timeout:g}s") from None
    if log_file is not None:
        log_file.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
        raise StackStartError(f"{what} failed (exit {result.returncode}):\n{tail}")


def build_images(engine: Engine, *, cache: Path | None = None, project_root: Path | None = None,
                 log=print) -> ImageSet:
    """Every stand-in image in ``engine``, built or imported only where missing; the service -> tag map."""
    cache = cache or image_cache_dir()
    root = Path(project_root or layout.STACK_DIR.parent)
    key = base_key()
    base = f"alertdrill-base:{key}"
    began = time.monotonic()
    client = engine.client(timeout=600)
    try:
        with _locked(cache):
            if not _has_image(client, base):
                tarball = base_tarball(cache, key, log=log)
                log(f"alertdrill: importing {tarball} as {base}")
                try:
                    client.api.import_image_from_file(str(tarball), repository="alertdrill-base", tag=key)
                except (docker.errors.APIError, requests.RequestException) as exc:
                    raise StackStartError(f"docker import of {tarball} failed: {exc}") from exc
            site = app_site(cache, log=log)
            tags = {role: _thin_image(client, stand_in, base, root, site) for role, stand_in in STAND_INS.items()}
            _prune(client, cache, keep={base, *tags.values()}, key=key, site=site)
    finally:
        client.close()
    return ImageSet({service: tags[role] for service, role in IMAGE_SERVICES.items()},
                    build_seconds=round(time.monotonic() - began, 1))


def _prune(client, cache: Path, *, keep: set[str], key: str, site: Path) -> None:
    """Drop older stand-ins (an earlier package list or source) so the cache does not grow without bound."""
    for image in client.images.list(filters={"label": "io.alertdrill.stand-in"}) + \
            client.images.list(name="alertdrill-base"):
        if not set(image.tags) & keep:
            for tag in image.tags:
                with contextlib.suppress(docker.errors.APIError):  # still used by a container: next time
                    client.images.remove(tag, noprune=False)
    for entry in cache.iterdir():
        stale_base = entry.is_dir() and len(entry.name) == len(key) and entry.name != key and \
            (entry / "manifest.json").exists()
        stale_site = entry.is_dir() and entry.name.startswith("site-") and entry != site
        if stale_base or stale_site:
            shutil.rmtree(entry, ignore_errors=True)


def _has_image(client, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    except (docker.errors.APIError, requests.RequestException) as exc:
        raise StackError(f"Docker engine: cannot look up image {tag}: {exc}") from exc
    return True


def _thin_image(client, stand_in: StandIn, base: str, root: Path, site: Path) -> str:
    dockerfile = stand_in.dockerfile(base)
    digest = hashlib.sha256(dockerfile.encode())
    if stand_in.with_source:
        digest.update(_source_key(root).encode() + site.name.encode())
    tag = f"alertdrill-{stand_in.role.replace('_', '-')}:standin-{digest.hexdigest()[:12]}"
    if _has_image(client, tag):
        return tag
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        if stand_in.with_source:
            tar.add(str(site), arcname="site")
            for path, name in _source_files(root):
                tar.add(str(path), arcname=name)
    context.seek(0)
    try:
        client.images.build(fileobj=context, custom_context=True, tag=tag, pull=False, rm=True, forcerm=True,
                            network_mode="none", labels={"io.alertdrill.stand-in": stand_in.role})
    except (docker.errors.BuildError, docker.errors.APIError, requests.RequestException) as exc:
        raise StackStartError(f"building the stand-in image {tag} failed: {exc}") from exc
    return tag
