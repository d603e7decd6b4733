#!/usr/bin/env bash
# Run every check of ZooKeeper, Annotated, in the order CI runs them; stop at the first failure.
#
#   bash scripts/test.sh
#
# setup → ruff check → ruff format --check → mypy → pytest (tests/) → nbval (notebooks/)
# → papermill (notebooks/X.ipynb → docs/notebooks/X.ipynb) → mkdocs build --strict
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
BIN="$VENV/bin"

STARTED=$SECONDS
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - STARTED))" "$*"; }

# pytest exits 5 when it collects no tests: that is not a failure here.
run_pytest() {
  local rc=0
  "$BIN/pytest" "$@" || rc=$?
  if [[ $rc -eq 5 ]]; then
    echo "(pytest collected no tests; not a failure)"
  elif [[ $rc -ne 0 ]]; then
    exit "$rc"
  fi
}

step "setup (scripts/setup.sh)"
bash scripts/setup.sh

# Jupyter looks in JUPYTER_PATH first: the venv's own kernel spec wins over any `python3`
# kernel in the user's or the system's folders.
export JUPYTER_PATH="$VENV/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PATH="$BIN:$PATH"
export PYDEVD_DISABLE_FILE_VALIDATION=1  # quiets a debugger warning on kernel start
export NO_MKDOCS_2_WARNING=1  # mkdocs-material's end-of-life banner

step "ruff check ."
"$BIN/ruff" check .

step "ruff format --check ."
"$BIN/ruff" format --check .

step "mypy (strict, files from pyproject.toml)"
"$BIN/mypy"

step "pytest (tests/)"
run_pytest tests/

shopt -s nullglob
notebooks=(notebooks/*.ipynb)
shopt -u nullglob

# The executed copies are rebuilt from scratch each run (docs/notebooks/ is gitignored).
rm -rf docs/notebooks
if [[ ${#notebooks[@]} -eq 0 ]]; then
  step "notebooks: none in notebooks/ yet; skipping nbval and papermill"
else
  step "pytest --nbval-lax notebooks/ (${#notebooks[@]} notebooks)"
  run_pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/

  step "papermill: notebooks/*.ipynb → docs/notebooks/"
  mkdir -p docs/notebooks
  for nb in "${notebooks[@]}"; do
    name="$(basename "$nb")"
    echo "--- $name"
    "$BIN/papermill" --kernel python3 --cwd notebooks --no-progress-bar \
      --execution-timeout 600 "$nb" "docs/notebooks/$name"
  done
fi

step "mkdocs build --strict"
"$BIN/mkdocs" build --strict

step "all checks passed in $((SECONDS - STARTED)) s"
