#!/bin/sh
# Create the project's virtual environment. On a bare Debian machine python3 may lack the
# venv/ensurepip module (package python3-venv); install it when we are allowed to.
set -eu
python=${1:-python3}
venv=${2:-.venv}
if "$python" -m venv "$venv" 2>/dev/null; then
    exit 0
fi
rm -rf "$venv"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt-get update -qq
    apt-get install -y -qq "python$ver-venv" || apt-get install -y -qq python3-venv
    "$python" -m venv "$venv"
else
    echo "error: '$python -m venv' failed; install the python3-venv package (sudo apt-get install python3-venv)" >&2
    exit 1
fi
