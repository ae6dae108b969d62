#!/usr/bin/env bash
# The whole test set-up and run, on a fresh Debian machine (as root, or with sudo for apt):
#   1. the system packages the tests use (tests/setup-system.sh: apt-get update first),
#   2. the portal with its test extras into a virtualenv of its own (.venv-test), installed
#      non-editably, so the tests import the wheel (templates/ and static/ proven to ship) and a
#      `portal serve` running from another environment is never touched,
#   3. the linters and the tests. Extra arguments go to pytest (e.g. `bash tests/run.sh -k upload`).
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then bash tests/setup-system.sh; else sudo bash tests/setup-system.sh; fi

venv="${PORTAL_TEST_VENV:-.venv-test}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps .
"$venv/bin/python" -m pip install --quiet ".[test]"
export PATH="$PWD/$venv/bin:$PATH"

python -m ruff check .
python -m ruff format --check .
python -m bandit -q -c pyproject.toml -r portal
python -m mypy portal
HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" python -m pytest -p no:cacheprovider "$@"
