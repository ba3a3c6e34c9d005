#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
#   - Debian's chromium (for the review app's end-to-end browser test), when running as root
#   - a virtualenv in .venv with vietser and its [dev] extras
# Extra arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2> >(grep -v "is ignored" >&2)
exec .venv/bin/python -m pytest "$@"
