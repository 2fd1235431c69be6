#!/bin/sh
# System packages that the test suite uses as real components. Installed with apt-get when
# missing and we are root (CI, fresh Debian machines); otherwise the tests that need them say so.
set -eu
need=""
for pair in $(cat tools/system-packages.txt | grep -v '^#'); do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v "$cmd" >/dev/null 2>&1; then
        need="$need $pkg"
    fi
done
[ -z "$need" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing system packages:$need"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
else
    echo "warning: missing system packages:$need (install them with apt-get)" >&2
fi
