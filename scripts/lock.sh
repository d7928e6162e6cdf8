#!/usr/bin/env bash
# Rewrites constraints.txt from the packages installed in .venv: the exact versions `make demo` and
# `make test` install, so a fresh install gets the versions the tests passed with.
# pyproject.toml keeps the ranges a library user installs against; this file is for our own set-ups.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-.venv/bin/python}"
{
    echo "# The versions the test suite passed with; written by \`make lock\` (scripts/lock.sh). Do not edit."
    echo "# \`make setup\` installs with -c constraints.txt; \`make upgrade-deps\` tries the newest allowed versions."
    "$python" -m pip freeze --exclude-editable --local
} > constraints.txt.new
mv constraints.txt.new constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) packages pinned"
