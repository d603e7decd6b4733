#!/usr/bin/env bash
# Set up a fresh machine for ZooKeeper, Annotated. Idempotent and fast on a second run.
#
#   bash scripts/setup.sh
#
# 1. Debian packages for interop (the reference Apache ZooKeeper 3.8, its log binding,
#    the C client's CLI, Apache Curator for the recipes; a JRE comes with them). Installed
#    only if missing, with `apt-get update` run first only then. Skipped, with a message,
#    when not root or without apt-get.
# 2. .venv made with the system python3 (>= 3.11), then `pip install -e '.[dev]'`. Skipped
#    when pyproject.toml has not changed since the last successful install.
# 3. A Jupyter kernel spec `python3` inside .venv (never in the user's or the system's
#    Jupyter folders), so notebooks run on the venv's python.
#
# Nothing is registered globally.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.zk-annotated-setup"

say() { printf '[setup] %s\n' "$*"; }

# --- 1. Debian packages ---------------------------------------------------------------------
APT_PACKAGES=(zookeeper zookeeper-bin libslf4j-java libcurator-framework-java libcurator-recipes-java libcurator-client-java)
# Debian's python3 cannot make a venv without python3-venv (no ensurepip).
if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  APT_PACKAGES+=(python3-venv)
fi
if ! command -v python3 >/dev/null; then
  APT_PACKAGES+=(python3 python3-venv)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  say "Debian packages present: ${APT_PACKAGES[*]}"
elif [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  say "SKIPPING apt: not root or no apt-get; missing: ${missing[*]}"
  say "  (interop tests against Apache ZooKeeper 3.8 need them: apt-get install ${missing[*]})"
else
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" </dev/null
fi

# --- 2. the virtual environment -------------------------------------------------------------
PY=python3
if ! command -v "$PY" >/dev/null; then
  echo "[setup] python3 not found; install Python >= 3.11" >&2
  exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "[setup] $("$PY" --version) is too old; Python >= 3.11 is required" >&2
  exit 1
fi

if [[ -x "$VENV/bin/python" ]] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "$VENV is broken or too old; making it again"
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating $VENV with $(command -v "$PY") ($("$PY" --version))"
  "$PY" -m venv "$VENV"
  rm -f "$STAMP"
fi

# The stamp holds the hash of pyproject.toml of the last successful install.
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" == "$have" ]] && "$VENV/bin/python" -c 'import importlib.metadata as m; m.distribution("zookeeper-annotated")' 2>/dev/null; then
  say "venv up to date: $VENV"
else
  say "pip install -e '.[dev]'"
  "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
  echo "$want" >"$STAMP"
fi

# --- 3. the Jupyter kernel, inside the venv --------------------------------------------------
KERNEL_JSON="$VENV/share/jupyter/kernels/python3/kernel.json"
if [[ ! -f "$KERNEL_JSON" ]]; then
  say "installing the python3 kernel spec into $VENV"
  "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
fi
say "done"
